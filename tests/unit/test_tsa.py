"""Tests for signing.tsa: the embedded RFC 3161 TSA and the token verifier."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest
from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from signing import keys, pki, tsa
from signing.algorithms import Algorithm, PrivateKey
from signing.errors import (
    BadSignature,
    CertificateError,
    CertificateNotValid,
    HashMismatch,
    VerificationError,
)

NOW = dt.datetime(2025, 9, 5, 8, 0, 17, 654321, tzinfo=dt.UTC)
PASSPHRASE = b"tsa test passphrase, not a secret"
DATA = "Học bạ số: Nguyễn Văn An, lớp 9A, năm học 2024-2025".encode()
OTHER_POLICY = "1.3.6.1.4.1.32473.3161.99"


class TimeStampResp(core.Sequence):  # type: ignore[misc]
    """RFC 3161 ``TimeStampResp``; asn1crypto's own wrongly requires the token."""

    _fields: ClassVar[list[object]] = [
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


def fixed_clock() -> dt.datetime:
    return NOW


@dataclass
class Env:
    demo: pki.DemoPKI
    school_key: PrivateKey

    def tsa_cert(
        self,
        key: PrivateKey,
        *,
        not_before: dt.datetime = NOW - dt.timedelta(days=1),
        not_after: dt.datetime = NOW + dt.timedelta(days=365),
    ) -> x509.Certificate:
        return tsa.issue_tsa_certificate(
            key.public_key(),
            name="Dịch vụ cấp dấu thời gian (demo)",
            organisation=self.demo.school_name,
            issuer_cert=self.demo.school,
            issuer_key=self.school_key,
            not_before=not_before,
            not_after=not_after,
        )

    def authority(
        self,
        key_type: keys.KeyType = "ec-p256",
        algorithm: Algorithm | None = None,
        *,
        chain: bool = True,
        clock: Callable[[], dt.datetime] = fixed_clock,
    ) -> tsa.TimeStampAuthority:
        key = keys.generate_private_key(key_type)
        signer = keys.SoftwareSigner(key, self.tsa_cert(key), algorithm)
        return tsa.TimeStampAuthority(
            signer, self.demo.intermediates()[::-1] if chain else [], clock=clock
        )

    def verify(self, token: bytes, data: bytes = DATA, **kwargs: object) -> dt.datetime:
        return tsa.verify_token(
            token,
            data,
            trust_roots=self.demo.trust_roots(),
            intermediates=self.demo.intermediates(),
            **kwargs,  # type: ignore[arg-type]
        )


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Env:
    demo = pki.create_demo_pki(
        tmp_path_factory.mktemp("tsa-pki"),
        school_name="Trường THCS Dấu Thời Gian",
        school_code="01000777",
        province="Hà Nội",
        staff=[],
        passphrase=PASSPHRASE,
        now=NOW,
    )
    return Env(demo, keys.load_private_key(demo.ca_key_path("school"), PASSPHRASE))


@pytest.fixture(scope="module")
def authority(env: Env) -> tsa.TimeStampAuthority:
    return env.authority()


def grant(authority: tsa.TimeStampAuthority, data: bytes = DATA, **kwargs: bool) -> bytes:
    request, _ = tsa.request_for(data, **kwargs)
    ok, response = authority.respond_or_reject(request)
    assert ok
    return tsa.token_from_response(response, request)


def request_der(**overrides: object) -> bytes:
    fields: dict[str, object] = {
        "version": 1,
        "message_imprint": {
            "hash_algorithm": {"algorithm": "sha256"},
            "hashed_message": hashlib.sha256(DATA).digest(),
        },
        "cert_req": True,
    }
    fields.update(overrides)
    return bytes(tsp.TimeStampReq(fields).dump())


def signer_info(token: bytes) -> cms.SignerInfo:
    return cms.ContentInfo.load(token)["content"]["signer_infos"][0]


# --- the certificate -------------------------------------------------------------------------


def test_tsa_certificate_extensions(env: Env) -> None:
    key = keys.generate_private_key("ec-p256")
    cert = env.tsa_cert(key)
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical and list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.digital_signature and ku.value.content_commitment
    assert not ku.value.key_cert_sign
    bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and not bc.value.ca
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    school_ski = env.demo.school.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    assert aki.key_identifier == school_ski.value.digest
    ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert ski == x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    assert cert.issuer == env.demo.school.subject
    assert tsa.tsa_certificate_problem(cert) is None
    # It chains to the demo root like any other certificate of the school CA.
    pki.verify_certificate_path(cert, env.demo.intermediates(), env.demo.trust_roots(), NOW)


def test_tsa_certificate_refuses_bad_input(env: Env) -> None:
    key = keys.generate_private_key("ec-p256")
    with pytest.raises(CertificateError):
        tsa.issue_tsa_certificate(
            key.public_key(),
            name="x",
            issuer_cert=env.demo.school,
            issuer_key=env.school_key,
            not_before=NOW.replace(tzinfo=None),
            not_after=NOW + dt.timedelta(days=1),
        )
    with pytest.raises(CertificateError):  # issuer is not a CA
        tsa.issue_tsa_certificate(
            key.public_key(),
            name="x",
            issuer_cert=env.demo.seal,
            issuer_key=env.school_key,
            not_before=NOW,
            not_after=NOW + dt.timedelta(days=1),
        )


# --- granting and verifying ------------------------------------------------------------------


def test_grant_then_verify_returns_gen_time(env: Env, authority: tsa.TimeStampAuthority) -> None:
    token = grant(authority)
    gen_time = env.verify(token)
    assert gen_time == NOW.replace(microsecond=0)
    assert gen_time.tzinfo is not None and gen_time.utcoffset() == dt.timedelta(0)
    assert (
        asyncio.run(
            tsa.async_verify_token(
                token,
                DATA,
                trust_roots=env.demo.trust_roots(),
                intermediates=env.demo.intermediates(),
            )
        )
        == gen_time
    )

    info = tsa.token_info(token)
    assert info.policy == tsa.PLACEHOLDER_POLICY == authority.policy
    assert info.hash_algorithm == "sha256"
    assert info.hashed_message == hashlib.sha256(DATA).digest()
    assert info.tsa_name is not None and "Dịch vụ cấp dấu thời gian" in info.tsa_name

    parsed = cms.ContentInfo.load(token)
    # Our hand-assembled DER is canonical: asn1crypto re-encodes it byte for byte.
    assert parsed.dump(force=True) == token
    tst_info = parsed["content"]["encap_content_info"]["content"].parsed
    assert tst_info["accuracy"].native == {"seconds": 1, "millis": None, "micros": None}
    assert tst_info["ordering"].native is False
    assert tst_info["tsa"].chosen == x509_to_asn1(authority.certificate).subject
    attrs = {a["type"].native: a["values"][0] for a in signer_info(token)["signed_attrs"]}
    assert set(attrs) == {"content_type", "message_digest", "signing_certificate_v2"}
    ess = attrs["signing_certificate_v2"]["certs"][0]
    assert ess["hash_algorithm"]["algorithm"].native == "sha256"
    assert ess["cert_hash"].native == keys.certificate_fingerprint(authority.certificate)


def x509_to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def test_timestamp_in_process(env: Env, authority: tsa.TimeStampAuthority) -> None:
    token = authority.timestamp(DATA)
    assert env.verify(token) == NOW.replace(microsecond=0)
    assert tsa.token_info(token).nonce is None


def test_serials_unique_and_rate(authority: tsa.TimeStampAuthority) -> None:
    requests = [tsa.request_for(DATA + bytes([i % 256]))[0] for i in range(1000)]
    start = time.perf_counter()
    responses = [authority.respond(r) for r in requests]
    elapsed = time.perf_counter() - start
    print(f"\nembedded TSA, EC P-256 software key: {1000 / elapsed:,.0f} timestamps/s (respond)")
    serials = {
        tsa.token_info(bytes(TimeStampResp.load(r)["time_stamp_token"].dump())).serial_number
        for r in responses
    }
    assert len(serials) == 1000
    assert all(0 < s < 2**160 for s in serials)


def test_nonce_echoed(authority: tsa.TimeStampAuthority) -> None:
    request, nonce = tsa.request_for(DATA)
    assert nonce is not None
    token = tsa.token_from_response(authority.respond(request), request)
    assert tsa.token_info(token).nonce == nonce
    request, nonce = tsa.request_for(DATA, nonce=False)
    assert nonce is None
    token = tsa.token_from_response(authority.respond(request), request)
    assert tsa.token_info(token).nonce is None
    # Negative and large nonces are echoed exactly as well.
    for value in (-1, -129, 2**200):
        der = request_der(nonce=value)
        tst = TimeStampResp.load(authority.respond(der))["time_stamp_token"]
        assert tsa.token_info(bytes(tst.dump())).nonce == value


def test_cert_req_respected(env: Env, authority: tsa.TimeStampAuthority) -> None:
    with_cert = grant(authority, cert_req=True)
    certs = cms.ContentInfo.load(with_cert)["content"]["certificates"]
    embedded = [c.chosen.sha256 for c in certs]
    assert keys.certificate_fingerprint(authority.certificate) in embedded
    assert tsa.token_info(with_cert).certificates == 3  # TSA + school CA + Sở CA

    without = grant(authority, cert_req=False)
    assert tsa.token_info(without).certificates == 0
    assert cms.ContentInfo.load(without)["content"]["certificates"].native is None
    # Without the certificate in the token the verifier needs it from the caller.
    with pytest.raises(CertificateNotValid, match="not found"):
        env.verify(without)
    assert tsa.verify_token(
        without,
        DATA,
        trust_roots=env.demo.trust_roots(),
        intermediates=[*env.demo.intermediates(), authority.certificate],
    ) == NOW.replace(microsecond=0)


def test_chain_only_when_given(env: Env) -> None:
    bare = env.authority(chain=False)
    token = grant(bare)
    assert tsa.token_info(token).certificates == 1
    assert env.verify(token) == NOW.replace(microsecond=0)


def test_request_policy(env: Env, authority: tsa.TimeStampAuthority) -> None:
    ok, _ = authority.respond_or_reject(request_der(req_policy=tsa.PLACEHOLDER_POLICY))
    assert ok
    key = keys.generate_private_key("ec-p256")
    signer = keys.SoftwareSigner(key, env.tsa_cert(key))
    custom = tsa.TimeStampAuthority(signer, policy=OTHER_POLICY, clock=fixed_clock)
    token = grant(custom)
    assert tsa.token_info(token).policy == OTHER_POLICY
    assert env.verify(token, accepted_policies={OTHER_POLICY}) == NOW.replace(microsecond=0)
    with pytest.raises(CertificateNotValid, match="policy"):
        env.verify(token, accepted_policies={tsa.PLACEHOLDER_POLICY})
    with pytest.raises(CertificateError):
        tsa.TimeStampAuthority(signer, policy="not an oid")


# --- rejections ------------------------------------------------------------------------------


def _raw_request(
    version: int = 1, oid: str = "2.16.840.1.101.3.4.2.1", digest_len: int = 32
) -> bytes:
    # Hand-made so that version and OID can be anything.
    return bytes(
        tsp.TimeStampReq(
            {
                "version": version,
                "message_imprint": tsp.MessageImprint(
                    {
                        "hash_algorithm": algos.DigestAlgorithm({"algorithm": oid}),
                        "hashed_message": b"\x01" * digest_len,
                    }
                ),
            }
        ).dump()
    )


REJECTIONS = {
    "empty": (b"", "bad_data_format"),
    "not DER": (b"\x30\x03\x02\x01", "bad_data_format"),
    "garbage": (b"GET / HTTP/1.1\r\n\r\n", "bad_data_format"),
    "trailing bytes": (request_der() + b"\x00", "bad_data_format"),
    "wrong structure": (
        bytes(
            tsp.MessageImprint(
                {"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": b"1" * 32}
            ).dump()
        ),
        "bad_data_format",
    ),
    "version 2": (_raw_request(version=2), "bad_request"),
    "version 0": (_raw_request(version=0), "bad_request"),
    "sha1": (_raw_request(oid="1.3.14.3.2.26", digest_len=20), "bad_alg"),
    "md5": (_raw_request(oid="1.2.840.113549.2.5", digest_len=16), "bad_alg"),
    "unknown oid": (_raw_request(oid="1.2.3.4.5.6"), "bad_alg"),
    "sha256 short": (_raw_request(digest_len=31), "bad_data_format"),
    "sha256 long": (_raw_request(digest_len=64), "bad_data_format"),
    "sha512 short": (_raw_request(oid="2.16.840.1.101.3.4.2.3", digest_len=32), "bad_data_format"),
    "policy": (request_der(req_policy=OTHER_POLICY), "unaccepted_policy"),
    "huge nonce": (request_der(nonce=2**1024), "bad_data_format"),
    "extension": (
        request_der(
            extensions=[{"extn_id": "1.2.3.4", "critical": False, "extn_value": b"\x05\x00"}]
        ),
        "unaccepted_extensions",
    ),
}


@pytest.mark.parametrize("case", list(REJECTIONS))
def test_rejections(authority: tsa.TimeStampAuthority, case: str) -> None:
    der, fail_info = REJECTIONS[case]
    ok, response_der = authority.respond_or_reject(der)
    assert ok is False
    assert authority.respond(der) == response_der  # rejections are deterministic
    response = TimeStampResp.load(response_der)
    assert response["status"]["status"].native == "rejection"
    assert response["status"]["fail_info"].native == {fail_info}
    assert response["status"]["status_string"].native  # a human-readable reason
    assert response["time_stamp_token"].native is None
    with pytest.raises(VerificationError, match="refused"):
        tsa.token_from_response(response_der, request_der())


@pytest.mark.parametrize("algorithm", ["sha384", "sha512"])
def test_other_imprint_hashes_granted(
    env: Env, authority: tsa.TimeStampAuthority, algorithm: str
) -> None:
    digest = hashlib.new(algorithm, DATA).digest()
    der = request_der(
        message_imprint={"hash_algorithm": {"algorithm": algorithm}, "hashed_message": digest}
    )
    ok, response = authority.respond_or_reject(der)
    assert ok
    token = tsa.token_from_response(response, der)
    assert env.verify(token) == NOW.replace(microsecond=0)


def test_system_failure_response(authority: tsa.TimeStampAuthority) -> None:
    response = TimeStampResp.load(authority.system_failure_response())
    assert response["status"]["fail_info"].native == {"system_failure"}


# --- verification failures -------------------------------------------------------------------


def test_token_over_other_data(env: Env, authority: tsa.TimeStampAuthority) -> None:
    token = grant(authority)
    with pytest.raises(HashMismatch):
        env.verify(token, DATA + b" ")


def test_every_tampered_byte_is_caught(env: Env) -> None:
    # Without an embedded chain every byte of the token is covered by the signature, the ESS
    # certificate hash or a structural check; the embedded CA certificates, by contrast, are
    # unsigned extras by CMS design (a path through the caller's copies still validates).
    token = grant(env.authority(chain=False))
    survivors = []
    for i in range(len(token)):
        for mask in (0x01, 0x80):
            tampered = bytearray(token)
            tampered[i] ^= mask
            try:
                env.verify(bytes(tampered))
            except VerificationError:
                continue
            survivors.append((i, mask))
    assert survivors == []


def test_garbage_tokens(env: Env, authority: tsa.TimeStampAuthority) -> None:
    response = authority.respond(request_der())
    for bad in (b"", b"\x00", b"\x30\x00", DATA, response, response[:-1]):
        with pytest.raises(BadSignature):
            env.verify(bad)
    with pytest.raises(BadSignature):
        env.verify("not bytes")  # type: ignore[arg-type]


def test_untrusted_root(env: Env, authority: tsa.TimeStampAuthority, tmp_path: Path) -> None:
    other = pki.create_demo_pki(
        tmp_path / "other",
        school_name="Trường Khác",
        school_code="02000888",
        province="Huế",
        staff=[],
        passphrase=PASSPHRASE,
        now=NOW,
    )
    token = grant(authority)
    with pytest.raises(CertificateNotValid, match="untrusted"):
        tsa.verify_token(token, DATA, trust_roots=other.trust_roots(), intermediates=[])


def test_expired_tsa_certificate(env: Env) -> None:
    token = grant(env.authority())
    later = NOW + dt.timedelta(days=400)
    with pytest.raises(CertificateNotValid, match="expired"):
        env.verify(token, moment=later)


def bad_eku_certificate(
    env: Env, key: PrivateKey, eku: tuple[list[x509.ObjectIdentifier], bool] | None
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Not a TSA")]))
        .issuer_name(env.demo.school.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, False, False, False, False),
            critical=True,
        )
    )
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku[0]), critical=eku[1])
    return builder.sign(env.school_key, hashes.SHA256())


EKU_CASES = {
    "no eku": None,
    "not critical": ([ExtendedKeyUsageOID.TIME_STAMPING], False),
    "extra purpose": ([ExtendedKeyUsageOID.TIME_STAMPING, ExtendedKeyUsageOID.CODE_SIGNING], True),
    "wrong purpose": ([ExtendedKeyUsageOID.EMAIL_PROTECTION], True),
}


@pytest.mark.parametrize("case", list(EKU_CASES))
def test_tsa_certificate_without_critical_eku_is_rejected(
    env: Env, case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = keys.generate_private_key("ec-p256")
    cert = bad_eku_certificate(env, key, EKU_CASES[case])
    signer = keys.SoftwareSigner(key, cert)
    assert tsa.tsa_certificate_problem(cert) is not None
    with pytest.raises(CertificateError):
        tsa.TimeStampAuthority(signer)
    # A TSA that skipped its own check still cannot get such a token past the verifier.
    with monkeypatch.context() as m:
        m.setattr(tsa, "tsa_certificate_problem", lambda cert: None)
        rogue = tsa.TimeStampAuthority(signer, clock=fixed_clock)
    token = grant(rogue)
    with pytest.raises(CertificateNotValid, match="extended key usage"):
        env.verify(token)


# --- algorithms ------------------------------------------------------------------------------

ALGORITHMS = {
    "ed25519": ("ed25519", None, "ed25519", "sha512"),
    "rsa-pss": ("rsa-2048", Algorithm.RSA_PSS_SHA256, "rsassa_pss", "sha256"),
    "rsa-pkcs1v15": ("rsa-2048", Algorithm.RSA_PKCS1V15_SHA256, "sha256_rsa", "sha256"),
    "ecdsa": ("ec-p256", None, "sha256_ecdsa", "sha256"),
}


@pytest.mark.parametrize("case", list(ALGORITHMS))
def test_algorithms(env: Env, case: str) -> None:
    key_type, algorithm, cms_name, digest = ALGORITHMS[case]
    authority = env.authority(key_type, algorithm)  # type: ignore[arg-type]
    token = grant(authority)
    assert env.verify(token) == NOW.replace(microsecond=0)
    info = signer_info(token)
    assert info["signature_algorithm"]["algorithm"].native == cms_name
    assert info["digest_algorithm"]["algorithm"].native == digest
    if cms_name == "rsassa_pss":
        params = info["signature_algorithm"]["parameters"].native
        assert params["hash_algorithm"]["algorithm"] == "sha256"
        assert params["mask_gen_algorithm"]["parameters"]["algorithm"] == "sha256"
        assert params["salt_length"] == 32
    if cms_name in ("sha256_ecdsa", "ed25519"):
        assert info["signature_algorithm"]["parameters"].native is None
    with pytest.raises(HashMismatch):
        env.verify(token, b"other")


# --- server faults ---------------------------------------------------------------------------


def test_server_faults_raise(env: Env) -> None:
    naive = env.authority(clock=lambda: NOW.replace(tzinfo=None))
    with pytest.raises(tsa.TsaUnavailable, match="naive"):
        naive.respond(request_der())
    late = env.authority(clock=lambda: NOW + dt.timedelta(days=400))
    with pytest.raises(tsa.TsaUnavailable, match="not valid"):
        late.respond(request_der())
    # A request defect is still reported as a rejection, not a fault.
    assert late.respond_or_reject(b"")[0] is False

    class BrokenSigner:
        def __init__(self, inner: keys.Signer) -> None:
            self.inner = inner
            self.certificate = inner.certificate
            self.fingerprint = inner.fingerprint
            self.algorithm = inner.algorithm

        def sign(self, message: bytes) -> bytes:
            raise OSError("token removed")

    key = keys.generate_private_key("ec-p256")
    broken = tsa.TimeStampAuthority(
        BrokenSigner(keys.SoftwareSigner(key, env.tsa_cert(key))), clock=fixed_clock
    )
    with pytest.raises(tsa.TsaUnavailable, match="token removed"):
        broken.respond(request_der())


def test_other_clock_zone_is_normalised(env: Env) -> None:
    hanoi = dt.timezone(dt.timedelta(hours=7))
    authority = env.authority(clock=lambda: NOW.astimezone(hanoi))
    token = grant(authority)
    assert env.verify(token) == NOW.replace(microsecond=0)


# --- client helpers --------------------------------------------------------------------------


def test_token_from_response_checks_request(authority: tsa.TimeStampAuthority) -> None:
    request, _ = tsa.request_for(DATA)
    response = authority.respond(request)
    other_nonce, _ = tsa.request_for(DATA)
    with pytest.raises(VerificationError, match="nonce"):
        tsa.token_from_response(response, other_nonce)
    other_data, _ = tsa.request_for(b"other")
    with pytest.raises(HashMismatch):
        tsa.token_from_response(response, other_data)
    with pytest.raises(VerificationError):
        tsa.token_from_response(b"junk", request)


def test_request_for() -> None:
    der, nonce = tsa.request_for(DATA, cert_req=False)
    request = tsp.TimeStampReq.load(der)
    assert request["version"].native == "v1"
    assert request["message_imprint"]["hashed_message"].native == hashlib.sha256(DATA).digest()
    assert request["cert_req"].native is False
    assert nonce is not None and 0 < nonce < 2**64
    assert request["nonce"].native == nonce


def test_pyhanko_interop(env: Env, authority: tsa.TimeStampAuthority) -> None:
    from asn1crypto import x509 as asn1_x509
    from cryptography.hazmat.primitives import serialization
    from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
    from pyhanko_certvalidator import ValidationContext

    def asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
        return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))

    # pyHanko's own TimeStamper API, answered by our TSA in process.
    stamper = authority.pyhanko_timestamper()
    digest = hashlib.sha256(DATA).digest()
    token = asyncio.run(stamper.async_timestamp(digest, "sha256"))
    assert env.verify(token.dump()) == NOW.replace(microsecond=0)

    # pyHanko's validator accepts our tokens (it is what PAdES validation will run).
    context = ValidationContext(
        trust_roots=[asn1(env.demo.root)],
        other_certs=[asn1(c) for c in env.demo.intermediates()],
        moment=NOW,
        allow_fetching=False,
        revocation_mode="soft-fail",
    )
    status = asyncio.run(
        validate_tst_signed_data(token["content"], context, lambda _algorithm: digest)
    )
    assert status["intact"] and status["valid"]
    assert status["trust_problem_indic"] is None
    assert status["timestamp"] == NOW.replace(microsecond=0)


def test_http_timestamper() -> None:
    from pyhanko.sign.timestamps import HTTPTimeStamper

    stamper = tsa.http_timestamper("https://tsa.example.vn/tsr", timeout=3)
    assert isinstance(stamper, HTTPTimeStamper)
    assert stamper.url == "https://tsa.example.vn/tsr" and stamper.timeout == 3
    assert isinstance(tsa.http_timestamper("http://tsa.example.vn/"), HTTPTimeStamper)
    for bad in ("ftp://tsa.example.vn/", "tsa.example.vn", "file:///etc/passwd"):
        with pytest.raises(ValueError):
            tsa.http_timestamper(bad)
    with pytest.raises(ValueError):
        tsa.http_timestamper("http://tsa.example.vn/", https_only=True)


def test_gen_time_outside_certificate_validity(env: Env) -> None:
    # A TSA whose own validity check was bypassed backdates a token before its certificate.
    early = NOW - dt.timedelta(days=2)
    rogue = env.authority(clock=lambda: early)
    rogue._not_before = early - dt.timedelta(days=1)  # else it refuses: TsaUnavailable
    token = grant(rogue)
    with pytest.raises(CertificateNotValid, match="outside"):
        env.verify(token, moment=NOW)
