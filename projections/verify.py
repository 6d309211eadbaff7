"""Verifying an issued học bạ số (DESIGN.md §5): the PDF, its signatures, and the ledger proof.

:func:`verify_pdf` checks a file in this process and returns a :class:`signing.report.Report`;
it never raises for anything about the file. :func:`verify_file` runs the same in a forked
child under limits on size, CPU time, wall time and memory, so that a hostile file (a
decompression bomb, 10⁵ revisions, a circular page tree) ends in a verdict within seconds.

The checks, in order (each a named :class:`~signing.report.Check`):

PDF layer, a policy stricter than pyHanko's ``bottom_line``:

1. ``pdf.structure``: a PDF header, strict parsing (pyHanko's reader in strict mode);
2. ``pdf.trailing``: nothing but whitespace after the last ``%%EOF``;
3. ``pdf.byterange.<field>``: each signature's ByteRange starts at 0, leaves out exactly its
   ``/Contents`` string and ends where its revision ends (pyHanko's coverage check), for the
   approval signatures and the document time-stamps alike;
4. ``signature.<field>``: pyHanko's ``ades_lta_validation`` of each approval signature (GVCN,
   HieuTruong, DauTruong) against the trust anchors, offline, revocation data required
   (from the document's DSS): the certificate valid at the time proven by the time-stamps;
5. ``timestamp.<field>``: each document time-stamp: intact, its TSA chained to an anchor;
6. ``pdf.lock``: the last approval signature locks the document (FieldMDP ``/All`` with
   ``/P 1``), and every earlier one allowed at most the later signatures (``/P 2``);
7. ``pdf.modification``: after each signature only what its lock allows: signing the later
   fields (FORM_FILLING) before the lock, validation data and document time-stamps
   (LTA_UPDATES) after it; anything else (annotations, new fields, changed objects) fails;
8. ``pdf.forms``: no form fields but signature fields; ``pdf.active_content``: no
   JavaScript, actions (``/AA``, ``/OpenAction``, ``/Launch``…) anywhere in the file;
9. ``signature.roles``: the GVCN's certificate is that of the staff code the data names, the
   principal's carries the title Hiệu trưởng, the seal's names the school's code; all three
   of the same school.

Data and ledger layer, from the attachments alone (offline):

10. ``attachments``: exactly ``transcript.json``, ``transcript.xml`` and ``proof.json``;
11. ``data.xml``: the XML says what the JSON says; ``data.page``: the first revision (what
    every signature covers) is byte for byte the page this software renders from them;
12. ``ledger.events``: every event's hash recomputes; ``ledger.chain``: versions 1…n, each
    ``prev`` the previous hash, the last the transcript's ``record_head``;
13. ``ledger.signatures``: every batch signature verifies under the certificate the proof
    names, which chains to an anchor and was valid at the event's time;
14. ``ledger.inclusion``: the head's leaf is in the checkpoint's tree (RFC 9162 §2.1.3.2);
    ``ledger.witnesses``: the checkpoint is signed by a log key and cosigned by k of the
    witnesses this verifier trusts (not those the proof names);
15. ``ledger.data``: what the data says equals what the events say: the student code, the
    year results (the latest ``YearResultRecorded`` of each year), and the identity against
    its commitment when the proof discloses the salt.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import hashlib
import hmac
import io
import json
import os
import re
import resource
import select
import signal
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from ledger.log import leaf_hash_of
from ledger.vault import canonical_fields
from signing import algorithms, envelope, merkle
from signing.checkpoint import CosignatureVerifier, require_witnesses
from signing.errors import SigningError
from signing.note import NoteVerifier
from signing.pki import school_code_of, staff_code_of, verify_certificate_path
from signing.report import INDETERMINATE, TOTAL_FAILED, TOTAL_PASSED, Check, Report

__all__ = [
    "APPROVALS",
    "Limits",
    "VerifyTrust",
    "trust_from_data_dir",
    "verify_file",
    "verify_online",
    "verify_pdf",
]

#: The approval signature fields, in signing order (the seal is optional).
APPROVALS = ("GVCN", "HieuTruong", "DauTruong")
ATTACHMENTS = ("transcript.json", "transcript.xml", "proof.json")
PRINCIPAL_TITLE = "Hiệu trưởng"
_ACTIVE = re.compile(rb"/(JavaScript|JS|AA|OpenAction|Launch|SubmitForm|ImportData|GoToR|URI)\b")
_WS = b" \t\r\n\x00\x0c"


@dataclass(frozen=True)
class VerifyTrust:
    """What the verifier trusts: certificate anchors, log keys and witnesses."""

    roots: tuple[x509.Certificate, ...]
    intermediates: tuple[x509.Certificate, ...] = ()
    log_vkeys: tuple[str, ...] = ()
    """Note verifier keys of the logs whose checkpoints are trusted."""
    witness_vkeys: tuple[str, ...] = ()
    witness_quorum: int = 1


@dataclass(frozen=True)
class Limits:
    """Bounds on one verification (DESIGN.md §6: below 256 MiB)."""

    max_bytes: int = 20 * 1024 * 1024
    seconds: float = 10.0
    memory: int = 256 * 1024 * 1024
    """Growth of the child's address space allowed beyond what it inherits."""
    attachment_bytes: int = 5 * 1024 * 1024


def trust_from_data_dir(
    data_dir: Path, extra_roots: Iterable[x509.Certificate] = ()
) -> VerifyTrust:
    """The trust of a data directory: its anchors, its log key and its witnesses."""
    from signing.keys import load_certificate

    data_dir = Path(data_dir)
    roots = [load_certificate(data_dir / "pki" / "ca" / "root.pem"), *extra_roots]
    intermediates = [
        load_certificate(data_dir / "pki" / "ca" / name) for name in ("so.pem", "school.pem")
    ]
    for name, into in (("anchors.pem", roots), ("intermediates.pem", intermediates)):
        path = data_dir / "trust" / name
        if path.is_file():
            into.extend(x509.load_pem_x509_certificates(path.read_bytes()))
    conf = json.loads((data_dir / "socai.json").read_text("utf-8"))
    return VerifyTrust(
        roots=tuple(roots),
        intermediates=tuple(intermediates),
        log_vkeys=(conf["log"]["vkey"],),
        witness_vkeys=tuple(w["vkey"] for w in conf.get("witnesses", [])),
        witness_quorum=int(conf.get("witness_quorum", 1)),
    )


# -- helpers ------------------------------------------------------------------------------------


def _passed(name: str, detail: str, detail_vi: str = "", **facts: Any) -> Check:
    return Check(name, TOTAL_PASSED, detail, detail_vi, None, facts)


def _failed(name: str, sub: str, detail: str, detail_vi: str = "", **facts: Any) -> Check:
    return Check(name, TOTAL_FAILED, detail, detail_vi, sub, facts)


def _unknown(name: str, sub: str, detail: str, detail_vi: str = "", **facts: Any) -> Check:
    return Check(name, INDETERMINATE, detail, detail_vi, sub, facts)


def _asn1(cert: x509.Certificate) -> Any:
    """The asn1crypto form of ``cert``, made once per certificate.

    The trust's anchors and intermediates are converted for every verification; asn1crypto
    and pyHanko's path builder memoise what they parse and hash on the object itself, so
    handing them the same objects again keeps a trust of many schools' CAs as cheap as a
    small one (without this, each trusted CA cost about 1.3 ms per verification).
    """
    return _asn1_of(cert.public_bytes(Encoding.DER))


@functools.lru_cache(maxsize=4096)
def _asn1_of(der: bytes) -> Any:
    from asn1crypto import x509 as asn1_x509

    return asn1_x509.Certificate.load(der)


def _cn(cert: x509.Certificate, oid: x509.ObjectIdentifier = NameOID.COMMON_NAME) -> str:
    values = cert.subject.get_attributes_for_oid(oid)
    value = values[0].value if values else ""
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def _revision_ends(data: bytes) -> list[int]:
    """Offsets just after each ``%%EOF`` marker and its end-of-line."""
    ends = []
    for m in re.finditer(rb"%%EOF", data):
        end = m.end()
        if data[end : end + 2] == b"\r\n":
            end += 2
        elif data[end : end + 1] in (b"\r", b"\n"):
            end += 1
        ends.append(end)
    return ends


# -- the PDF layer --------------------------------------------------------------------------------


@dataclass
class _State:
    data: bytes
    trust: VerifyTrust
    limits: Limits
    checks: list[Check] = field(default_factory=list)
    document: dict[str, Any] = field(default_factory=dict)
    reader: Any = None
    files: dict[str, bytes] = field(default_factory=dict)
    transcript: dict[str, Any] | None = None
    proof: dict[str, Any] | None = None
    signers: dict[str, x509.Certificate] = field(default_factory=dict)

    def add(self, check: Check) -> Check:
        self.checks.append(check)
        return check


def _structure(s: _State) -> bool:
    from pyhanko.pdf_utils.reader import PdfFileReader

    data = s.data
    if not data.startswith(b"%PDF-"):
        s.add(
            _failed(
                "pdf.structure",
                "FORMAT_FAILURE",
                "not a PDF file (no %PDF- header)",
                "không phải tệp PDF (thiếu phần đầu %PDF-)",
            )
        )
        return False
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=True)
        _ = reader.root
        reader.embedded_signatures  # noqa: B018 - parses the signature fields
    except Exception as e:  # a hostile file may raise anything from the parser
        s.add(
            _failed(
                "pdf.structure",
                "FORMAT_FAILURE",
                f"the PDF does not parse strictly: {type(e).__name__}: {e}"[:500],
                "tệp PDF không đọc được theo chuẩn (phân tích nghiêm ngặt thất bại)",
            )
        )
        return False
    s.reader = reader
    s.add(
        _passed(
            "pdf.structure",
            f"a PDF of {len(data)} bytes in {len(_revision_ends(data))} revisions, parsed strictly",
            f"tệp PDF {len(data)} byte, {len(_revision_ends(data))} lần lưu, đọc đúng chuẩn",
            bytes=len(data),
        )
    )
    last = data.rfind(b"%%EOF")
    tail = data[last + 5 :] if last >= 0 else data
    if last < 0 or tail.strip(_WS):
        s.add(
            _failed(
                "pdf.trailing",
                "FORMAT_FAILURE",
                f"{len(tail.strip(_WS))} bytes of data after the last %%EOF",
                "có dữ liệu lạ sau dấu kết thúc %%EOF cuối cùng",
            )
        )
    else:
        s.add(_passed("pdf.trailing", "nothing after the last %%EOF", "không có gì sau %%EOF"))
    return True


def _validation_spec(s: _State) -> Any:
    from pyhanko.sign.validation.policy_decl import (
        PdfSignatureValidationSpec,
        RevinfoOnlineFetchingRule,
        RevocationInfoGatheringSpec,
        SignatureValidationSpec,
    )
    from pyhanko_certvalidator.context import CertValidationPolicySpec
    from pyhanko_certvalidator.policy_decl import REQUIRE_REVINFO, CertRevTrustPolicy
    from pyhanko_certvalidator.registry import SimpleTrustManager

    policy = CertValidationPolicySpec(
        trust_manager=SimpleTrustManager.build(trust_roots=[_asn1(r) for r in s.trust.roots]),
        revinfo_policy=CertRevTrustPolicy(REQUIRE_REVINFO),
    )
    return PdfSignatureValidationSpec(
        SignatureValidationSpec(
            cert_validation_policy=policy,
            revinfo_gathering_policy=RevocationInfoGatheringSpec(
                online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY
            ),
        )
    )


def _lock_of(sig: Any) -> tuple[str | None, int | None]:
    """(FieldMDP action, P) of a signature field's /Lock, or (None, None)."""
    try:
        lock = sig.sig_field.get("/Lock")
        if lock is None:
            return None, None
        lock = lock.get_object()
        action = str(lock.get("/Action")) if "/Action" in lock else None
        perm = int(lock["/P"]) if "/P" in lock else None
        return action, perm
    except Exception:
        return None, None


def _signatures(s: _State) -> None:
    from pyhanko.sign.validation.ades import ades_lta_validation
    from pyhanko.sign.validation.errors import SignatureValidationError

    reader = s.reader
    try:
        regular = list(reader.embedded_regular_signatures)
        stamps = list(reader.embedded_timestamp_signatures)
    except Exception as e:
        s.add(_failed("pdf.signatures", "FORMAT_FAILURE", f"signature fields unreadable: {e}"))
        return
    names = [sig.field_name for sig in regular]
    expected = [n for n in APPROVALS if n in names]
    if not regular or names != expected or names[:2] != ["GVCN", "HieuTruong"]:
        s.add(
            _failed(
                "pdf.signatures",
                "FORMAT_FAILURE",
                f"approval signatures {names}, expected GVCN, HieuTruong[, DauTruong] in order",
                "thiếu chữ ký hoặc sai thứ tự (GVCN, Hiệu trưởng, con dấu)",
            )
        )
    else:
        s.add(
            _passed(
                "pdf.signatures",
                f"approval signatures {', '.join(names)} and {len(stamps)} document time-stamp(s)",
                f"các chữ ký {', '.join(names)} và {len(stamps)} dấu thời gian tài liệu",
            )
        )
    if not stamps:
        s.add(
            _failed(
                "pdf.lta",
                "FORMAT_FAILURE",
                "no document time-stamp: not PAdES B-LTA",
                "không có dấu thời gian tài liệu (không đạt PAdES B-LTA)",
            )
        )
    for sig in [*regular, *stamps]:
        s.add(_byterange(sig))
    spec = _validation_spec(s)
    levels: dict[str, str] = {}
    for sig in regular:
        name = sig.field_name
        try:
            result = asyncio.run(ades_lta_validation(sig, spec))
        except (SignatureValidationError, Exception) as e:
            s.add(
                _failed(
                    f"signature.{name}",
                    "FORMAT_FAILURE",
                    f"cannot be validated: {type(e).__name__}: {e}"[:500],
                    "không kiểm tra được chữ ký",
                )
            )
            continue
        status = result.api_status
        indication = str(result.ades_subindic)
        sub = indication.split(".", 1)[-1]
        cert = status.signing_cert if status is not None else None
        if cert is not None:
            s.signers[name] = x509.load_der_x509_certificate(cert.dump())
        when = getattr(result, "best_signature_time", None)
        facts = {
            "signer": _cn(s.signers[name]) if name in s.signers else None,
            "time": when.astimezone(UTC).isoformat() if when else None,
            "modification_level": (
                status.modification_level.name
                if status is not None and status.modification_level is not None
                else None
            ),
            "indication": indication,
        }
        levels[name] = facts["modification_level"] or "UNKNOWN"
        intact = bool(status is not None and status.intact and status.valid)
        if not intact:
            s.add(
                _failed(
                    f"signature.{name}",
                    "HASH_FAILURE"
                    if status is not None and not status.intact
                    else "SIG_CRYPTO_FAILURE",
                    "the signature does not match the signed bytes",
                    "chữ ký không khớp với nội dung đã ký",
                    **facts,
                )
            )
        elif indication.startswith("AdESPassed"):
            s.add(
                _passed(
                    f"signature.{name}",
                    f"valid, signed by {facts['signer']} at {facts['time']} (PAdES, "
                    "certificate valid at the proven time, revocation data in the document)",
                    f"hợp lệ, ký bởi {facts['signer']} lúc {facts['time']}",
                    **facts,
                )
            )
        elif indication.startswith("AdESFailure"):
            s.add(
                _failed(
                    f"signature.{name}",
                    sub,
                    f"failed: {indication}",
                    "chữ ký không hợp lệ",
                    **facts,
                )
            )
        else:
            s.add(
                _unknown(
                    f"signature.{name}",
                    sub,
                    f"cannot be established: {indication}",
                    "chưa xác định được hiệu lực chữ ký",
                    **facts,
                )
            )
    for stamp in stamps:
        s.add(_timestamp(s, stamp))
    _locks(s, regular, levels)


def _byterange(sig: Any) -> Check:
    from pyhanko.sign.validation.errors import SignatureValidationError
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    name = f"pdf.byterange.{sig.field_name}"
    try:
        # Coverage only: the modifications are analysed once, in the AdES validation.
        coverage = sig.evaluate_signature_coverage()
    except (SignatureValidationError, Exception) as e:
        return _failed(name, "FORMAT_FAILURE", f"ByteRange invalid: {e}"[:400], "ByteRange sai")
    if coverage not in (SignatureCoverageLevel.ENTIRE_REVISION, SignatureCoverageLevel.ENTIRE_FILE):
        return _failed(
            name,
            "FORMAT_FAILURE",
            f"the signature covers {coverage.name if coverage else 'nothing'}, "
            "not its whole revision",
            "chữ ký không bao trùm toàn bộ lần lưu của nó",
        )
    return _passed(name, f"covers {coverage.name.lower()}", "bao trùm đúng phạm vi")


def _timestamp(s: _State, stamp: Any) -> Check:
    from asn1crypto import crl as asn1_crl
    from pyhanko.sign.validation import validate_pdf_timestamp
    from pyhanko.sign.validation.dss import DocumentSecurityStore
    from pyhanko_certvalidator import ValidationContext

    name = f"timestamp.{stamp.field_name}"
    from asn1crypto import x509 as asn1_x509

    try:
        dss = DocumentSecurityStore.read_dss(s.reader)
        crls = [asn1_crl.CertificateList.load(r.get_object().data) for r in dss.crls]
        certs = [asn1_x509.Certificate.load(r.get_object().data) for r in dss.certs.values()]
    except Exception:
        crls, certs = [], []
    try:
        context = ValidationContext(
            trust_roots=[_asn1(r) for r in s.trust.roots],
            other_certs=[_asn1(c) for c in s.trust.intermediates] + certs,
            crls=crls,
            allow_fetching=False,
            revocation_mode="soft-fail",
        )
        status = validate_pdf_timestamp(stamp, validation_context=context, skip_diff=True)
    except Exception as e:
        return _failed(
            name, "FORMAT_FAILURE", f"cannot be validated: {e}"[:400], "không kiểm tra được"
        )
    when = status.timestamp.astimezone(UTC).isoformat() if status.timestamp else None
    if not (status.intact and status.valid):
        return _failed(
            name,
            "HASH_FAILURE",
            "the time-stamp does not match the file",
            "dấu thời gian không khớp tệp",
        )
    if not status.trusted:
        return _unknown(
            name,
            "NO_CERTIFICATE_CHAIN_FOUND",
            "the time-stamping authority does not chain to a trust anchor",
            "đơn vị cấp dấu thời gian không thuộc chuỗi tin cậy",
            time=when,
        )
    return _passed(
        name, f"document time-stamp of {when}", f"dấu thời gian tài liệu lúc {when}", time=when
    )


def _locks(s: _State, regular: Sequence[Any], levels: Mapping[str, str]) -> None:
    if not regular:
        return
    problems = []
    last = regular[-1]
    action, perm = _lock_of(last)
    if action != "/All" or perm != 1:
        problems.append(f"the last signature ({last.field_name}) does not lock the document")
    for sig in regular[:-1]:
        action, perm = _lock_of(sig)
        if sig.field_name == "HieuTruong" and perm not in (None, 2):
            problems.append(f"{sig.field_name} lock /P {perm}")
    if problems:
        s.add(
            _failed(
                "pdf.lock",
                "FORMAT_FAILURE",
                "; ".join(problems),
                "tài liệu không được khoá sau chữ ký cuối",
            )
        )
    else:
        s.add(
            _passed(
                "pdf.lock",
                f"locked by {last.field_name} (FieldMDP /All, /P 1)",
                "tài liệu đã khoá sau chữ ký cuối",
            )
        )
    bad = []
    for sig in regular:
        level = levels.get(sig.field_name)
        allowed = (
            ("NONE", "LTA_UPDATES") if sig is last else ("NONE", "LTA_UPDATES", "FORM_FILLING")
        )
        if level is not None and level not in allowed:
            bad.append(f"after {sig.field_name}: {level}")
    if bad:
        s.add(
            _failed(
                "pdf.modification",
                "FORMAT_FAILURE",
                "changes after signing that the locks do not allow: " + "; ".join(bad),
                "tài liệu bị thay đổi sau khi ký",
            )
        )
    else:
        s.add(
            _passed(
                "pdf.modification",
                "after the lock only validation data and document time-stamps",
                "sau khi khoá chỉ có dữ liệu xác thực và dấu thời gian",
            )
        )


def _forms_and_actions(s: _State) -> None:
    reader = s.reader
    fields_bad: list[str] = []
    try:
        acro = reader.root.get("/AcroForm")
        stack = list(acro.get_object().get("/Fields", [])) if acro is not None else []
        seen = 0
        while stack and seen < 10_000:
            seen += 1
            f = stack.pop().get_object()
            kids = f.get("/Kids")
            if kids is not None and "/FT" not in f:
                stack.extend(kids)
                continue
            if str(f.get("/FT")) != "/Sig":
                fields_bad.append(str(f.get("/T", "?")))
    except Exception as e:
        fields_bad.append(f"unreadable form: {e}")
    if fields_bad:
        s.add(
            _failed(
                "pdf.forms",
                "FORMAT_FAILURE",
                f"form fields other than signatures: {fields_bad[:5]}",
                "có trường biểu mẫu không phải chữ ký",
            )
        )
    else:
        s.add(_passed("pdf.forms", "only signature fields", "chỉ có trường chữ ký"))
    found = _active_content(reader)
    if found:
        s.add(
            _failed(
                "pdf.active_content",
                "FORMAT_FAILURE",
                f"active content: {sorted(found)[:5]}",
                "có mã lệnh hoặc hành động (JavaScript, action)",
            )
        )
    else:
        s.add(
            _passed(
                "pdf.active_content", "no JavaScript, no actions", "không có JavaScript, hành động"
            )
        )


def _active_content(reader: Any) -> set[str]:
    """Keys of active content in any dictionary the cross-reference tables list.

    An object that cannot be read counts as found: what cannot be checked is not trusted.
    """
    from pyhanko.pdf_utils import generic

    found: set[str] = set()
    keys = {"/JavaScript", "/JS", "/AA", "/OpenAction", "/Launch", "/SubmitForm", "/ImportData"}
    seen: set[int] = set()
    for rev in range(reader.xrefs.total_revisions):
        try:
            refs = list(reader.xrefs.explicit_refs_in_revision(rev))
        except Exception as e:
            found.add(f"unreadable cross-reference section {rev}: {type(e).__name__}")
            continue
        for ref in refs:
            if ref.idnum in seen:
                continue
            seen.add(ref.idnum)
            try:
                obj = reader.get_object(ref)
            except Exception as e:
                found.add(f"unreadable object {ref.idnum}: {type(e).__name__}")
                continue
            # A stream's dictionary is checked like any other; its bytes are content.
            if isinstance(obj, generic.DictionaryObject):
                found |= {k for k in obj if k in keys}
                subtype = obj.get("/S")
                if subtype is not None and str(subtype) in (
                    "/JavaScript",
                    "/Launch",
                    "/SubmitForm",
                ):
                    found.add(str(subtype))
    return found


def _roles(s: _State) -> None:
    data = s.transcript or {}
    signers = {x.get("role"): x for x in data.get("signers", [])} if data else {}
    school_code = (data.get("school") or {}).get("code") if data else None
    problems = []
    gvcn = s.signers.get("GVCN")
    principal = s.signers.get("HieuTruong")
    seal = s.signers.get("DauTruong")
    if gvcn is None or principal is None:
        problems.append("the GVCN's or the principal's certificate is missing")
    else:
        want = (signers.get("gvcn") or {}).get("staff_code")
        if staff_code_of(gvcn) != want:
            problems.append(
                f"GVCN signed with the certificate of {staff_code_of(gvcn)}, the data names {want}"
            )
        if _cn(principal, NameOID.TITLE) != PRINCIPAL_TITLE:
            problems.append("the principal's certificate does not carry the title Hiệu trưởng")
        organisations = {_cn(c, NameOID.ORGANIZATION_NAME) for c in (gvcn, principal, seal) if c}
        if len(organisations) != 1:
            problems.append(f"signers of different organisations: {sorted(organisations)}")
    if seal is not None and school_code_of(seal) != school_code:
        problems.append(
            f"the seal is of school {school_code_of(seal)}, the data names {school_code}"
        )
    if problems:
        s.add(
            _failed(
                "signature.roles",
                "CHAIN_CONSTRAINTS_FAILURE",
                "; ".join(problems),
                "người ký không đúng vai trò",
            )
        )
    else:
        s.add(
            _passed(
                "signature.roles",
                "GVCN, Hiệu trưởng and the school's seal match the certificates",
                "GVCN, Hiệu trưởng và con dấu của trường khớp với chứng thư số",
            )
        )


# -- data and ledger ------------------------------------------------------------------------------


def _attachments(s: _State) -> bool:
    try:
        names = s.reader.root["/Names"]["/EmbeddedFiles"]["/Names"]
        files: dict[str, bytes] = {}
        for i in range(0, len(names), 2):
            name = str(names[i])
            spec = names[i + 1].get_object()
            stream = spec["/EF"]["/F"].get_object()
            declared = int(stream.get("/Params", {}).get("/Size", 0) or 0)
            if declared > s.limits.attachment_bytes:
                raise ValueError(f"{name} declares {declared} bytes")
            files[name] = stream.data
            if len(files[name]) > s.limits.attachment_bytes:
                raise ValueError(f"{name} is larger than {s.limits.attachment_bytes} bytes")
    except Exception as e:
        s.add(
            _failed(
                "attachments",
                "FORMAT_FAILURE",
                f"attachments unreadable: {type(e).__name__}: {e}"[:400],
                "không đọc được tệp đính kèm",
            )
        )
        return False
    if sorted(files) != sorted(ATTACHMENTS):
        s.add(
            _failed(
                "attachments",
                "FORMAT_FAILURE",
                f"attachments {sorted(files)}, expected {list(ATTACHMENTS)}",
                "tệp đính kèm không đúng",
            )
        )
        return False
    s.files = files
    try:
        s.transcript = json.loads(files["transcript.json"])
        s.proof = json.loads(files["proof.json"])
    except ValueError as e:
        s.add(
            _failed(
                "attachments",
                "FORMAT_FAILURE",
                f"not JSON: {e}",
                "dữ liệu đính kèm không phải JSON",
            )
        )
        return False
    issue = (s.transcript or {}).get("issue", {})
    s.document.update(
        record=(s.proof or {}).get("record"),
        verify_url=(s.transcript or {}).get("verify_url"),
        transcript_id=issue.get("transcript_id"),
        number=issue.get("number"),
        issued_on=issue.get("issued_on"),
        student_code=((s.transcript or {}).get("student") or {}).get("code"),
        school=((s.transcript or {}).get("school") or {}).get("code"),
        sha256=hashlib.sha256(s.data).hexdigest(),
    )
    s.add(
        _passed(
            "attachments", "transcript.json, transcript.xml and proof.json", "có đủ ba tệp đính kèm"
        )
    )
    return True


def _data(s: _State) -> None:
    from projections.pdf import render_transcript
    from projections.transcript import from_xml

    data = s.transcript or {}
    try:
        same = from_xml(s.files["transcript.xml"]) == data
    except Exception as e:
        same = False
        detail = f"transcript.xml does not parse: {e}"
    else:
        detail = "transcript.xml differs from transcript.json"
    if same:
        s.add(
            _passed(
                "data.xml", "the XML and the JSON hold the same data", "XML và JSON có cùng dữ liệu"
            )
        )
    else:
        s.add(_failed("data.xml", "FORMAT_FAILURE", detail, "XML và JSON không khớp"))
    ends = _revision_ends(s.data)
    first = s.data[: ends[0]] if ends else b""
    try:
        rendered = render_transcript(data, attachments=s.files, seal="DauTruong" in s.signers).pdf
    except Exception as e:
        s.add(
            _failed(
                "data.page",
                "FORMAT_FAILURE",
                f"the data cannot be drawn: {e}"[:400],
                "dữ liệu không hợp lệ",
            )
        )
        return
    if rendered == first:
        s.add(
            _passed(
                "data.page",
                "the signed page is exactly the page drawn from transcript.json",
                "trang đã ký đúng là trang in từ transcript.json",
            )
        )
    else:
        s.add(
            _failed(
                "data.page",
                "HASH_FAILURE",
                "the signed page is not the page drawn from the attached data",
                "trang đã ký không khớp với dữ liệu đính kèm",
            )
        )


def _shown_problems(year: Mapping[str, Any]) -> list[str]:
    """Where the year block's shown values differ from its recorded result.

    The page draws ``subjects``, ``learning``, ``conduct``… while the ledger checks bind
    ``result``: both must say the same (projections.transcript builds the first from the
    second), or a re-signed file could show scores the ledger never recorded.
    """
    sy = year.get("school_year")
    result = year.get("result")
    if not isinstance(result, Mapping):
        return [f"{sy}: no result"]
    subjects = result.get("subjects") or {}
    shown = {s.get("name"): s for s in year.get("subjects") or [] if isinstance(s, Mapping)}
    out = []
    if set(shown) != set(subjects):
        out.append(f"{sy}: the subjects shown are not the result's")
    tt27 = result.get("regulation") == "TT27/2020"
    keys = (
        ("assessed", "level", "code", "test")
        if tt27
        else (
            "assessed",
            "term1",
            "term2",
            "year",
            "reassessed",
        )
    )
    for name, row in shown.items():
        recorded = subjects.get(name)
        if not isinstance(recorded, Mapping) or any(row.get(k) != recorded.get(k) for k in keys):
            out.append(f"{sy}: {name} shown differs from the result")
    if tt27:
        qualities = {q.get("name"): q.get("level") for q in year.get("qualities") or []}
        if qualities != result.get("qualities") or year.get("outcome") != result.get("result"):
            out.append(f"{sy}: qualities or outcome shown differ from the result")
    else:
        learning = year.get("learning") or {}
        conduct = year.get("conduct") or {}
        recorded_conduct = result.get("conduct") or {}
        pairs = [
            (learning.get("year"), result.get("learning")),
            (learning.get("raw"), result.get("learning_raw")),
            (learning.get("adjusted_by"), result.get("adjusted_by")),
            (learning.get("after_reassessment"), result.get("learning_after_reassessment")),
            (conduct.get("term1"), recorded_conduct.get("term1")),
            (conduct.get("term2"), recorded_conduct.get("term2")),
            (conduct.get("year"), recorded_conduct.get("year")),
            (conduct.get("after_summer"), result.get("conduct_after_summer")),
            (year.get("promotion"), result.get("promotion")),
        ]
        if any(a != b for a, b in pairs):
            out.append(f"{sy}: learning, conduct or promotion shown differ from the result")
    if year.get("absences") != result.get("absences"):
        out.append(f"{sy}: absences shown differ from the result")
    title = result.get("award")
    if title and title not in {a.get("award") for a in year.get("awards") or []}:
        out.append(f"{sy}: the award of the result is not shown")
    return out


def _b64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not base64 text")
    return base64.b64decode(text, validate=True)


def _event_time(payload: bytes) -> datetime | None:
    try:
        stamp = json.loads(payload).get("timestamp")
        value = stamp.get("_data_") if isinstance(stamp, dict) else stamp
        moment = datetime.fromisoformat(str(value))
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    except Exception:
        return None


def _ledger(s: _State) -> None:
    proof = s.proof or {}
    data = s.transcript or {}
    issue = data.get("issue") or {}
    try:
        record = UUID(str(proof["record"]))
        events = list(proof["events"])
        certs = {
            bytes.fromhex(fp): (x509.load_der_x509_certificate(_b64(c["der"])), str(c["owner"]))
            for fp, c in dict(proof["certificates"]).items()
        }
    except (KeyError, ValueError, TypeError, binascii.Error) as e:
        s.add(
            _failed(
                "ledger.events",
                "FORMAT_FAILURE",
                f"proof.json is malformed: {e}",
                "proof.json sai định dạng",
            )
        )
        return
    rid = envelope.record_id_bytes(record)
    parsed: list[tuple[int, str, bytes, Any]] = []
    problems: list[str] = []
    for item in events:
        try:
            state = _b64(item["state"])
            env = envelope.decode(state)
            env.verify_hash(rid, int(item["version"]), str(item["topic"]))
            parsed.append((int(item["version"]), str(item["topic"]), state, env))
        except (SigningError, KeyError, ValueError, TypeError, binascii.Error) as err:
            version = item.get("version") if isinstance(item, dict) else "?"
            problems.append(f"v{version}: {err}")
    if problems or not parsed:
        s.add(
            _failed(
                "ledger.events",
                "HASH_FAILURE",
                "; ".join(problems[:5]) or "no events",
                "sự kiện bị sửa",
            )
        )
        return
    s.add(
        _passed(
            "ledger.events",
            f"{len(parsed)} events, every hash recomputed",
            f"{len(parsed)} sự kiện, mã băm đúng",
        )
    )
    chain_problems = []
    prev = envelope.ZERO_HASH
    for i, (version, _topic, _state, env) in enumerate(parsed, start=1):
        if version != i:
            chain_problems.append(f"version {version} where {i} was expected")
            break
        if env.prev != prev:
            chain_problems.append(f"v{version}: prev is not the previous event's hash")
            break
        prev = env.hash
    head = parsed[-1]
    if not chain_problems and (
        head[3].hash.hex() != issue.get("record_head") or head[0] != issue.get("record_version")
    ):
        chain_problems.append("the chain's head is not the head the transcript names")
    if chain_problems:
        s.add(
            _failed(
                "ledger.chain", "HASH_FAILURE", "; ".join(chain_problems), "chuỗi sự kiện bị đứt"
            )
        )
    else:
        s.add(
            _passed(
                "ledger.chain",
                f"versions 1…{head[0]} linked, head {head[3].hash.hex()[:16]}…",
                "chuỗi sự kiện liền mạch",
            )
        )
    _ledger_signatures(s, parsed, certs)
    _inclusion(s, record, head, proof)
    _ledger_data(s, record, parsed, proof, data)
    _ledger_authority(s, record, events, parsed, proof, certs, data)


def _ledger_signatures(
    s: _State,
    parsed: Sequence[tuple[int, str, bytes, Any]],
    certs: Mapping[bytes, tuple[x509.Certificate, str]],
) -> None:
    problems: list[str] = []
    unknown: list[str] = []
    verified: set[tuple[bytes, bytes]] = set()
    paths: dict[bytes, str | None] = {}
    issuers: dict[bytes, str | None] = {}
    for version, _topic, _state, env in parsed:
        entry = certs.get(env.signer)
        if entry is None:
            problems.append(f"v{version}: signer {env.signer.hex()[:16]} not in the proof")
            continue
        cert = entry[0]
        try:
            root = env.batch_root()
            key = (env.signature, root)
            if key not in verified:
                algorithms.verify(
                    cert.public_key(),
                    env.algorithm,
                    env.signature,
                    envelope.batch_message(env.batch_size, root),
                )
                verified.add(key)
        except SigningError as e:
            problems.append(f"v{version}: {e}")
            continue
        moment = _event_time(env.payload)
        if moment is None or not (cert.not_valid_before_utc <= moment <= cert.not_valid_after_utc):
            problems.append(f"v{version}: signed outside the certificate's validity")
            continue
        if env.signer not in paths:
            paths[env.signer] = _chain_problem(s, cert, moment, issuers)
        if paths[env.signer] is not None:
            unknown.append(f"v{version}: {paths[env.signer]}")
    if problems:
        s.add(
            _failed(
                "ledger.signatures",
                "SIG_CRYPTO_FAILURE",
                "; ".join(problems[:5]),
                "chữ ký sự kiện không hợp lệ",
            )
        )
    elif unknown:
        s.add(
            _unknown(
                "ledger.signatures",
                "NO_CERTIFICATE_CHAIN_FOUND",
                "; ".join(unknown[:3]),
                "chứng thư của người ký sự kiện không thuộc chuỗi tin cậy",
            )
        )
    else:
        s.add(
            _passed(
                "ledger.signatures",
                f"{len(verified)} batch signatures verified, "
                f"{len(paths)} signers chained to an anchor",
                "chữ ký các sự kiện hợp lệ",
            )
        )


def _chain_problem(
    s: _State, cert: x509.Certificate, moment: datetime, issuers: dict[bytes, str | None]
) -> str | None:
    """Why ``cert`` does not chain to an anchor at ``moment``, or None.

    The first certificate of each issuing CA gets a full path validation; the others of
    the same CA only their issuer's signature and their validity at ``moment`` (the path
    above the CA is the one already validated).
    """
    from cryptography.exceptions import InvalidSignature

    issuer = next((c for c in s.trust.intermediates if c.subject == cert.issuer), None)
    key = issuer.fingerprint(hashes.SHA256()) if issuer is not None else None
    if key is None or key not in issuers:
        try:
            verify_certificate_path(cert, list(s.trust.intermediates), list(s.trust.roots), moment)
            problem = None
        except SigningError as e:
            problem = str(e)
        if key is not None:
            issuers[key] = problem
        return problem
    if issuers[key] is not None or issuer is None:
        return issuers[key]
    try:
        cert.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError) as e:
        return f"not issued by {issuer.subject.rfc4514_string()}: {e}"
    if not cert.not_valid_before_utc <= moment <= cert.not_valid_after_utc:
        return "not valid at the event's time"
    return None


def _ledger_authority(
    s: _State,
    record: UUID,
    events: Sequence[Any],
    parsed: Sequence[tuple[int, str, bytes, Any]],
    proof: Mapping[str, Any],
    certs: Mapping[bytes, tuple[x509.Certificate, str]],
    data: Mapping[str, Any],
) -> None:
    """Replay the record with its context in log order: authority, and the results again.

    The context events (schools, school years, the signers' staff files) are each checked
    for their hash and signature; their chains may have gaps (a school year's enrolments of
    other students are left out of the bundle). Each of the record's events is judged by
    :mod:`ledger.authority` as the audit judges it, and each year result in the data is
    recomputed from the replayed records (:mod:`ledger.results`).
    """
    from eventsourcing.persistence import StoredEvent

    from ledger.audit import Replay, plain_mapper
    from ledger.domain import SchoolYear, StudentRecord, school_year_id
    from ledger.errors import LedgerError
    from ledger.results import year_result

    context = proof.get("context")
    if not isinstance(context, list):
        s.add(
            _unknown(
                "ledger.authority",
                "TRY_LATER",
                "the proof carries no context to judge the signers' authority",
                "bằng chứng không kèm dữ liệu để xét thẩm quyền người ký",
            )
        )
        return
    rows: list[tuple[int, StoredEvent, bool]] = []
    bad: list[str] = []
    try:
        # The record's events, already decoded and checked by _ledger, with their positions.
        for e, (version, topic, state, _env) in zip(events, parsed, strict=True):
            rows.append((int(e["leaf_index"]), StoredEvent(record, version, topic, state), True))
        for e in context:
            rid = UUID(str(e["record"]))
            state = _b64(e["state"])
            env = envelope.decode(state)
            env.verify_hash(envelope.record_id_bytes(rid), int(e["version"]), str(e["topic"]))
            entry = certs.get(env.signer)
            if entry is None:
                raise SigningError(f"context {rid} v{e['version']}: signer not in the proof")
            root = env.batch_root()
            algorithms.verify(
                entry[0].public_key(),
                env.algorithm,
                env.signature,
                envelope.batch_message(env.batch_size, root),
            )
            rows.append(
                (
                    int(e["leaf_index"]),
                    StoredEvent(rid, int(e["version"]), str(e["topic"]), state),
                    False,
                )
            )
    except (KeyError, ValueError, TypeError, SigningError, binascii.Error) as err:
        s.add(
            _failed(
                "ledger.authority",
                "FORMAT_FAILURE",
                f"context malformed: {err}"[:300],
                "dữ liệu thẩm quyền sai",
            )
        )
        return
    rows.sort(key=lambda r: r[0])
    replay = Replay(plain_mapper())
    for _index, stored, own in rows:
        problems = replay.feed(stored)
        if own:
            bad += [f"v{stored.originator_version} {check}: {detail}" for check, detail in problems]
    if bad:
        s.add(
            _failed(
                "ledger.authority",
                "GENERIC",
                "; ".join(bad[:5]),
                "có sự kiện do người không có thẩm quyền ghi",
            )
        )
    else:
        s.add(
            _passed(
                "ledger.authority",
                f"every one of the record's {len(events)} events was made by someone with the "
                "authority for it at that point of the log",
                "mọi sự kiện đều do người có thẩm quyền ghi",
            )
        )
    student = replay.aggregates.get(record)
    differences: list[str] = []
    if not isinstance(student, StudentRecord):
        differences.append("the record could not be rebuilt")
    else:
        for year in data.get("years") or []:
            sy = str(year.get("school_year"))
            membership = student.years.get(sy)
            school_year = (
                replay.aggregates.get(school_year_id(membership[2], sy)) if membership else None
            )
            if not isinstance(school_year, SchoolYear):
                differences.append(f"{sy}: no school year to recompute in")
                continue
            try:
                again = year_result(student, school_year, stage=str(year.get("stage") or "year"))
            except LedgerError as err:
                differences.append(f"{sy}: cannot be recomputed: {err}")
                continue
            if again != year.get("result"):
                differences.append(f"{sy}: the result recomputed from the events differs")
    if differences:
        s.add(
            _failed(
                "data.derivation",
                "GENERIC",
                "; ".join(differences[:5]),
                "kết quả tính lại từ sự kiện khác với học bạ",
            )
        )
    else:
        s.add(
            _passed(
                "data.derivation",
                "every year result recomputed from the events (ledger.results) equals the data",
                "kết quả cả năm tính lại từ các sự kiện khớp với học bạ",
            )
        )


def _inclusion(
    s: _State, record: UUID, head: tuple[int, str, bytes, Any], proof: Mapping[str, Any]
) -> None:
    try:
        inc = dict(proof["inclusion"])
        note = str(inc["checkpoint"]).encode("utf-8")
        leaf = leaf_hash_of(record, head[0], head[2])
        if leaf != _b64(inc["leaf_hash"]) or int(inc["version"]) != head[0]:
            raise SigningError("the leaf is not the head event's")
        trusted_logs = [NoteVerifier.from_vkey(k) for k in s.trust.log_vkeys]
        log_key = next(
            (v for v in trusted_logs if v.vkey == proof.get("log", {}).get("vkey")), None
        )
    except (KeyError, ValueError, TypeError, SigningError, binascii.Error) as e:
        s.add(
            _failed(
                "ledger.inclusion",
                "FORMAT_FAILURE",
                f"inclusion data malformed: {e}",
                "chứng minh thuộc sổ cái sai",
            )
        )
        return
    if log_key is None:
        s.add(
            _unknown(
                "ledger.witnesses",
                "NO_CERTIFICATE_CHAIN_FOUND",
                "the proof's log is not one this verifier trusts",
                "sổ cái phát hành không nằm trong danh sách tin cậy",
            )
        )
        return
    witnesses = [CosignatureVerifier.from_vkey(k) for k in s.trust.witness_vkeys]
    try:
        checkpoint = require_witnesses(
            note, log_key, witnesses, min(s.trust.witness_quorum, len(witnesses))
        )
    except (SigningError, ValueError) as e:
        s.add(
            _unknown(
                "ledger.witnesses",
                "TRY_LATER",
                f"checkpoint not witnessed: {e}",
                "điểm kiểm tra chưa được nhân chứng đồng ký",
            )
        )
        return
    s.add(
        _passed(
            "ledger.witnesses",
            f"checkpoint of size {checkpoint.size} signed by the log and cosigned by "
            f"{s.trust.witness_quorum} trusted witness(es)",
            "điểm kiểm tra được sổ cái ký và nhân chứng đồng ký",
        )
    )
    try:
        merkle.verify_inclusion(
            leaf,
            int(inc["leaf_index"]),
            int(inc["tree_size"]),
            [_b64(h) for h in inc["inclusion_proof"]],
            checkpoint.root,
        )
        if int(inc["tree_size"]) != checkpoint.size:
            raise SigningError("the proof is for another tree size than the checkpoint")
    except (SigningError, ValueError, KeyError, binascii.Error) as e:
        s.add(
            _failed(
                "ledger.inclusion",
                "HASH_FAILURE",
                f"the head is not in the checkpoint: {e}",
                "bản ghi không thuộc sổ cái đã công bố",
            )
        )
        return
    s.document["checkpoint_size"] = checkpoint.size
    s.document["checkpoint_root"] = base64.b64encode(checkpoint.root).decode("ascii")
    s.add(
        _passed(
            "ledger.inclusion",
            f"the head is leaf {inc['leaf_index']} of the checkpoint's tree",
            "bản ghi nằm trong sổ cái đã công bố",
        )
    )


def _ledger_data(
    s: _State,
    record: UUID,
    parsed: Sequence[tuple[int, str, bytes, Any]],
    proof: Mapping[str, Any],
    data: Mapping[str, Any],
) -> None:
    problems: list[str] = []
    results: dict[str, dict[str, Any]] = {}
    code = None
    commitment = None
    for _version, topic, _state, env in parsed:
        name = topic.rsplit(".", 1)[-1]
        if name not in ("Enrolled", "YearResultRecorded", "IdentityRecorded"):
            continue
        try:
            payload = json.loads(env.payload)
        except ValueError:
            problems.append(f"{name}: payload is not JSON")
            continue
        if name == "Enrolled":
            code = payload.get("student_code")
        elif name == "YearResultRecorded":
            results[str(payload.get("school_year"))] = payload.get("result")
        else:
            commitment = payload.get("commitment")
    student = data.get("student") or {}
    if str(student.get("id")) != str(record) or student.get("code") != code:
        problems.append("the student in the data is not the record's")
    for year in data.get("years") or []:
        sy = year.get("school_year")
        if results.get(sy) != year.get("result"):
            problems.append(f"{sy}: the year result differs from the ledger's")
        problems += _shown_problems(year)
    salt = proof.get("identity_salt")
    identity = student.get("identity")
    if identity and salt and commitment:
        try:
            mine = hmac.new(_b64(salt), canonical_fields(identity), hashlib.sha256).hexdigest()
        except Exception as e:
            mine = f"error {e}"
        if mine != commitment:
            problems.append("the identity differs from the one committed in the ledger")
    if problems:
        s.add(
            _failed(
                "ledger.data",
                "HASH_FAILURE",
                "; ".join(problems[:5]),
                "dữ liệu học bạ khác với sổ cái",
            )
        )
    else:
        s.add(
            _passed(
                "ledger.data",
                f"student, {len(results)} year result(s) and identity match the events",
                "học sinh, kết quả cả năm và thông tin cá nhân khớp với sổ cái",
            )
        )


# -- entry points -------------------------------------------------------------------------------


def verify_pdf(data: bytes, trust: VerifyTrust, *, limits: Limits = Limits()) -> Report:
    """Verify an issued transcript in this process; never raises for anything about ``data``."""
    s = _State(bytes(data), trust, limits)
    try:
        if len(s.data) > limits.max_bytes:
            s.add(
                _failed(
                    "pdf.structure",
                    "FORMAT_FAILURE",
                    f"larger than {limits.max_bytes} bytes",
                    "tệp quá lớn",
                )
            )
        elif _structure(s):
            _signatures(s)
            _forms_and_actions(s)
            if _attachments(s):
                _roles(s)
                _data(s)
                _ledger(s)
    except RecursionError:
        s.add(
            _unknown(
                "verification",
                "GENERIC",
                "the file nests too deep to be checked",
                "tệp lồng nhau quá sâu",
            )
        )
    except Exception as e:  # a verdict, never a traceback (DESIGN.md §5)
        s.add(
            _unknown(
                "verification",
                "GENERIC",
                f"verification stopped: {type(e).__name__}: {e}"[:500],
                "quá trình kiểm tra bị dừng",
            )
        )
    return Report(tuple(s.checks), s.document)


def _report_from(d: Mapping[str, Any]) -> Report:
    checks = tuple(
        Check(
            c["name"],
            c["status"],
            c["detail"],
            c.get("detail_vi", ""),
            c.get("subindication"),
            c.get("facts", {}),
        )
        for c in d["checks"]
    )
    return Report(checks, dict(d.get("document", {})))


def _rss_limit(extra: int) -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[0])
    limit = pages * os.sysconf("SC_PAGE_SIZE") + extra
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def verify_file(
    source: Path | str | bytes, trust: VerifyTrust, *, limits: Limits = Limits()
) -> Report:
    """Verify in a forked child bounded in size, CPU and wall time and memory.

    A file above ``limits.max_bytes`` is refused before it is read whole. A child that runs
    out of time or memory, or dies, gives an INDETERMINATE verdict saying so.
    """
    if isinstance(source, bytes):
        data = source
    else:
        path = Path(source)
        size = path.stat().st_size
        if size > limits.max_bytes:
            return Report(
                (
                    _failed(
                        "pdf.structure",
                        "FORMAT_FAILURE",
                        f"{size} bytes, larger than {limits.max_bytes}",
                        "tệp quá lớn",
                    ),
                )
            )
        data = path.read_bytes()
    if len(data) > limits.max_bytes:
        return Report(
            (
                _failed(
                    "pdf.structure",
                    "FORMAT_FAILURE",
                    f"{len(data)} bytes, larger than {limits.max_bytes}",
                    "tệp quá lớn",
                ),
            )
        )
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: limits, verify, write the report, exit without cleanup
        code = 0
        try:
            os.close(read_end)
            _rss_limit(limits.memory)
            cpu = max(1, int(limits.seconds))
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
            report = verify_pdf(data, trust, limits=limits)
            out = json.dumps(report.as_dict(), ensure_ascii=False).encode("utf-8")
        except MemoryError:
            out, code = b'{"error": "memory"}', 3
        except BaseException as e:
            out, code = json.dumps({"error": f"{type(e).__name__}: {e}"[:300]}).encode(), 4
        try:
            view = memoryview(out)
            while view:
                n = os.write(write_end, view)
                view = view[n:]
        finally:
            os._exit(code)
    os.close(write_end)
    chunks: list[bytes] = []
    deadline = time.monotonic() + limits.seconds
    timed_out = False
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([read_end], [], [], left)
            if not ready:
                continue
            chunk = os.read(read_end, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_end)
        if timed_out:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    if timed_out:
        return Report(
            (
                _unknown(
                    "verification",
                    "GENERIC",
                    f"stopped after {limits.seconds:.0f} s",
                    f"dừng sau {limits.seconds:.0f} giây",
                ),
            )
        )
    try:
        answer = json.loads(b"".join(chunks))
    except ValueError:
        answer = {"error": "no report"}
    if "error" in answer or "checks" not in answer:
        why = answer.get("error", "no report")
        if os.WIFSIGNALED(status):
            why = f"killed by signal {os.WTERMSIG(status)} (a resource limit)"
        return Report(
            (
                _unknown(
                    "verification",
                    "GENERIC",
                    f"verification stopped: {why}",
                    "quá trình kiểm tra bị dừng (giới hạn tài nguyên)",
                ),
            )
        )
    return _report_from(answer)


# -- online: freshness ------------------------------------------------------------------------


def _issuer_base(report: Report) -> str | None:
    from urllib.parse import urlsplit

    url = report.document.get("verify_url")
    if not isinstance(url, str):
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def verify_online(
    report: Report, trust: VerifyTrust, *, base_url: str | None = None, timeout: float = 10.0
) -> Report:
    """Add the online checks to an offline report: is this file a current issue, and is the
    issuer's log still consistent with the checkpoint in the proof?

    ``online.status``: the issuer lists the record's issues; this file's SHA-256 must be
    one of them and not superseded. ``online.checkpoint``: the issuer's latest checkpoint,
    signed by a trusted log key and cosigned by the trusted witnesses, must extend the
    proof's checkpoint (RFC 9162 §2.1.4 consistency proof). Unreachable: INDETERMINATE.
    """
    import httpx

    base = base_url or _issuer_base(report)
    record = report.document.get("record")
    sha = report.document.get("sha256")
    if base is None or record is None or sha is None:
        extra = (
            _unknown(
                "online.status",
                "TRY_LATER",
                "no issuer address or record to ask",
                "không có địa chỉ nơi cấp để hỏi",
            ),
        )
        return Report(report.checks + extra, report.document)
    checks: list[Check] = []
    try:
        with httpx.Client(timeout=timeout) as client:
            answer = client.get(f"{base}/api/v1/transcripts/{record}")
            if answer.status_code == 404:
                checks.append(
                    _failed(
                        "online.status",
                        "GENERIC",
                        "the issuer does not know this record",
                        "nơi cấp không có hồ sơ này",
                    )
                )
            else:
                answer.raise_for_status()
                issues = answer.json()["transcripts"]
                mine = next((t for t in issues if t.get("sha256") == sha), None)
                if mine is None:
                    checks.append(
                        _failed(
                            "online.status",
                            "GENERIC",
                            "the issuer never issued this file (unknown SHA-256)",
                            "nơi cấp chưa từng cấp tệp này",
                        )
                    )
                elif mine.get("superseded"):
                    newer = max(int(t["number"]) for t in issues)
                    checks.append(
                        _failed(
                            "online.status",
                            "REVOKED",
                            f"issue {mine['number']} was superseded (the current issue is "
                            f"{newer}, after a correction)",
                            f"bản cấp lần {mine['number']} đã bị thay thế bởi bản cấp lần {newer}",
                            current=newer,
                        )
                    )
                else:
                    checks.append(
                        _passed(
                            "online.status",
                            f"issue {mine['number']} is the current issue",
                            f"bản cấp lần {mine['number']} là bản hiện hành",
                        )
                    )
            checks.append(_online_checkpoint(client, base, report, trust))
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as e:
        checks.append(
            _unknown(
                "online.status",
                "TRY_LATER",
                f"the issuer could not be asked: {type(e).__name__}: {e}"[:300],
                "không liên hệ được nơi cấp",
            )
        )
    return Report(report.checks + tuple(checks), report.document)


def _online_checkpoint(client: Any, base: str, report: Report, trust: VerifyTrust) -> Check:
    size = report.document.get("checkpoint_size")
    root_b64 = report.document.get("checkpoint_root")
    if not isinstance(size, int) or not isinstance(root_b64, str) or not trust.log_vkeys:
        return _unknown(
            "online.checkpoint",
            "TRY_LATER",
            "no trusted checkpoint to compare with",
            "không có điểm kiểm tra tin cậy để so sánh",
        )
    note = client.get(f"{base}/api/v1/log/checkpoint")
    note.raise_for_status()
    witnesses = [CosignatureVerifier.from_vkey(k) for k in trust.witness_vkeys]
    latest = None
    for vkey in trust.log_vkeys:
        try:
            latest = require_witnesses(
                note.content,
                NoteVerifier.from_vkey(vkey),
                witnesses,
                min(trust.witness_quorum, len(witnesses)),
            )
            break
        except (SigningError, ValueError):
            continue
    if latest is None:
        return _failed(
            "online.checkpoint",
            "GENERIC",
            "the issuer's latest checkpoint is not signed and witnessed by trusted keys",
            "điểm kiểm tra mới nhất không có chữ ký tin cậy",
        )
    if latest.size < size:
        return _failed(
            "online.checkpoint",
            "GENERIC",
            f"the issuer's log shrank from {size} to {latest.size} events",
            "sổ cái của nơi cấp bị rút ngắn",
        )
    if latest.size > size:
        answer = client.get(
            f"{base}/api/v1/log/consistency", params={"old": size, "new": latest.size}
        )
        answer.raise_for_status()
        proof = [base64.b64decode(h) for h in answer.json()["consistency_proof"]]
        try:
            merkle.verify_consistency(
                size, latest.size, proof, base64.b64decode(root_b64), latest.root
            )
        except SigningError as e:
            return _failed(
                "online.checkpoint",
                "GENERIC",
                f"the issuer's log is not consistent with the proof's checkpoint: {e}",
                "sổ cái của nơi cấp không nhất quán với bằng chứng trong học bạ",
            )
    return _passed(
        "online.checkpoint",
        f"the issuer's witnessed log of {latest.size} events extends the proof's ({size})",
        "sổ cái của nơi cấp nhất quán với bằng chứng trong học bạ",
    )
