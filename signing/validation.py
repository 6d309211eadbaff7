"""Point-in-time validation of a signer's certificate, with ETSI EN 319 102-1 indications.

:func:`validate_certificate` answers: "may a signature made by this certificate at ``moment``
be relied on, given these trust anchors, this revocation information and this proof of
existence?" The answer is a :class:`CertificateValidation` with a status (``TOTAL-PASSED``,
``TOTAL-FAILED``, ``INDETERMINATE``, as in the verification report of DESIGN.md §5) and the
ETSI EN 319 102-1 subindication, named after pyHanko's :class:`AdESFailure` and
:class:`AdESIndeterminate` members. Path building, chain signatures, validity periods, CRL and
OCSP processing are pyhanko-certvalidator's; this module decides which times to ask it about
and how to read its answers. No certvalidator or asn1crypto exception leaves this module.

Times (all timezone-aware):

- ``moment``: when the signature was made, as recorded (ledger event time, CMS signing-time).
  Every certificate of the path must be valid at ``moment`` and not revoked at or before it.
- ``proof_of_existence`` (POE): the earliest time the signature is *proven* to have existed,
  e.g. the genTime of a signature time-stamp or of a witnessed checkpoint covering the event.
- ``now``: the validation time, default the current time.

Without a POE, the signature is only known to exist ``now`` (ETSI's best-signature-time), so
the certificates must still be unrevoked and unexpired now; with a POE they must be so at the
POE. This gives the revocation matrix (R = revocation time, E = notAfter, B = notBefore,
M = moment, P = POE, N = now):

==================================================  =============  =================================
situation                                           status         subindication
==================================================  =============  =================================
signer revoked, R <= M                              TOTAL-FAILED   REVOKED
signer revoked, M < R, POE with P <= R              TOTAL-PASSED   (``revoked_at`` = R)
signer revoked, M < R, no POE at or before R        INDETERMINATE  REVOKED_NO_POE
a CA of the path revoked (R <= M, or no POE <= R)   INDETERMINATE  REVOKED_CA_NO_POE
no usable CRL/OCSP for a certificate of the path    INDETERMINATE  TRY_LATER
expired now (E < N), B <= M <= E, P <= E            TOTAL-PASSED
expired now (any cert of the path), no POE <= E     INDETERMINATE  OUT_OF_BOUNDS_NO_POE
signer already expired at M (M > E)                 INDETERMINATE  EXPIRED
signer not yet valid at M (M < B)                   INDETERMINATE  NOT_YET_VALID
POE before B (proven to predate the certificate)    TOTAL-FAILED   NOT_YET_VALID
no path to a trust anchor (unknown CA)              INDETERMINATE  NO_CERTIFICATE_CHAIN_FOUND
a signature on the chain does not verify            TOTAL-FAILED   SIG_CRYPTO_FAILURE
key usage has none of the bits in ``usage``         INDETERMINATE  CHAIN_CONSTRAINTS_FAILURE
key or algorithm refused by ``algorithms``          INDETERMINATE  CRYPTO_CONSTRAINTS_FAILURE
the certificate cannot be parsed                    TOTAL-FAILED   FORMAT_FAILURE
other chain problems (a CA not valid at M, ...)     INDETERMINATE  CERTIFICATE_CHAIN_GENERAL_FAILURE
==================================================  =============  =================================

Choices, where ETSI or pyHanko leave room:

- R <= M is TOTAL-FAILED/REVOKED although M is a claim, not a proof: by its own account the
  signature was made with a revoked key, and no later evidence can change that. A revoked CA
  gives REVOKED_CA_NO_POE (as in pyHanko), never FAILED.
- Missing revocation information is TRY_LATER (pyHanko reports CERTIFICATE_CHAIN_GENERAL_FAILURE
  when none was found and TRY_LATER when it was stale); both mean "supply or wait for fresh
  CRL/OCSP data and validate again", which is TRY_LATER's meaning in EN 319 102-1.
- Revocation information is required for every certificate of the path except the trust
  anchor (certvalidator's ``REQUIRE_REVINFO`` policy: a CRL or an OCSP response each), as
  ETSI validation does. Revocation information issued after the time being checked counts
  (``retroactive_revinfo``): a CRL lists revocation dates, so today's CRL speaks about last
  year. A certificate put on hold and released later could mislead this; Vietnamese CA
  practice on holds is unknown. A CRL/OCSP response must still be current (nextUpdate) at the
  time checked.
- certvalidator consults OCSP responses only for certificates that name an OCSP responder in
  their AuthorityInformationAccess extension; CRLs are used whether or not the certificate
  names a distribution point.
- A bad signature on a certificate of the path is TOTAL-FAILED/SIG_CRYPTO_FAILURE: the
  certificate is forged or corrupted and more data cannot repair it (pyHanko reports the
  softer INDETERMINATE/CERTIFICATE_CHAIN_GENERAL_FAILURE).
- Not-yet-valid at M is INDETERMINATE (M is a claim); it is TOTAL-FAILED only when a POE
  proves the signature existed before notBefore (EN 319 102-1 FAILED/NOT_YET_VALID).
- A POE at exactly the revocation time counts as before it (certvalidator treats a
  certificate as revoked strictly after its revocation date).
- ``fetch=True`` lets certvalidator download CRLs, OCSP responses and missing issuer
  certificates (needs aiohttp); an unreachable server means no revocation information, so
  TRY_LATER, never PASSED.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import itertools
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Final, Literal, TypeAlias

from asn1crypto import algos as asn1_algos
from asn1crypto import crl as asn1_crl
from asn1crypto import keys as asn1_keys
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import pem as asn1_pem
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from pyhanko.sign.ades.report import AdESFailure, AdESIndeterminate, AdESStatus, AdESSubIndic
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import (
    DisallowedAlgorithmError,
    ExpiredError,
    InsufficientRevinfoError,
    InvalidCertificateError,
    NotYetValidError,
    PathBuildingError,
    PathValidationError,
    RevokedError,
    ValidationError,
)
from pyhanko_certvalidator.path import ValidationPath
from pyhanko_certvalidator.policy_decl import (
    REQUIRE_REVINFO,
    AlgorithmUsageConstraint,
    AlgorithmUsagePolicy,
    CertRevTrustPolicy,
)

from signing.pki import _run_sync
from signing.profiles import TT15_2025, AlgorithmPolicy

__all__ = [
    "INDETERMINATE",
    "KEY_USAGES",
    "SIGNING_USAGE",
    "TOTAL_FAILED",
    "TOTAL_PASSED",
    "CertificateValidation",
    "Status",
    "async_validate_certificate",
    "validate_certificate",
]

Status: TypeAlias = Literal["TOTAL-PASSED", "TOTAL-FAILED", "INDETERMINATE"]

TOTAL_PASSED: Final = "TOTAL-PASSED"
TOTAL_FAILED: Final = "TOTAL-FAILED"
INDETERMINATE: Final = "INDETERMINATE"

_STATUS: dict[AdESStatus, Status] = {
    AdESStatus.PASSED: TOTAL_PASSED,
    AdESStatus.FAILED: TOTAL_FAILED,
    AdESStatus.INDETERMINATE: INDETERMINATE,
}

KEY_USAGES: Final = frozenset(
    {
        "digital_signature",
        "non_repudiation",
        "key_encipherment",
        "data_encipherment",
        "key_agreement",
        "key_cert_sign",
        "crl_sign",
        "encipher_only",
        "decipher_only",
    }
)
"""Key usage names accepted in ``usage`` (asn1crypto/certvalidator spelling)."""

SIGNING_USAGE: Final = frozenset({"digital_signature", "non_repudiation"})
"""Default ``usage``: a signer's certificate needs one of these bits."""

# cryptography's KeyUsage attribute for each name; nonRepudiation is "content_commitment".
_KU_ATTRIBUTE = {name: name for name in KEY_USAGES} | {"non_repudiation": "content_commitment"}


@dataclass(frozen=True)
class CertificateValidation:
    """The outcome of :func:`validate_certificate`."""

    status: Status
    """``TOTAL-PASSED``, ``TOTAL-FAILED`` or ``INDETERMINATE`` (DESIGN.md §5)."""

    subindication: str | None
    """ETSI EN 319 102-1 subindication (pyHanko AdES enum name); None when passed."""

    detail: str
    """What was found, in English, naming the certificate concerned."""

    chain: list[x509.Certificate] = field(hash=False)
    """The path, trust anchor first and the validated certificate last; as far as it was
    built when validation stopped, empty when none was found."""

    revoked_at: dt.datetime | None
    """Revocation time of the certificate the finding concerns (also set when a signature
    passed because its proof of existence predates a later revocation)."""

    validated_at: dt.datetime
    """The moment the certificate was validated at (the ``moment`` argument, in UTC)."""

    @property
    def passed(self) -> bool:
        """True for ``TOTAL-PASSED``."""
        return self.status == TOTAL_PASSED


# --- algorithm policy for certvalidator -------------------------------------------------------


class _PolicyAdapter(AlgorithmUsagePolicy):
    """An allow-list :class:`AlgorithmUsagePolicy` built from an :class:`AlgorithmPolicy`.

    Applies to every signature certvalidator checks: certificates, CRLs, OCSP responses.
    RSA signatures are accepted with PKCS#1 v1.5 or PSS padding (verification side).
    """

    def __init__(self, policy: AlgorithmPolicy) -> None:
        self._policy = policy

    def digest_algorithm_allowed(
        self, algo: asn1_algos.DigestAlgorithm, moment: dt.datetime | None
    ) -> AlgorithmUsageConstraint:
        try:
            name = str(algo["algorithm"].native)
        except (KeyError, TypeError, ValueError):
            return AlgorithmUsageConstraint(False, failure_reason="unreadable digest algorithm")
        if self._policy.hash_allowed(name):
            return AlgorithmUsageConstraint(True)
        return AlgorithmUsageConstraint(False, failure_reason=f"hash {name} is not accepted")

    def signature_algorithm_allowed(
        self,
        algo: asn1_algos.SignedDigestAlgorithm,
        moment: dt.datetime | None,
        public_key: asn1_keys.PublicKeyInfo | None,
    ) -> AlgorithmUsageConstraint:
        try:
            mechanism = str(algo.signature_algo)
        except (ValueError, AttributeError):
            return AlgorithmUsageConstraint(False, failure_reason="unknown signature algorithm")
        if mechanism in ("ed25519",):
            if not self._policy.allow_ed25519:
                return AlgorithmUsageConstraint(False, failure_reason="Ed25519 is not accepted")
        elif mechanism not in ("rsassa_pkcs1v15", "rsassa_pss", "ecdsa"):
            return AlgorithmUsageConstraint(
                False, failure_reason=f"signature mechanism {mechanism} is not accepted"
            )
        else:
            try:
                hash_name = str(algo.hash_algo)
            except (ValueError, AttributeError):
                return AlgorithmUsageConstraint(False, failure_reason="no hash algorithm")
            if not self._policy.hash_allowed(hash_name):
                return AlgorithmUsageConstraint(
                    False, failure_reason=f"hash {hash_name} is not accepted"
                )
        if public_key is not None:
            problem = _asn1_key_problem(self._policy, public_key)
            if problem is not None:
                return AlgorithmUsageConstraint(False, failure_reason=problem)
        return AlgorithmUsageConstraint(True)


def _asn1_key_problem(policy: AlgorithmPolicy, key: asn1_keys.PublicKeyInfo) -> str | None:
    try:
        return policy.key_problem(serialization.load_der_public_key(key.dump()))
    except (ValueError, TypeError) as e:
        return f"public key cannot be read: {e}"
    except Exception as e:  # cryptography's UnsupportedAlgorithm and kin
        return f"public key type is not supported: {e}"


# --- inputs -----------------------------------------------------------------------------------


def _aware(moment: dt.datetime, what: str) -> dt.datetime:
    if not isinstance(moment, dt.datetime):
        raise TypeError(f"{what} must be a datetime")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware")
    return moment.astimezone(dt.UTC)


def _der(data: bytes) -> bytes:
    if asn1_pem.detect(data):
        _, _, der = asn1_pem.unarmor(data)
        return bytes(der)
    return bytes(data)


def _load_crls(blobs: Iterable[bytes]) -> tuple[list[asn1_crl.CertificateList], int]:
    loaded: list[asn1_crl.CertificateList] = []
    bad = 0
    for blob in blobs:
        try:
            item = asn1_crl.CertificateList.load(_der(blob))
            # Touch the fields certvalidator reads first, so malformed input fails here.
            _ = item.issuer, item["tbs_cert_list"]["this_update"].native, item.signature
            loaded.append(item)
        except Exception:  # asn1crypto raises many exception types for bad input
            bad += 1
    return loaded, bad


def _load_ocsps(blobs: Iterable[bytes]) -> tuple[list[asn1_ocsp.OCSPResponse], int]:
    loaded: list[asn1_ocsp.OCSPResponse] = []
    bad = 0
    for blob in blobs:
        try:
            item = asn1_ocsp.OCSPResponse.load(_der(blob))
            if item["response_status"].native != "successful":
                bad += 1
                continue
            _ = item.basic_ocsp_response["tbs_response_data"]["produced_at"].native
            loaded.append(item)
        except Exception:  # as above
            bad += 1
    return loaded, bad


def _to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    parsed = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    _ = parsed.native  # parse everything now: asn1crypto is lazy and would fail mid-validation
    return parsed


def _usage_names(usage: Collection[str]) -> frozenset[str]:
    names = frozenset(usage)
    unknown = names - KEY_USAGES
    if not names or unknown:
        raise ValueError(
            f"usage must be a non-empty set of {sorted(KEY_USAGES)}; got {sorted(names)}"
        )
    return names


def _fetching_available() -> bool:
    return importlib.util.find_spec("aiohttp") is not None


# --- the validation ---------------------------------------------------------------------------


@dataclass
class _Run:
    """Everything one validation needs to build certvalidator contexts."""

    ee: asn1_x509.Certificate
    anchors: list[asn1_x509.Certificate]
    others: list[asn1_x509.Certificate]
    crls: list[asn1_crl.CertificateList]
    ocsps: list[asn1_ocsp.OCSPResponse]
    fetch: bool
    algorithms: _PolicyAdapter
    known: dict[bytes, x509.Certificate]

    async def path_at(self, at: dt.datetime, best: dt.datetime) -> ValidationPath:
        """Validate the path at ``at``; certvalidator's exceptions propagate."""
        # A fresh context per point in time: contexts cache validated certificates.
        context = ValidationContext(
            trust_roots=self.anchors,
            other_certs=self.others,
            moment=at,
            best_signature_time=best,
            allow_fetching=self.fetch,
            crls=list(self.crls),
            ocsps=list(self.ocsps),
            revinfo_policy=CertRevTrustPolicy(REQUIRE_REVINFO, retroactive_revinfo=True),
            algorithm_usage_policy=self.algorithms,
        )
        try:
            path: ValidationPath = await CertificateValidator(
                self.ee, validation_context=context
            ).async_validate_path()
            return path
        finally:
            await context.aclose()  # type: ignore[no-untyped-call]

    def chain(self, path: ValidationPath | None) -> list[x509.Certificate]:
        if path is None:
            return []
        out: list[x509.Certificate] = []
        try:
            for cert in path.iter_certs(include_root=True):
                der = cert.dump()
                out.append(self.known.get(der) or x509.load_der_x509_certificate(der))
        except Exception:  # a partial chain is only informative
            return out
        return out


def _name(cert: x509.Certificate) -> str:
    try:
        return repr(cert.subject.rfc4514_string())
    except ValueError:  # pragma: no cover
        return f"serial {cert.serial_number:x}"


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _chain_signature_broken(path: ValidationPath | None) -> bool:
    """Whether some certificate in ``path`` carries a signature its issuer's key rejects."""
    if path is None:
        return False
    try:
        certs = [x509.load_der_x509_certificate(c.dump()) for c in path.iter_certs(True)]
    except Exception:  # unreadable certificates: not this check's business
        return False
    for issuer, subject in itertools.pairwise(certs):
        try:
            subject.verify_directly_issued_by(issuer)
        except InvalidSignature:
            return True
        except Exception:  # noqa: S112 - name mismatch, unsupported key: not this check
            continue
    return False


def _path_of(error: ValidationError) -> ValidationPath | None:
    path = getattr(error, "original_path", None)
    return path if isinstance(path, ValidationPath) else None


def _not_after_min(path: ValidationPath, cert: x509.Certificate) -> dt.datetime:
    """The last instant at which ``cert`` and every CA of its path (anchor excluded) is valid."""
    ends: list[dt.datetime] = [c.not_valid_after for c in path.iter_certs(include_root=False)]
    return min([cert.not_valid_after_utc, *ends]).astimezone(dt.UTC)


@dataclass(frozen=True)
class _Finding:
    subindication: AdESSubIndic
    detail: str
    path: ValidationPath | None = None
    revoked_at: dt.datetime | None = None
    concerns_ca: bool = False


def _classify(error: Exception, *, moment: dt.datetime, at: dt.datetime) -> _Finding:
    """Map a certvalidator exception raised while validating at ``at`` to a finding."""
    when = _iso(at)
    if isinstance(error, RevokedError):
        path = _path_of(error)
        revoked = error.revocation_dt.astimezone(dt.UTC)
        text = f"{error.failure_msg} (checked at {when})"
        if error.is_side_validation:
            return _Finding(
                AdESIndeterminate.CERTIFICATE_CHAIN_GENERAL_FAILURE,
                f"revocation information cannot be trusted: {text}",
                path,
            )
        if not error.is_ee_cert:
            return _Finding(AdESIndeterminate.REVOKED_CA_NO_POE, text, path, revoked, True)
        if revoked <= moment:
            return _Finding(
                AdESFailure.REVOKED,
                f"revoked at {_iso(revoked)}, at or before the signing time {_iso(moment)}",
                path,
                revoked,
            )
        return _Finding(
            AdESIndeterminate.REVOKED_NO_POE,
            f"revoked at {_iso(revoked)}, after the signing time {_iso(moment)}, and no proof "
            "of existence of the signature before the revocation",
            path,
            revoked,
        )
    if isinstance(error, ExpiredError):
        path = _path_of(error)
        sub = (
            AdESIndeterminate.EXPIRED
            if error.is_ee_cert and not error.is_side_validation
            else AdESIndeterminate.CERTIFICATE_CHAIN_GENERAL_FAILURE
        )
        return _Finding(sub, f"{error.failure_msg} (checked at {when})", path)
    if isinstance(error, NotYetValidError):
        path = _path_of(error)
        sub = (
            AdESIndeterminate.NOT_YET_VALID
            if error.is_ee_cert and not error.is_side_validation
            else AdESIndeterminate.CERTIFICATE_CHAIN_GENERAL_FAILURE
        )
        return _Finding(sub, f"{error.failure_msg} (checked at {when})", path)
    if isinstance(error, InsufficientRevinfoError):  # StaleRevinfoError included
        return _Finding(
            AdESIndeterminate.TRY_LATER,
            f"no usable revocation information for {when}: {error.failure_msg}",
            _path_of(error),
        )
    if isinstance(error, DisallowedAlgorithmError):
        sub = (
            AdESIndeterminate.CRYPTO_CONSTRAINTS_FAILURE
            if error.banned_since is None
            else AdESIndeterminate.CRYPTO_CONSTRAINTS_FAILURE_NO_POE
        )
        return _Finding(sub, error.failure_msg, _path_of(error))
    if isinstance(error, PathValidationError):
        path = _path_of(error)
        if _chain_signature_broken(path):
            return _Finding(
                AdESFailure.SIG_CRYPTO_FAILURE,
                f"bad signature on the chain: {error.failure_msg}",
                path,
            )
        return _Finding(
            AdESIndeterminate.CERTIFICATE_CHAIN_GENERAL_FAILURE, error.failure_msg, path
        )
    if isinstance(error, PathBuildingError):
        return _Finding(
            AdESIndeterminate.NO_CERTIFICATE_CHAIN_FOUND,
            f"no path to a trust anchor: {error}",
        )
    if isinstance(error, InvalidCertificateError):
        # find_valid_path raises this for a self-signed certificate that is not an anchor.
        return _Finding(
            AdESIndeterminate.NO_CERTIFICATE_CHAIN_FOUND,
            f"no path to a trust anchor: {error.failure_msg}",
        )
    if isinstance(error, ValidationError):
        return _Finding(AdESIndeterminate.CERTIFICATE_CHAIN_GENERAL_FAILURE, error.failure_msg)
    return _Finding(
        AdESIndeterminate.CERTIFICATE_CHAIN_GENERAL_FAILURE,
        f"path validation could not be completed: {type(error).__name__}: {error}",
    )


async def async_validate_certificate(
    cert: x509.Certificate,
    *,
    moment: dt.datetime,
    roots: Iterable[x509.Certificate],
    intermediates: Iterable[x509.Certificate],
    crls: Iterable[bytes] = (),
    ocsp_responses: Iterable[bytes] = (),
    proof_of_existence: dt.datetime | None = None,
    fetch: bool = False,
    usage: Collection[str] = SIGNING_USAGE,
    algorithms: AlgorithmPolicy = TT15_2025,
    now: dt.datetime | None = None,
) -> CertificateValidation:
    """Async form of :func:`validate_certificate`, for callers already in an event loop."""
    at = _aware(moment, "moment")
    poe = None if proof_of_existence is None else _aware(proof_of_existence, "proof_of_existence")
    current = dt.datetime.now(dt.UTC) if now is None else _aware(now, "now")
    wanted_usage = _usage_names(usage)
    notes: list[str] = []

    def result(
        sub: AdESSubIndic | None,
        detail: str,
        chain: list[x509.Certificate],
        revoked_at: dt.datetime | None = None,
    ) -> CertificateValidation:
        status = TOTAL_PASSED if sub is None else _STATUS[sub.status]
        text = " ".join([f"{_name(cert)}: {detail}", *notes])
        return CertificateValidation(
            status=status,
            subindication=None if sub is None else str(sub.standard_name),
            detail=text,
            chain=chain,
            revoked_at=revoked_at,
            validated_at=at,
        )

    try:
        ee = _to_asn1(cert)
    except Exception as e:  # asn1crypto's parse errors vary
        return result(AdESFailure.FORMAT_FAILURE, f"certificate cannot be parsed: {e}", [])
    known: dict[bytes, x509.Certificate] = {}
    anchors: list[asn1_x509.Certificate] = []
    others: list[asn1_x509.Certificate] = []
    for group, target in ((roots, anchors), (intermediates, others)):
        for item in group:
            try:
                target.append(_to_asn1(item))
                known[item.public_bytes(serialization.Encoding.DER)] = item
            except Exception:  # as above
                notes.append(f"(ignored an unparsable certificate {_name(item)})")
    known[cert.public_bytes(serialization.Encoding.DER)] = cert
    if not anchors:
        return result(AdESIndeterminate.NO_CERTIFICATE_CHAIN_FOUND, "no trust anchors given", [])
    crl_list, bad_crls = _load_crls(crls)
    ocsp_list, bad_ocsps = _load_ocsps(ocsp_responses)
    if bad_crls:
        notes.append(f"({bad_crls} malformed CRL(s) ignored)")
    if bad_ocsps:
        notes.append(f"({bad_ocsps} malformed or unsuccessful OCSP response(s) ignored)")
    fetching = fetch
    if fetch and not _fetching_available():
        fetching = False
        notes.append("(fetching requested but unavailable: aiohttp is not installed)")
    run = _Run(
        ee=ee,
        anchors=anchors,
        others=others,
        crls=crl_list,
        ocsps=ocsp_list,
        fetch=fetching,
        algorithms=_PolicyAdapter(algorithms),
        known=known,
    )

    async def attempt(when: dt.datetime, best: dt.datetime) -> ValidationPath | _Finding:
        try:
            return await run.path_at(when, best)
        except Exception as e:  # every failure becomes a status
            return _classify(e, moment=at, at=when)

    # Pass 1: at the signing time. Chain, signatures, validity, revocation at or before it.
    first = await attempt(at, at if poe is None else min(poe, at))
    if isinstance(first, _Finding):
        finding = first
        if (
            finding.subindication is AdESIndeterminate.NOT_YET_VALID
            and poe is not None
            and poe < cert.not_valid_before_utc
        ):
            finding = _Finding(
                AdESFailure.NOT_YET_VALID,
                f"proof of existence {_iso(poe)} predates notBefore "
                f"{_iso(cert.not_valid_before_utc)}",
                finding.path,
            )
        return result(
            finding.subindication, finding.detail, run.chain(finding.path), finding.revoked_at
        )
    path = first
    chain = run.chain(path)

    if poe is not None and poe < cert.not_valid_before_utc:
        return result(
            AdESFailure.NOT_YET_VALID,
            f"proof of existence {_iso(poe)} predates notBefore {_iso(cert.not_valid_before_utc)}",
            chain,
        )
    usage_problem = _usage_problem(cert, wanted_usage)
    if usage_problem is not None:
        return result(AdESIndeterminate.CHAIN_CONSTRAINTS_FAILURE, usage_problem, chain)
    key_problem = _ee_key_problem(cert, algorithms)
    if key_problem is not None:
        return result(AdESIndeterminate.CRYPTO_CONSTRAINTS_FAILURE, key_problem, chain)

    # Pass 2: when the signature is known to exist (the POE, else now), clipped to the last
    # instant every certificate is valid. Catches revocations after the signing time.
    last_valid = _not_after_min(path, cert)
    known_at = current if poe is None else min(poe, current)
    check_at = at
    if known_at > at:
        out_of_bounds = known_at > last_valid
        check_at = min(known_at, last_valid)
        second = await attempt(check_at, check_at)
        if isinstance(second, _Finding) and (second.revoked_at is not None or not out_of_bounds):
            return result(
                second.subindication,
                second.detail,
                run.chain(second.path) or chain,
                second.revoked_at,
            )
        if out_of_bounds:
            evidence = (
                f"the proof of existence {_iso(poe)} is later"
                if poe is not None
                else "no proof of existence before that"
            )
            return result(
                AdESIndeterminate.OUT_OF_BOUNDS_NO_POE,
                f"valid at the signing time {_iso(at)}, but the path expired at "
                f"{_iso(last_valid)} and {evidence}",
                chain,
            )

    # Pass 3 (informative): a revocation after the POE leaves the signature valid; report it.
    detail = f"valid at {_iso(at)}"
    if poe is not None:
        detail += f", signature proven to exist at {_iso(poe)}"
    revoked_later: dt.datetime | None = None
    later = min(current, last_valid)
    if later > check_at:
        third = await attempt(later, later)
        if isinstance(third, _Finding) and third.revoked_at is not None:
            revoked_later = third.revoked_at
            who = "a CA of the path was" if third.concerns_ca else "the certificate was"
            detail += f"; {who} revoked later, at {_iso(revoked_later)}, which does not affect it"
    return result(None, detail, chain, revoked_later)


def _usage_problem(cert: x509.Certificate, wanted: frozenset[str]) -> str | None:
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return "no KeyUsage extension"
    except ValueError as e:
        return f"extensions cannot be parsed: {e}"
    present = set()
    for name in sorted(wanted):
        try:
            if getattr(usage, _KU_ATTRIBUTE[name]):
                present.add(name)
        except ValueError:  # encipher_only/decipher_only without keyAgreement
            continue
    if present:
        return None
    return f"key usage has none of {', '.join(sorted(wanted))}"


def _ee_key_problem(cert: x509.Certificate, policy: AlgorithmPolicy) -> str | None:
    try:
        key = cert.public_key()
    except Exception as e:  # ValueError or cryptography's UnsupportedAlgorithm
        return f"public key cannot be read: {e}"
    problem = policy.key_problem(key)
    return None if problem is None else f"subject key refused: {problem}"


def validate_certificate(
    cert: x509.Certificate,
    *,
    moment: dt.datetime,
    roots: Iterable[x509.Certificate],
    intermediates: Iterable[x509.Certificate],
    crls: Iterable[bytes] = (),
    ocsp_responses: Iterable[bytes] = (),
    proof_of_existence: dt.datetime | None = None,
    fetch: bool = False,
    usage: Collection[str] = SIGNING_USAGE,
    algorithms: AlgorithmPolicy = TT15_2025,
    now: dt.datetime | None = None,
) -> CertificateValidation:
    """Validate ``cert`` as a signer's certificate at ``moment``; see the module docstring.

    ``roots`` are the trust anchors (an empty list validates nothing), ``intermediates`` the
    CA certificates available for path building, ``crls`` and ``ocsp_responses`` DER (or
    PEM) revocation data; malformed items are ignored and said so in ``detail``.
    ``proof_of_existence`` is the earliest proven time the signature existed (a time-stamp's
    genTime). ``fetch`` allows downloading revocation data and issuers. ``usage``: key usage
    names of which the certificate needs at least one. ``algorithms``: the accepted keys and
    hashes (default TT 15/2025; :data:`signing.profiles.TT15_2025_WITH_ED25519` adds Ed25519).
    ``now``: the validation time (default: the current time).

    Never raises for anything about the certificate or the revocation data; raises
    ``ValueError`` for a naive datetime or an unknown ``usage`` name. Works from synchronous
    code and from inside a running event loop (in a worker thread).
    """
    root_list = list(roots)
    intermediate_list = list(intermediates)
    crl_list = list(crls)
    ocsp_list = list(ocsp_responses)
    return _run_sync(
        lambda: async_validate_certificate(
            cert,
            moment=moment,
            roots=root_list,
            intermediates=intermediate_list,
            crls=crl_list,
            ocsp_responses=ocsp_list,
            proof_of_existence=proof_of_existence,
            fetch=fetch,
            usage=usage,
            algorithms=algorithms,
            now=now,
        )
    )
