"""PAdES signing (signing.pades): approval signatures, the lock, B-LT and B-LTA, any key.

Every document is checked with pyHanko's ``ades_lta_validation`` offline, with the
revocation data the document carries and nothing else.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fpdf import FPDF

from signing import pades
from signing.algorithms import Algorithm
from signing.keys import SoftwareSigner, load_private_key
from signing.pki import DemoPKI
from signing.tsa import TimeStampAuthority, create_demo_tsa, load_demo_tsa
from tests.conftest import PASSPHRASE
from tests.integration.softhsm import SoftHSMToken, softhsm_fixture  # noqa: F401

BOX = {
    "GVCN": (40, 40, 210, 110),
    "HieuTruong": (215, 40, 385, 110),
    "DauTruong": (390, 40, 560, 110),
}


@pytest.fixture(scope="module")
def tsa(pki: DemoPKI, tmp_path_factory: pytest.TempPathFactory) -> TimeStampAuthority:
    directory = tmp_path_factory.mktemp("pades") / "tsa"
    create_demo_tsa(
        directory,
        issuer_cert=pki.so,
        issuer_key=load_private_key(pki.ca_key_path("so"), PASSPHRASE),
        passphrase=PASSPHRASE,
        now=datetime.now(UTC),
    )
    return load_demo_tsa(directory, PASSPHRASE, [pki.so])


@pytest.fixture(scope="module")
def font() -> Path:
    from projections.issuance import appearance_font

    return appearance_font()


@pytest.fixture(scope="module")
def document(font: Path) -> bytes:
    from projections import fonts

    pdf = FPDF()
    pdf.add_page()
    pdf.add_font("Serif", "", str(fonts.serif_path("regular")))
    pdf.set_font("Serif", size=12)
    pdf.cell(text="Học bạ — Nguyễn Văn Á, lớp 6A1")
    return bytes(pdf.output())


def _crls(pki: DemoPKI) -> list[bytes]:
    out = []
    for name in ("root", "so", "school"):
        with pki.authority(name) as ca:
            out.append(ca.crl(datetime.now(UTC)))
    return out


def _request(
    pki: DemoPKI, name: str, signer: object, font: Path, **kw: object
) -> pades.SignatureRequest:
    return pades.SignatureRequest(
        field_name=name,
        signer=signer,  # type: ignore[arg-type]
        chain=(pki.school, pki.so),
        page=0,
        box=BOX[name],
        lines=("Trần Thị Hương", "Hiệu trưởng"),
        font=font,
        **kw,  # type: ignore[arg-type]
    )


def _finish(pdf: bytes, pki: DemoPKI, tsa: TimeStampAuthority) -> bytes:
    pdf = pades.add_validation_data(
        pdf,
        certificates=[pki.root, pki.so, pki.school, tsa.certificate, pki.seal, *pki.staff.values()],
        crls=_crls(pki),
    )
    return pades.timestamp_document(pdf, timestamper=tsa.pyhanko_timestamper())


def test_three_signatures_then_lta_pass_ades_lta_validation(
    pki: DemoPKI, tsa: TimeStampAuthority, font: Path, document: bytes
) -> None:
    ts = tsa.pyhanko_timestamper()
    pdf = pades.sign(document, _request(pki, "GVCN", pki.signer_for("GV001"), font), timestamper=ts)
    pdf = pades.sign(
        pdf,
        _request(
            pki,
            "HieuTruong",
            pki.signer_for("HT001"),
            font,
            lock="others",
            pending=(("DauTruong", 0, BOX["DauTruong"]),),
        ),
        timestamper=ts,
    )
    pdf = pades.sign(
        pdf, _request(pki, "DauTruong", pki.seal_signer(), font, lock="all"), timestamper=ts
    )
    pdf = _finish(pdf, pki, tsa)
    statuses = {s.field_name: s for s in pades.lta_statuses(pdf, pki.trust_roots())}
    assert set(statuses) == {"GVCN", "HieuTruong", "DauTruong"}
    assert all(s.passed for s in statuses.values()), statuses
    # After the locking seal only validation data and a document time-stamp came.
    assert statuses["DauTruong"].modification_level == "LTA_UPDATES"
    # The principal's signature allowed only the seal's field to be signed after it.
    assert statuses["HieuTruong"].modification_level == "FORM_FILLING"
    assert pdf.count(b"/DSS") >= 1 and b"/DocTimeStamp" in pdf


@pytest.mark.parametrize("code", ["GV002", "GV003"])  # Ed25519, RSA-2048
def test_other_key_types_sign_and_validate(
    code: str, pki: DemoPKI, tsa: TimeStampAuthority, font: Path, document: bytes
) -> None:
    signer = pki.signer_for(code)
    pdf = pades.sign(
        document,
        _request(pki, "HieuTruong", signer, font, lock="all"),
        timestamper=tsa.pyhanko_timestamper(),
    )
    [status] = pades.lta_statuses(_finish(pdf, pki, tsa), pki.trust_roots())
    assert status.passed, status


def test_rsa_pkcs1v15_signer_validates(
    pki: DemoPKI, tsa: TimeStampAuthority, font: Path, document: bytes
) -> None:
    key = load_private_key(pki.staff_key_path("GV003"), PASSPHRASE)
    signer = SoftwareSigner(key, pki.staff["GV003"], Algorithm.RSA_PKCS1V15_SHA256)
    pdf = pades.sign(
        document,
        _request(pki, "GVCN", signer, font, lock="all"),
        timestamper=tsa.pyhanko_timestamper(),
    )
    [status] = pades.lta_statuses(_finish(pdf, pki, tsa), pki.trust_roots())
    assert status.passed, status


def test_a_signature_after_the_lock_breaks_the_locking_signature(
    pki: DemoPKI, tsa: TimeStampAuthority, font: Path, document: bytes
) -> None:
    ts = tsa.pyhanko_timestamper()
    pdf = pades.sign(
        document,
        _request(pki, "HieuTruong", pki.signer_for("HT001"), font, lock="all"),
        timestamper=ts,
    )
    after = pades.sign(pdf, _request(pki, "GVCN", pki.signer_for("GV001"), font), timestamper=ts)
    statuses = {
        s.field_name: s for s in pades.lta_statuses(_finish(after, pki, tsa), pki.trust_roots())
    }
    assert not statuses["HieuTruong"].passed
    # pyHanko flags the new field as an update of the locked document.
    assert statuses["HieuTruong"].modification_level == "OTHER"


def test_pkcs11_key_signs_a_pades_signature(
    softhsm: SoftHSMToken,
    pki: DemoPKI,
    tsa: TimeStampAuthority,
    font: Path,
    document: bytes,
) -> None:
    from signing.pkcs11 import Pkcs11Token
    from tests.integration.test_pkcs11 import token_certificate

    label = f"pades-{datetime.now(UTC).timestamp()}"
    with Pkcs11Token(*softhsm) as token:
        token.generate_key(label, "ec-p256")
        ca_key = load_private_key(pki.ca_key_path("school"), PASSPHRASE)
        cert = token_certificate(
            token, label, pki.school, ca_key, staff_code="GV900", organisation=pki.school_name
        )
        pdf = pades.sign(
            document,
            _request(pki, "GVCN", token.signer(label, cert), font, lock="all"),
            timestamper=tsa.pyhanko_timestamper(),
        )
    pdf = pades.add_validation_data(
        pdf, certificates=[pki.root, pki.so, pki.school, tsa.certificate, cert], crls=_crls(pki)
    )
    pdf = pades.timestamp_document(pdf, timestamper=tsa.pyhanko_timestamper())
    [status] = pades.lta_statuses(pdf, pki.trust_roots())
    assert status.passed, status
    assert "Hoàng Văn Token" in status.signer


@pytest.mark.parametrize(
    "data",
    [b"", b"not a pdf", b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n", b"%PDF-1.4\n" + b"\0" * 64],
)
def test_malformed_pdf_is_refused_with_a_clear_error(
    data: bytes, pki: DemoPKI, tsa: TimeStampAuthority, font: Path
) -> None:
    with pytest.raises(pades.PadesError, match="PDF"):
        pades.sign(
            data,
            _request(pki, "GVCN", pki.signer_for("GV001"), font),
            timestamper=tsa.pyhanko_timestamper(),
        )
