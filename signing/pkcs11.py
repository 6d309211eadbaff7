"""Keys held in a PKCS#11 token (smart card, USB token, HSM, SoftHSM2), via python-pkcs11.

:class:`Pkcs11Token` opens one token (module path, token label, user PIN) with one logged-in
session. :meth:`Pkcs11Token.generate_key` makes a key pair inside the token whose private half
never leaves it (``CKA_SENSITIVE`` true, ``CKA_EXTRACTABLE`` false, checked after generation);
:class:`Pkcs11Signer` is a :class:`signing.keys.Signer` over such a key and its certificate.

Mechanisms (PKCS#11 v2.40 Current Mechanisms, RSA and EC sections). Hashing happens in the
token when it offers the combined mechanism, else here, and the token signs the digest:

- ``ECDSA_P256_SHA256``: ``CKM_ECDSA_SHA256``, or ``CKM_ECDSA`` over SHA-256(message). Either
  returns the raw ``r || s`` ("EC signatures"), which is re-encoded as DER ``Ecdsa-Sig-Value``
  (RFC 3279 §2.2.3), the stored form (:mod:`signing.algorithms`).
- ``RSA_PSS_SHA256``: ``CKM_SHA256_RSA_PKCS_PSS``, or ``CKM_RSA_PKCS_PSS`` over the digest, with
  ``CK_RSA_PKCS_PSS_PARAMS`` = (SHA-256, MGF1-SHA-256, salt 32).
- ``RSA_PKCS1V15_SHA256``: ``CKM_SHA256_RSA_PKCS``, or ``CKM_RSA_PKCS`` over the DER DigestInfo
  (RFC 8017 §9.2 note 1).

python-pkcs11 sessions are not thread-safe (its calls release the GIL), so every use of the
session holds the token's lock: signatures through one token are serialised. PKCS#11 keeps the
login per process and token, not per session, so a process opens a token once (a second
:class:`Pkcs11Token` for the same token is refused, and closing one logs out every session the
process has on it) and shares that object between threads.

The PIN is used once, to log in, and is not kept; no message or repr contains it.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeAlias

import pkcs11
from asn1crypto.core import OctetString
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from pkcs11 import Attribute, KeyType, Mechanism, MechanismFlag, ObjectClass
from pkcs11 import exceptions as p11_errors
from pkcs11.util.ec import encode_named_curve_parameters

from signing import algorithms as sig_algorithms
from signing.algorithms import Algorithm, PublicKey
from signing.errors import CertificateError, KeyMismatch, KeyUnusable, UnsupportedAlgorithm
from signing.keys import certificate_fingerprint

__all__ = [
    "Pkcs11Signer",
    "Pkcs11Token",
    "TokenKeyType",
]

TokenKeyType: TypeAlias = Literal["ec-p256", "rsa-2048"]
"""Key types :meth:`Pkcs11Token.generate_key` makes (the :data:`signing.keys.KeyType` names)."""

_P256_PARAMS = encode_named_curve_parameters("secp256r1")  # ECParameters, namedCurve (RFC 5480)
_RSA_BITS = 2048
_ID_BYTES = 16

# RFC 8017 §9.2 note 1: DER of DigestInfo for SHA-256, up to the 32 digest bytes.
_SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")

# CK_RSA_PKCS_PSS_PARAMS: hashAlg, mgf, sLen. The ledger fixes MGF1-SHA-256 and a 32-byte salt.
_PSS_PARAMS = (Mechanism.SHA256, pkcs11.MGF.SHA256, sig_algorithms.PSS_SALT_LENGTH)

_SignPlan: TypeAlias = tuple[Mechanism, Any, Callable[[bytes], bytes]]
"""(mechanism, mechanism parameter, what to hand the token for a message)."""


def _identity(message: bytes) -> bytes:
    return message


def _sha256(message: bytes) -> bytes:
    return hashlib.sha256(message).digest()


def _digest_info(message: bytes) -> bytes:
    return _SHA256_DIGEST_INFO + hashlib.sha256(message).digest()


def _sign_plan(algorithm: Algorithm, mechanisms: set[Mechanism]) -> _SignPlan:
    """Choose how the token signs under ``algorithm`` from the ``mechanisms`` it offers."""
    if algorithm is Algorithm.ECDSA_P256_SHA256:
        # SoftHSM 2.6 and many cards offer only CKM_ECDSA, which signs a given digest.
        if Mechanism.ECDSA_SHA256 in mechanisms:
            return Mechanism.ECDSA_SHA256, None, _identity
        if Mechanism.ECDSA in mechanisms:
            return Mechanism.ECDSA, None, _sha256
    elif algorithm is Algorithm.RSA_PSS_SHA256:
        if Mechanism.SHA256_RSA_PKCS_PSS in mechanisms:
            return Mechanism.SHA256_RSA_PKCS_PSS, _PSS_PARAMS, _identity
        if Mechanism.RSA_PKCS_PSS in mechanisms:
            return Mechanism.RSA_PKCS_PSS, _PSS_PARAMS, _sha256
    elif algorithm is Algorithm.RSA_PKCS1V15_SHA256:
        if Mechanism.SHA256_RSA_PKCS in mechanisms:
            return Mechanism.SHA256_RSA_PKCS, None, _identity
        if Mechanism.RSA_PKCS in mechanisms:
            return Mechanism.RSA_PKCS, None, _digest_info
    else:
        raise UnsupportedAlgorithm(f"PKCS#11 tokens here do not sign with {algorithm.label}")
    raise UnsupportedAlgorithm(f"the token offers no mechanism for {algorithm.label}")


def _error_name(e: p11_errors.PKCS11Error) -> str:
    # python-pkcs11 errors mostly carry no text; the class names the CKR_ code.
    text = str(e).strip()
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def _public_key_from_objects(
    key_type: KeyType, attributes: dict[Attribute, Any], where: str
) -> PublicKey:
    """Build a cryptography public key from PKCS#11 public-key attributes."""
    try:
        if key_type == KeyType.EC:
            if bytes(attributes[Attribute.EC_PARAMS]) != _P256_PARAMS:
                raise UnsupportedAlgorithm(f"{where} is an EC key on a curve other than P-256")
            point = bytes(attributes[Attribute.EC_POINT])
            # PKCS#11 stores CKA_EC_POINT as a DER OCTET STRING; some tokens give the raw
            # uncompressed point (65 bytes for P-256) instead.
            if len(point) != 65:
                point = bytes(OctetString.load(point).native)
            return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
        if key_type == KeyType.RSA:
            n = int.from_bytes(bytes(attributes[Attribute.MODULUS]), "big")
            e = int.from_bytes(bytes(attributes[Attribute.PUBLIC_EXPONENT]), "big")
            return sig_algorithms.check_public_key(rsa.RSAPublicNumbers(e, n).public_key())
    except (KeyError, ValueError, TypeError) as e:
        raise KeyUnusable(f"cannot read the public key of {where}: {e}") from None
    raise UnsupportedAlgorithm(f"{where} has key type {key_type!r}, not EC P-256 or RSA")


def _spki(key: PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


_OPEN_LOCK = threading.Lock()
_OPEN_TOKENS: set[tuple[str, int]] = set()
"""(module real path, slot id) of every token a Pkcs11Token in this process is logged in to."""


def _login_failure(e: p11_errors.PKCS11Error, token_label: str) -> str:
    """A message for a failed login; the PIN is never part of it."""
    if isinstance(e, p11_errors.PinIncorrect):
        return f"wrong PIN for token {token_label!r}"
    if isinstance(e, p11_errors.PinLocked | p11_errors.PinExpired):
        return f"the PIN of token {token_label!r} is locked or expired ({type(e).__name__})"
    if isinstance(e, p11_errors.PinInvalid | p11_errors.PinLenRange | p11_errors.ArgumentsBad):
        return f"the PIN given for token {token_label!r} is malformed"
    if isinstance(e, p11_errors.UserPinNotInitialized):
        return f"token {token_label!r} has no user PIN set"
    if isinstance(e, p11_errors.UserAlreadyLoggedIn):
        return (
            f"token {token_label!r} is already logged in by other code in this process "
            "(PKCS#11 logs in once per process)"
        )
    return f"cannot log in to token {token_label!r}: {_error_name(e)}"


class Pkcs11Token:
    """One PKCS#11 token, opened with one logged-in session; a context manager.

    Raises :class:`KeyUnusable` when the module cannot be loaded, no token (or more than one)
    has ``token_label``, or login fails (wrong, locked or expired PIN).

    SoftHSM2 (and other software modules) read their configuration and scan their tokens once,
    when the module is initialised: the first :class:`Pkcs11Token` for a module in a process
    fixes what that process sees, and the library stays initialised for the process' lifetime
    (python-pkcs11 caches it per path), so closing a token does not finalise the module.
    """

    def __init__(
        self,
        module_path: str | Path,
        token_label: str,
        user_pin: str,
        *,
        writable: bool = True,
    ) -> None:
        """Load the module, find the token and log in; ``writable`` is needed to make keys."""
        self._module_path = str(module_path)
        self._token_label = token_label
        self._lock = threading.RLock()
        self._session: pkcs11.Session | None = None
        if not isinstance(user_pin, str):
            raise KeyUnusable("the token PIN must be given as a str")
        if not Path(self._module_path).is_file():
            raise KeyUnusable(f"PKCS#11 module {self._module_path} does not exist")
        try:
            lib = pkcs11.lib(self._module_path)
        except p11_errors.PKCS11Error as e:
            raise KeyUnusable(
                f"cannot load PKCS#11 module {self._module_path}: {_error_name(e)}"
            ) from None
        try:
            token = lib.get_token(token_label=token_label)
        except p11_errors.NoSuchToken:
            raise KeyUnusable(
                f"no token labelled {token_label!r} in {self._module_path} (tokens: "
                f"{', '.join(repr(label) for label in self._labels(lib)) or 'none'})"
            ) from None
        except p11_errors.MultipleTokensReturned:
            raise KeyUnusable(
                f"more than one token labelled {token_label!r} in {self._module_path}"
            ) from None
        except p11_errors.PKCS11Error as e:
            raise KeyUnusable(
                f"cannot list tokens of {self._module_path}: {_error_name(e)}"
            ) from None
        # PKCS#11 login state belongs to the process, not the session (v2.40 base, C_Login): a
        # second login to the same token fails, and any logout ends every session's login.
        # So one Pkcs11Token per token and process; share it between threads.
        self._key = (os.path.realpath(self._module_path), int(token.slot.slot_id))
        with _OPEN_LOCK:
            if self._key in _OPEN_TOKENS:
                raise KeyUnusable(
                    f"token {token_label!r} is already open in this process; PKCS#11 logs in "
                    "once per process, so share that Pkcs11Token instead of opening another"
                )
            _OPEN_TOKENS.add(self._key)
        try:
            self._session = token.open(rw=writable, user_pin=user_pin)
            self._mechanisms: set[Mechanism] = set(token.slot.get_mechanisms())
        except BaseException as e:
            with _OPEN_LOCK:
                _OPEN_TOKENS.discard(self._key)
            if self._session is not None:
                self.close()
            if isinstance(e, p11_errors.PKCS11Error):
                raise KeyUnusable(_login_failure(e, token_label)) from None
            raise

    @staticmethod
    def _labels(lib: Any) -> list[str]:
        try:
            return sorted(str(t.label) for t in lib.get_tokens())
        except p11_errors.PKCS11Error:
            return []

    # -- lifetime -------------------------------------------------------------------------------

    @property
    def module_path(self) -> str:
        """Path of the PKCS#11 module."""
        return self._module_path

    @property
    def token_label(self) -> str:
        """Label of the token."""
        return self._token_label

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has run."""
        return self._session is None

    def close(self) -> None:
        """Log out and close the session; idempotent.

        Logging out ends the login of every session this process has on the token, including
        sessions opened by other code (PKCS#11 login is per process).
        """
        with self._lock:
            session, self._session = self._session, None
            if session is None:
                return
            try:
                session.close()
            except p11_errors.PKCS11Error:
                pass  # The token may be gone already; nothing is left to release.
            finally:
                with _OPEN_LOCK:
                    _OPEN_TOKENS.discard(self._key)

    def __enter__(self) -> Pkcs11Token:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"Pkcs11Token(module={self._module_path!r}, label={self._token_label!r}, {state})"

    @contextmanager
    def _use(self, what: str) -> Iterator[pkcs11.Session]:
        """Hold the lock, yield the session, translate PKCS#11 errors into KeyUnusable."""
        with self._lock:
            if self._session is None:
                raise KeyUnusable(f"token {self._token_label!r} is closed")
            try:
                yield self._session
            except p11_errors.PKCS11Error as e:
                raise KeyUnusable(
                    f"{what} on token {self._token_label!r} failed: {_error_name(e)}"
                ) from None

    # -- objects --------------------------------------------------------------------------------

    def _objects(self, session: pkcs11.Session, object_class: ObjectClass, label: str) -> list[Any]:
        return list(session.get_objects({Attribute.CLASS: object_class, Attribute.LABEL: label}))

    def _one(self, session: pkcs11.Session, object_class: ObjectClass, label: str) -> Any:
        found = self._objects(session, object_class, label)
        kind = "private key" if object_class == ObjectClass.PRIVATE_KEY else "public key"
        if not found:
            raise KeyUnusable(f"no {kind} labelled {label!r} on token {self._token_label!r}")
        if len(found) > 1:
            raise KeyUnusable(
                f"{len(found)} {kind}s labelled {label!r} on token {self._token_label!r}"
            )
        return found[0]

    def key_labels(self) -> list[str]:
        """Labels of the private keys on the token, sorted."""
        with self._use("listing keys") as session:
            keys = session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY})
            return sorted(str(key[Attribute.LABEL]) for key in keys)

    def public_key(self, label: str) -> PublicKey:
        """The public key of the key pair labelled ``label``.

        Read from the public-key object; for RSA, from the private key's public attributes
        when the token keeps no public-key object. Raises :class:`KeyUnusable` when there is
        no such key and :class:`UnsupportedAlgorithm` for keys other than P-256 and RSA.
        """
        where = f"key {label!r} on token {self._token_label!r}"
        with self._use("reading a public key") as session:
            public = self._objects(session, ObjectClass.PUBLIC_KEY, label)
            if len(public) > 1:
                raise KeyUnusable(f"{len(public)} public keys labelled {label!r}")
            if public:
                obj = public[0]
                key_type = obj[Attribute.KEY_TYPE]
                wanted = (
                    [Attribute.EC_PARAMS, Attribute.EC_POINT]
                    if key_type == KeyType.EC
                    else [Attribute.MODULUS, Attribute.PUBLIC_EXPONENT]
                )
            else:
                obj = self._one(session, ObjectClass.PRIVATE_KEY, label)
                key_type = obj[Attribute.KEY_TYPE]
                if key_type != KeyType.RSA:
                    raise KeyUnusable(f"{where} has no public-key object")
                wanted = [Attribute.MODULUS, Attribute.PUBLIC_EXPONENT]
            attributes = {attribute: obj[attribute] for attribute in wanted}
        return _public_key_from_objects(key_type, attributes, where)

    def public_key_der(self, label: str) -> bytes:
        """DER ``SubjectPublicKeyInfo`` of the key pair labelled ``label``."""
        return _spki(self.public_key(label))

    # -- making keys ----------------------------------------------------------------------------

    def generate_key(self, label: str, key_type: TokenKeyType = "ec-p256") -> PublicKey:
        """Generate a key pair inside the token, stored under ``label``; return the public key.

        The private key is a token object with CKA_SENSITIVE true, CKA_EXTRACTABLE false and
        CKA_SIGN as its only capability; these are read back after generation and the pair is
        destroyed if the token did not honour them. The pair gets a fresh random CKA_ID.
        Raises :class:`KeyUnusable` for an empty or existing label or a token failure, and
        :class:`UnsupportedAlgorithm` for key types other than ``ec-p256`` and ``rsa-2048``.
        """
        if key_type not in ("ec-p256", "rsa-2048"):
            raise UnsupportedAlgorithm(f"cannot generate a {key_type!r} key in a PKCS#11 token")
        if not label:
            raise KeyUnusable("a token key needs a non-empty label")
        key_id = secrets.token_bytes(_ID_BYTES)
        # Sign/verify only: a signing key never decrypts, unwraps or derives (key separation).
        capabilities = MechanismFlag.SIGN | MechanismFlag.VERIFY
        private_template = {
            Attribute.TOKEN: True,
            Attribute.PRIVATE: True,
            Attribute.SENSITIVE: True,
            Attribute.EXTRACTABLE: False,
            Attribute.SIGN: True,
        }
        public_template = {Attribute.TOKEN: True, Attribute.PRIVATE: False, Attribute.VERIFY: True}
        with self._use(f"generating key {label!r}") as session:
            # The lock makes check-then-create atomic within this process; two processes
            # sharing one token can still race, which no PKCS#11 call prevents.
            for object_class in (ObjectClass.PRIVATE_KEY, ObjectClass.PUBLIC_KEY):
                if self._objects(session, object_class, label):
                    raise KeyUnusable(
                        f"token {self._token_label!r} already holds a key labelled {label!r}"
                    )
            options: dict[str, Any] = {
                "id": key_id,
                "label": label,
                "store": True,
                "capabilities": capabilities,
                "private_template": private_template,
                "public_template": public_template,
            }
            if key_type == "ec-p256":
                params = session.create_domain_parameters(
                    KeyType.EC, {Attribute.EC_PARAMS: _P256_PARAMS}, local=True
                )
                public, private = params.generate_keypair(**options)
            else:
                public, private = session.generate_keypair(KeyType.RSA, _RSA_BITS, **options)
            problems = self._protection_problems(private)
            if problems:
                private.destroy()
                public.destroy()
                raise KeyUnusable(
                    f"token {self._token_label!r} did not protect the new key "
                    f"({', '.join(problems)}); the key pair was destroyed"
                )
        return self.public_key(label)

    @staticmethod
    def _protection_problems(private: Any) -> list[str]:
        expected = {
            Attribute.TOKEN: True,
            Attribute.SENSITIVE: True,
            Attribute.EXTRACTABLE: False,
            Attribute.SIGN: True,
            Attribute.ALWAYS_SENSITIVE: True,
            Attribute.NEVER_EXTRACTABLE: True,
            Attribute.LOCAL: True,
        }
        problems = []
        for attribute, value in expected.items():
            actual = private[attribute]
            if bool(actual) is not value:
                problems.append(f"{attribute.name}={actual!r}")
        return problems

    # -- signing --------------------------------------------------------------------------------

    def _private_key(self, label: str) -> Any:
        with self._use(f"finding key {label!r}") as session:
            key = self._one(session, ObjectClass.PRIVATE_KEY, label)
            if not key[Attribute.SIGN]:
                raise KeyUnusable(f"key {label!r} on token {self._token_label!r} cannot sign")
            try:
                per_signature_login = bool(key[Attribute.ALWAYS_AUTHENTICATE])
            except (p11_errors.AttributeTypeInvalid, p11_errors.AttributeSensitive):
                per_signature_login = False
            if per_signature_login:
                # A context-specific login needs the PIN at every signature; it is not kept.
                raise KeyUnusable(
                    f"key {label!r} requires the PIN for every signature "
                    "(CKA_ALWAYS_AUTHENTICATE), which is not supported"
                )
            return key

    def _signing_function(
        self, label: str, key_type: KeyType, algorithm: Algorithm
    ) -> Callable[[bytes], bytes]:
        """Find the key and the mechanism once; return ``sign(message)``."""
        key = self._private_key(label)
        mechanism, param, prepare = _sign_plan(algorithm, self._mechanisms)
        what = f"signing with key {label!r}"

        def sign(message: bytes) -> bytes:
            data = prepare(bytes(message))
            with self._use(what):
                raw = bytes(key.sign(data, mechanism=mechanism, mechanism_param=param))
            if key_type != KeyType.EC:
                return raw
            # PKCS#11 "EC signatures": r || s, two big-endian halves of equal length of at
            # most the order's length (32 bytes for P-256; 64 in practice).
            half = len(raw) // 2
            if len(raw) % 2 or not 0 < half <= 32:
                raise KeyUnusable(f"{what}: the token returned {len(raw)} bytes, not r||s")
            return encode_dss_signature(
                int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
            )

        return sign

    def sign(self, label: str, algorithm: Algorithm, message: bytes) -> bytes:
        """Sign ``message`` with key ``label`` under ``algorithm`` (signature as stored).

        Each call looks the key up; :meth:`signing_function` and :class:`Pkcs11Signer` do
        that once.
        """
        return self.signing_function(label, algorithm)(message)

    def signing_function(self, label: str, algorithm: Algorithm) -> Callable[[bytes], bytes]:
        """Look key ``label`` up once; return ``sign(message)`` for ``algorithm``."""
        algorithm = Algorithm(algorithm)
        public = self.public_key(label)
        if algorithm not in _allowed_algorithms(public):
            raise UnsupportedAlgorithm(f"a {type(public).__name__} cannot sign {algorithm.label}")
        key_type = KeyType.EC if isinstance(public, ec.EllipticCurvePublicKey) else KeyType.RSA
        return self._signing_function(label, key_type, algorithm)

    def signer(
        self, label: str, certificate: x509.Certificate, algorithm: Algorithm | None = None
    ) -> Pkcs11Signer:
        """A :class:`Pkcs11Signer` for key ``label`` bound to ``certificate``."""
        return Pkcs11Signer(self, label, certificate, algorithm)


def _allowed_algorithms(key: PublicKey) -> set[Algorithm]:
    if isinstance(key, rsa.RSAPublicKey):
        return {Algorithm.RSA_PSS_SHA256, Algorithm.RSA_PKCS1V15_SHA256}
    if isinstance(key, ec.EllipticCurvePublicKey):
        return {Algorithm.ECDSA_P256_SHA256}
    return set()


class Pkcs11Signer:
    """A :class:`signing.keys.Signer` whose private key stays in a PKCS#11 token.

    Bound at construction to the token key labelled ``label`` and to ``certificate``: raises
    :class:`KeyMismatch` when the token's public key is not the certificate's,
    :class:`KeyUnusable` when the key is missing or cannot sign, :class:`UnsupportedAlgorithm`
    when ``algorithm`` does not fit the key (RSA keys may use ``RSA_PSS_SHA256``, the default,
    or ``RSA_PKCS1V15_SHA256``), and :class:`CertificateError` for an unreadable certificate.
    :meth:`sign` raises :class:`KeyUnusable` when the token fails (removed, session closed).
    """

    __slots__ = (
        "__weakref__",
        "_algorithm",
        "_certificate",
        "_fingerprint",
        "_label",
        "_sign",
        "_token",
    )

    def __init__(
        self,
        token: Pkcs11Token,
        label: str,
        certificate: x509.Certificate,
        algorithm: Algorithm | None = None,
    ) -> None:
        """Bind token key ``label`` to ``certificate``; see the class docstring for errors."""
        try:
            cert_key = sig_algorithms.check_public_key(certificate.public_key())
        except ValueError as e:
            raise CertificateError(f"certificate public key cannot be read: {e}") from None
        token_key = token.public_key(label)
        if _spki(token_key) != _spki(cert_key):
            raise KeyMismatch(
                f"token key {label!r} does not belong to the certificate for "
                f"{certificate.subject.rfc4514_string()}"
            )
        chosen = (
            sig_algorithms.default_algorithm_for(token_key)
            if algorithm is None
            else Algorithm(algorithm)
        )
        if chosen not in _allowed_algorithms(token_key):
            raise UnsupportedAlgorithm(
                f"a {type(token_key).__name__} cannot sign with {chosen.label}"
            )
        key_type = KeyType.EC if isinstance(token_key, ec.EllipticCurvePublicKey) else KeyType.RSA
        self._sign = token._signing_function(label, key_type, chosen)
        self._token = token
        self._label = label
        self._certificate = certificate
        self._algorithm = chosen
        self._fingerprint = certificate_fingerprint(certificate)

    @property
    def certificate(self) -> x509.Certificate:
        """The signer's X.509 certificate."""
        return self._certificate

    @property
    def fingerprint(self) -> bytes:
        """SHA-256 of the certificate's DER encoding (32 bytes)."""
        return self._fingerprint

    @property
    def algorithm(self) -> Algorithm:
        """The algorithm :meth:`sign` uses."""
        return self._algorithm

    @property
    def label(self) -> str:
        """Label of the token key."""
        return self._label

    @property
    def token(self) -> Pkcs11Token:
        """The token holding the key."""
        return self._token

    def sign(self, message: bytes) -> bytes:
        """Sign ``message`` under :attr:`algorithm` inside the token."""
        return self._sign(message)

    def __repr__(self) -> str:
        return (
            f"Pkcs11Signer(token={self._token.token_label!r}, key={self._label!r}, "
            f"subject={self._certificate.subject.rfc4514_string()!r}, "
            f"algorithm={self._algorithm.label}, fingerprint={self._fingerprint.hex()})"
        )

    __str__ = __repr__
