"""PAdES signing of issued documents (ETSI EN 319 142-1), on pyHanko.

The sequence a học bạ số goes through (DESIGN.md §4, DOMAIN.md §5.3), each step an
incremental update of the one before:

1. approval signatures, PAdES B-T: a CAdES signature (``ETSI.CAdES.detached``) in a
   visible signature field, with a signature time-stamp (RFC 3161) as unsigned attribute;
2. the last signature locks the document: its field carries a FieldMDP ``/Lock`` with
   ``/P 1`` (no changes; ISO 32000-2 §12.7.5.5, 12.8.4.4), or ``/P 2`` with every field but
   the ones still to be signed locked when a further signature (the school seal) follows;
3. validation data (PAdES B-LT): a DSS with the certificates, CRLs and OCSP responses of
   every signer and time-stamp, passed in by the caller (:func:`add_validation_data`);
4. a document time-stamp (PAdES B-LTA, :func:`timestamp_document`).

Key material stays behind :class:`signing.keys.Signer`, so a signature key may be a software
key or a PKCS#11 object: :class:`CmsSigner` adapts it to pyHanko's ``Signer``. Space for
each CMS object is reserved up front (``bytes_reserved``), so pyHanko signs exactly once.
"""

from __future__ import annotations

import datetime as dt
import io
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.layout import AxisAlignment, Margins, SimpleBoxLayoutRule
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.stamp import TextStampStyle
from pyhanko_certvalidator.registry import SimpleCertificateStore

from signing.algorithms import Algorithm
from signing.errors import SigningError
from signing.keys import Signer

__all__ = [
    "DOC_TIMESTAMP_FIELD",
    "CmsSigner",
    "LtaStatus",
    "PadesError",
    "SignatureRequest",
    "add_validation_data",
    "lta_statuses",
    "sign",
    "timestamp_document",
]

DOC_TIMESTAMP_FIELD = "DocTimeStamp"
"""Name of the B-LTA document time-stamp field."""

#: CMS space reserved besides the certificates: signed attributes, the signature value and
#: the signature time-stamp token with its TSA certificates, DER bytes.
_CMS_OVERHEAD = 6144

Lock = Literal["none", "others", "all"]

#: Vietnam time (UTC+7), shown in signature appearances.
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


class PadesError(SigningError):
    """A PDF could not be signed, validated into a DSS or time-stamped."""


def _asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER))


def _mechanism(algorithm: Algorithm) -> tuple[str, Any]:
    # One mapping of our algorithms to CMS identifiers, shared with the embedded TSA.
    from signing.tsa import cms_algorithms

    return cms_algorithms(algorithm)


class CmsSigner(signers.Signer):  # type: ignore[misc]  # pyHanko: untyped base
    """A pyHanko CMS signer whose private-key operation is a :class:`signing.keys.Signer`.

    ``chain`` are the certificates to embed besides the signer's own (issuing CAs, not the
    root). Raw signatures come from ``signer.sign`` over the DER of the signed attributes,
    exactly as CMS (RFC 5652 §5.4) wants them.
    """

    def __init__(self, signer: Signer, chain: Iterable[x509.Certificate] = ()) -> None:
        self.digest, mechanism = _mechanism(signer.algorithm)
        registry = SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
            [_asn1(c) for c in chain]
        )
        super().__init__(
            signing_cert=_asn1(signer.certificate),
            cert_registry=registry,
            signature_mechanism=mechanism,
            embed_roots=False,
        )
        self._signer = signer

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        return self._signer.sign(data)


_SIGNERS: dict[tuple[int, tuple[bytes, ...]], tuple[Signer, CmsSigner]] = {}


def _cms_signer(signer: Signer, chain: tuple[x509.Certificate, ...]) -> CmsSigner:
    """One :class:`CmsSigner` per key and chain in a process (its registry is built once)."""
    key = (id(signer), tuple(c.fingerprint(hashes.SHA256()) for c in chain))
    hit = _SIGNERS.get(key)
    if hit is None or hit[0] is not signer:
        hit = _SIGNERS[key] = (signer, CmsSigner(signer, chain))
    return hit[1]


@dataclass(frozen=True)
class SignatureRequest:
    """One visible PAdES signature: who signs, where, and what it locks."""

    field_name: str
    """Name of the signature field (created by this signature unless it exists, empty)."""
    signer: Signer
    """The private-key operation, with the signer's certificate."""
    chain: tuple[x509.Certificate, ...]
    """Issuing CA certificates to embed in the CMS object (root excluded)."""
    page: int
    """0-based page of the visible signature."""
    box: tuple[int, int, int, int]
    """Field rectangle (x1, y1, x2, y2) in PDF points, origin bottom-left."""
    lines: tuple[str, ...]
    """Text of the appearance, one line each (name, title…); the signing time follows,
    in :attr:`zone` (the time-stamp token holds the proven time)."""
    reason: str | None = None
    location: str | None = None
    lock: Lock = "none"
    """``none``: an approval signature that locks nothing; ``others``: lock every field but
    :attr:`pending` and allow only signing them (``/P 2``); ``all``: lock the document
    (``/P 1``, no changes but validation data and document time-stamps)."""
    pending: tuple[tuple[str, int, tuple[int, int, int, int]], ...] = ()
    """Fields still to be signed after this one (name, page, box): created empty in this
    revision, so that a later signature fills an existing field under the lock."""
    time_label: str = "Ký lúc"
    zone: dt.tzinfo = VIETNAM
    """Time zone of the signing time shown in the appearance."""
    font: Path | None = None
    """OpenType font for the appearance (must cover the text); None for pyHanko's default."""


def _field_spec(request: SignatureRequest) -> fields.SigFieldSpec:
    lock_spec: fields.FieldMDPSpec | None = None
    perm: fields.MDPPerm | None = None
    if request.lock == "all":
        lock_spec = fields.FieldMDPSpec(action=fields.FieldMDPAction.ALL)
        perm = fields.MDPPerm.NO_CHANGES
    elif request.lock == "others":
        lock_spec = fields.FieldMDPSpec(
            action=fields.FieldMDPAction.EXCLUDE, fields=[name for name, _, _ in request.pending]
        )
        perm = fields.MDPPerm.FILL_FORMS
    return fields.SigFieldSpec(
        sig_field_name=request.field_name,
        on_page=request.page,
        box=request.box,
        field_mdp_spec=lock_spec,
        doc_mdp_update_value=perm,
    )


def _reserve(certs: Iterable[x509.Certificate]) -> int:
    """Hex digits to reserve for a CMS object embedding ``certs`` (twice the DER bytes)."""
    size = _CMS_OVERHEAD + sum(len(c.public_bytes(Encoding.DER)) for c in certs)
    return 2 * size


_PROGRAMS: dict[str, tuple[bytes, int]] = {}


def _font_program(path: str) -> tuple[bytes, int]:
    """The font file Flate-compressed, and its length (read once per process)."""
    hit = _PROGRAMS.get(path)
    if hit is None:
        raw = Path(path).read_bytes()
        hit = _PROGRAMS[path] = (zlib.compress(raw, 6), len(raw))
    return hit


@dataclass(frozen=True)
class _WholeFont(GlyphAccumulatorFactory):  # type: ignore[misc]  # pyHanko: untyped base
    """pyHanko's OpenType engine, embedding the font file as it is instead of a subset.

    For a font already cut down to the characters the appearances use: pyHanko's per
    signature subsetting and re-encoding of the font program (fontTools compile and save)
    then costs more than the CMS signature itself. Glyph ids stay those of the file, which
    the CIDToGIDMap /Identity of pyHanko's CIDFontType2 expects.
    """

    def create_font_engine(self, writer: Any, obj_stream: Any = None) -> Any:
        engine = super().create_font_engine(writer, obj_stream)
        engine._subset_created = True  # nothing to subset: embed the file itself
        cid: Any = engine.cidfont_obj
        compressed, length = _font_program(self.font_file)

        def set_font_file(w: Any) -> Any:
            stream = generic.StreamObject(
                {
                    generic.pdf_name("/Filter"): generic.pdf_name("/FlateDecode"),
                    # ISO 32000-1 Table 127: the decoded length of a TrueType program.
                    generic.pdf_name("/Length1"): generic.NumberObject(length),  # type: ignore[no-untyped-call]
                },
                encoded_data=compressed,
            )
            ref = w.add_object(stream)
            cid._font_descriptor[generic.pdf_name("/FontFile2")] = ref
            return ref

        cid.set_font_file = set_font_file
        return engine


_STYLES: dict[tuple[Path | None, str], TextStampStyle] = {}
_TIME = "%d/%m/%Y %H:%M:%S %z"


def _style(font: Path | None, stamp_text: str) -> TextStampStyle:
    key = (font, stamp_text)
    style = _STYLES.get(key)
    if style is None:
        box = (
            TextBoxStyle(font=_WholeFont(str(font), font_size=8), font_size=8, leading=11)
            if font is not None
            else TextBoxStyle(font_size=8, leading=11)
        )
        style = _STYLES[key] = TextStampStyle(
            stamp_text=stamp_text,
            text_box_style=box,
            # The page frames the box; a border here would draw a second frame.
            border_width=0,
            inner_content_layout=SimpleBoxLayoutRule(
                x_align=AxisAlignment.ALIGN_MID,
                y_align=AxisAlignment.ALIGN_MID,
                margins=Margins.uniform(4),  # type: ignore[no-untyped-call]
            ),
        )
    return style


class _PdfA3Signer(signers.PdfSigner):  # type: ignore[misc]  # pyHanko: untyped base
    """``PdfSigner`` that keeps the file a PDF 1.7 document (PDF/A-3 is based on it).

    pyHanko declares the ISO/TS 32002 extension for ECDSA and EdDSA keys, which raises the
    document's version to PDF 2.0 in the catalog. PAdES signatures with these algorithms
    are defined for PDF 1.7 by ETSI EN 319 142-1 (with the ESIC extension pyHanko still
    declares), so only the ESIC declaration is kept.
    """

    def register_extensions(self, pdf_out: Any, *, md_algorithm: str) -> None:
        signers.pdf_signer._ensure_esic_ext(pdf_out)


def _writer(pdf: bytes) -> IncrementalPdfFileWriter:
    try:
        return IncrementalPdfFileWriter(io.BytesIO(pdf), strict=True)
    except (PdfError, ValueError, KeyError, TypeError) as e:
        raise PadesError(f"not a PDF that can be signed: {e}") from None


def sign(pdf: bytes, request: SignatureRequest, *, timestamper: Any) -> bytes:
    """Add one PAdES B-T signature described by ``request`` to ``pdf``; return the new bytes.

    ``timestamper`` is a pyHanko ``TimeStamper`` (for the embedded TSA:
    :meth:`signing.tsa.TimeStampAuthority.pyhanko_timestamper`). Raises
    :class:`PadesError` when pyHanko refuses (an unknown or already signed field, a lock
    that forbids this signature, a malformed PDF).
    """
    writer = _writer(pdf)
    for i, (name, page, box) in enumerate(request.pending):
        # The last signature locks the document: its field is born with the lock, which
        # pyHanko applies when that field is signed.
        last = i == len(request.pending) - 1
        fields.append_signature_field(
            writer,
            fields.SigFieldSpec(
                sig_field_name=name,
                on_page=page,
                box=box,
                field_mdp_spec=fields.FieldMDPSpec(action=fields.FieldMDPAction.ALL)
                if last
                else None,
                doc_mdp_update_value=fields.MDPPerm.NO_CHANGES if last else None,
            ),
        )
    existing = any(
        name == request.field_name and value is None
        for name, value, _ in fields.enumerate_sig_fields(writer.prev, filled_status=None)
    )
    lines = [line.replace("%", "%%") for line in request.lines]
    stamp_text = "\n".join([*lines, f"{request.time_label}: %(local_time)s"])
    signer = _cms_signer(request.signer, request.chain)
    meta = signers.PdfSignatureMetadata(
        field_name=request.field_name,
        md_algorithm=signer.digest,
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=request.reason,
        location=request.location,
        docmdp_permissions=(
            fields.MDPPerm.NO_CHANGES if request.lock == "all" else fields.MDPPerm.FILL_FORMS
        ),
    )
    pdf_signer = _PdfA3Signer(
        meta,
        signer,
        timestamper=timestamper,
        stamp_style=_style(request.font, stamp_text),
        new_field_spec=None if existing else _field_spec(request),
    )
    out = io.BytesIO()
    try:
        pdf_signer.sign_pdf(
            writer,
            bytes_reserved=_reserve([request.signer.certificate, *request.chain]),
            output=out,
            appearance_text_params={"local_time": dt.datetime.now(request.zone).strftime(_TIME)},
        )
    except (PyHankoSigningError, PdfError, ValueError, KeyError) as e:
        raise PadesError(f"cannot sign field {request.field_name!r}: {e}") from None
    return out.getvalue()


def add_validation_data(
    pdf: bytes,
    *,
    certificates: Iterable[x509.Certificate],
    crls: Iterable[bytes] = (),
    ocsp_responses: Iterable[bytes] = (),
) -> bytes:
    """Add a DSS (PAdES B-LT, ETSI EN 319 142-1 §5.4.2) with the given validation data.

    No path validation happens here: the caller decides what the chains and their
    revocation data are (the issuer knows its own CAs), which keeps issuance cheap.
    """
    writer = _writer(pdf)
    try:
        DocumentSecurityStore.supply_dss_in_writer(
            writer,
            None,
            certs=[_asn1(c) for c in certificates],
            crls=[asn1_crl.CertificateList.load(c) for c in crls],
            ocsps=[asn1_ocsp.OCSPResponse.load(o) for o in ocsp_responses],
        )
        out = io.BytesIO()
        writer.write(out)  # type: ignore[no-untyped-call]
    except (PdfError, ValueError, KeyError) as e:
        raise PadesError(f"cannot add validation data: {e}") from None
    return out.getvalue()


def timestamp_document(
    pdf: bytes, *, timestamper: Any, field_name: str = DOC_TIMESTAMP_FIELD, reserve: int = 16384
) -> bytes:
    """Add a document time-stamp (PAdES B-LTA, ETSI EN 319 142-1 §5.5) to ``pdf``."""
    writer = _writer(pdf)
    stamper = signers.PdfTimeStamper(timestamper, field_name=field_name)
    out = io.BytesIO()
    try:
        stamper.timestamp_pdf(writer, "sha256", bytes_reserved=reserve, output=out)
    except (PyHankoSigningError, PdfError, ValueError, KeyError) as e:
        raise PadesError(f"cannot time-stamp the document: {e}") from None
    return out.getvalue()


@dataclass(frozen=True)
class LtaStatus:
    """pyHanko's AdES LTA validation (ETSI EN 319 102-1 §5.6.3) of one signature."""

    field_name: str
    passed: bool
    """``bottom_line`` of pyHanko's status and an AdES indication of PASSED."""
    indication: str
    """The AdES status and sub-indication, e.g. ``AdESPassed.OK``."""
    modification_level: str
    """What changed after the signature: ``NONE``, ``LTA_UPDATES``, ``FORM_FILLING``…"""
    docmdp_ok: bool | None
    signer: str


def lta_statuses(
    pdf: bytes, roots: Iterable[x509.Certificate], *, now: Any = None
) -> list[LtaStatus]:
    """Run pyHanko's ``ades_lta_validation`` on every signature, offline.

    Revocation data must be in the document (REQUIRE_REVINFO, local only); ``roots`` are
    the trust anchors. A baseline check for tests and benchmarks; the verifier's own policy
    is stricter (DESIGN.md §5).
    """
    import asyncio

    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation.ades import ades_lta_validation
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
        trust_manager=SimpleTrustManager.build(trust_roots=[_asn1(r) for r in roots]),
        revinfo_policy=CertRevTrustPolicy(REQUIRE_REVINFO),
    )
    spec = PdfSignatureValidationSpec(
        SignatureValidationSpec(
            cert_validation_policy=policy,
            revinfo_gathering_policy=RevocationInfoGatheringSpec(
                online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY
            ),
        )
    )
    reader = PdfFileReader(io.BytesIO(pdf), strict=True)
    out = []
    for sig in reader.embedded_regular_signatures:
        result = asyncio.run(ades_lta_validation(sig, spec))
        status = result.api_status
        indication = str(result.ades_subindic)
        out.append(
            LtaStatus(
                field_name=sig.field_name,
                passed=bool(status is not None and status.bottom_line)
                and indication.startswith("AdESPassed"),
                indication=indication,
                modification_level=(
                    status.modification_level.name
                    if status is not None and status.modification_level is not None
                    else "UNKNOWN"
                ),
                docmdp_ok=None if status is None else status.docmdp_ok,
                signer=(status.signing_cert.subject.human_friendly if status is not None else ""),
            )
        )
    return out
