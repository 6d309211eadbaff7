"""``socai bench issue``: bulk issuance of học bạ số against a naive pipeline, same run.

The bulk run is ``socai issue --all`` as the principal runs it: plan every transcript
(data, proof bundle, one witnessed checkpoint), render and sign on both cores (three PAdES
B-T signatures, DSS, document time-stamp), record ``TranscriptIssued`` for each.

The baseline is the same document made the way pyHanko's defaults make it, one at a time
in one process: the same rendering, then ``PdfSigner`` without ``bytes_reserved`` (so each
signature is computed twice), pyHanko's default appearance, and for the last signature
``embed_validation_info`` plus ``use_pades_lta`` with a validation context holding the
CRLs (pyHanko validates every path and adds the DSS and the document time-stamp itself).
Both produce B-LTA documents that pass ``ades_lta_validation``.
"""

from __future__ import annotations

import io
import os
import time
from typing import Any

from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from bench.demo import demo_school


def _asn1(cert: Any) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER))


def naive_make(kit: Any, job: Any) -> bytes:
    """One transcript through pyHanko's defaults (the baseline)."""
    from pyhanko.keys import load_private_key_from_pemder_data
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko_certvalidator import ValidationContext
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    from projections.pdf import render_transcript
    from signing.keys import load_private_key

    roles = {r.role: r for r in job.signers}
    rendered = render_transcript(job.data, attachments=job.attachments, seal="seal" in roles)
    boxes: dict[str, Any] = {f.role: f for f in rendered.fields}
    pdf = rendered.pdf
    order = [r for r in ("gvcn", "hieu_truong", "seal") if r in roles]
    context = ValidationContext(
        trust_roots=[_asn1(kit.pki.root)],
        other_certs=[_asn1(c) for c in kit.certificates],
        crls=[asn1_crl.CertificateList.load(c) for c in kit.crls],
        allow_fetching=False,
        revocation_mode="hard-fail",
    )
    for i, name in enumerate(order):
        role, box = roles[name], boxes[name]
        if role.staff_code is None:
            key_path, cert = kit.pki.seal_key_path, kit.pki.seal
        else:
            key_path, cert = kit.pki.staff_key_path(role.staff_code), kit.pki.staff[role.staff_code]
        key = load_private_key(key_path, kit.pki.passphrase)
        der = key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
        signer = signers.SimpleSigner(
            signing_cert=_asn1(cert),
            signing_key=load_private_key_from_pemder_data(der, None),
            cert_registry=SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
                [_asn1(kit.pki.school), _asn1(kit.pki.so)]
            ),
        )
        last = i == len(order) - 1
        meta = signers.PdfSignatureMetadata(
            field_name=box.field_name,
            subfilter=fields.SigSeedSubFilter.PADES,
            embed_validation_info=last,
            use_pades_lta=last,
            validation_context=context if last else None,
        )
        spec = fields.SigFieldSpec(sig_field_name=box.field_name, on_page=box.page, box=box.box)
        out = io.BytesIO()
        signers.PdfSigner(meta, signer, timestamper=kit.timestamper, new_field_spec=spec).sign_pdf(
            IncrementalPdfFileWriter(io.BytesIO(pdf)), output=out
        )
        pdf = out.getvalue()
    return pdf


def run_issue_bench(*, quick: bool = False) -> dict[str, Any]:
    """Bulk issuance throughput against the naive pipeline; figures and a Markdown table."""
    from api.demo import seed
    from api.issuing import open_issuer
    from projections.issuance import IssueOutcome, Issuer, SigningKit
    from projections.views import open_views

    students = 40 if quick else 200
    naive_n = 6 if quick else 20
    cores = os.cpu_count() or 1
    started = time.perf_counter()
    out: dict[str, Any] = {"suite": "issue", "quick": quick, "cores": cores}
    with demo_school("socai-bench-issue-") as demo:
        data, settings, ledger, pki = demo.data, demo.settings, demo.ledger, demo.pki
        t = time.perf_counter()
        seed(ledger, pki, settings, students=students)
        out["seed_seconds"] = round(time.perf_counter() - t, 2)
        with open_views(settings) as views:
            issuer: Issuer = open_issuer(settings, ledger, pki, views)
            school_year = "2025-2026"
            everyone = issuer.students_of(school_year)
            # Baseline: the same jobs, made one at a time with pyHanko's defaults.
            views.catch_up()
            checkpoint, _ = issuer.checkpointer.checkpoint()
            plans = []
            for student in everyone[:naive_n]:
                p = issuer.plan(student, checkpoint)
                if not isinstance(p, IssueOutcome):
                    plans.append(p)
            kit = SigningKit.load(data, issuer.crls(), pki.passphrase)
            naive_make(kit, plans[0].job)  # warm-up (imports, fonts)
            t = time.perf_counter()
            for p in plans:
                naive_make(kit, p.job)
            naive_s = (time.perf_counter() - t) / len(plans)
            # Ours, in one process, for the per-core figure.
            kit.make(plans[0].job)
            t = time.perf_counter()
            for p in plans:
                kit.make(p.job)
            ours_one_s = (time.perf_counter() - t) / len(plans)
            # The bulk run, both cores, end to end.
            report = issuer.issue(everyone, jobs=cores)
    issued = report.count("issued")
    bulk_rate = issued / report.seconds
    naive_rate = 1 / naive_s
    per_core_ms = 1000 * report.seconds * cores / max(issued, 1)
    out.update(
        {
            "transcripts": issued,
            "refused": report.count("refused"),
            "bulk_seconds": round(report.seconds, 2),
            "bulk_per_s": round(bulk_rate, 2),
            "bulk_ms_per_transcript_per_core": round(per_core_ms, 1),
            "one_process_ms_per_transcript": round(1000 * ours_one_s, 1),
            "naive_ms_per_transcript": round(1000 * naive_s, 1),
            "naive_per_s": round(naive_rate, 2),
            "ratio_vs_naive": round(bulk_rate / naive_rate, 2),
            "bulk_phases_seconds": {k: round(v, 2) for k, v in report.phases.items()},
            "targets": {"ratio_vs_naive": 3.0, "ms_per_transcript_per_core": 150.0},
            "seconds": round(time.perf_counter() - started, 1),
        }
    )
    ok_ratio = "✓" if out["ratio_vs_naive"] >= 3.0 else "✗"
    ok_ms = "✓" if per_core_ms <= 150.0 else "✗"
    out["markdown"] = "\n".join(
        [
            f"Bulk issuance of {issued} học bạ (render + 3 PAdES signatures + DSS + document "
            f"time-stamp + TranscriptIssued), {cores} cores, SQLite.",
            "",
            "| pipeline | transcripts/s | ms per transcript | ratio |",
            "|---|---:|---:|---:|",
            f"| naive: pyHanko defaults, one at a time (n={len(plans)}) | {naive_rate:.2f} | "
            f"{1000 * naive_s:.0f} | 1.00 |",
            f"| ours, one process (n={len(plans)}) | {1 / ours_one_s:.2f} | "
            f"{1000 * ours_one_s:.0f} | {naive_s / ours_one_s:.2f} |",
            f"| ours, bulk run end to end ({cores} workers) | {bulk_rate:.2f} | "
            f"{per_core_ms:.0f} per core | {out['ratio_vs_naive']:.2f} {ok_ratio} (target ≥ 3) |",
            "",
            f"Amortised per core: {per_core_ms:.0f} ms per transcript {ok_ms} (target ≤ 150 ms).",
            "",
            "Issuing process, seconds: "
            + ", ".join(f"{k} {v:.2f}" for k, v in report.phases.items())
            + " (wait includes planning the next documents while the workers sign).",
        ]
    )
    return out
