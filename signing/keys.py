"""Signing keys: the :class:`Signer` seam, software keys, and encrypted key files.

Key files are PKCS#8 ``ENCRYPTED PRIVATE KEY`` PEM (RFC 5958 §3) using PBES2 (RFC 8018 §6.2)
with scrypt (RFC 7914 §7) as the KDF and AES-256-CBC as the cipher. cryptography 50 only offers
PBKDF2-SHA256 with 2,048 iterations through ``BestAvailableEncryption`` for PKCS#8, which is cheap
to brute-force, so this module builds the PBES2 structure itself; cryptography (and OpenSSL,
``openssl pkcs8 -in key.pem``) read it back. Key files are created with mode 0600 and never
replace an existing file.

The passphrase comes from ``SOCAI_KEY_PASSPHRASE`` or from a generated file under the data
directory (:func:`resolve_passphrase`). Nothing here logs or prints a passphrase or key.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import hashlib
import os
import secrets
import stat
from pathlib import Path
from typing import Literal, Protocol, TypeAlias, runtime_checkable

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm as CryptographyUnsupportedAlgorithm
from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from cryptography.hazmat.primitives.serialization import pkcs12

from signing import algorithms as sig_algorithms
from signing.algorithms import Algorithm, PrivateKey
from signing.errors import CertificateError, KeyMismatch, KeyUnusable, UnsupportedAlgorithm

__all__ = [
    "PASSPHRASE_ENV",
    "SCRYPT_COST",
    "KeyType",
    "Signer",
    "SoftwareSigner",
    "certificate_fingerprint",
    "generate_private_key",
    "import_pkcs12",
    "load_certificate",
    "load_private_key",
    "load_signer",
    "passphrase_file",
    "resolve_passphrase",
    "save_private_key",
]

PASSPHRASE_ENV = "SOCAI_KEY_PASSPHRASE"  # noqa: S105 - the variable's name, not a secret
"""Environment variable that, when set and non-empty, holds the key-file passphrase."""

SCRYPT_COST = 2**14
"""scrypt N for new key files (r=8, p=1: 16 MiB and about 50 ms per derivation).

This is OpenSSL's ``-scrypt`` default; a higher N (2**15 or more) exceeds the 32 MiB scrypt
memory limit of the ``openssl`` command line, which could then no longer read the files. N is
stored in each file, so changing it later does not break existing files."""

_SCRYPT_R = 8
_SCRYPT_P = 1

KeyType: TypeAlias = Literal["ec-p256", "ed25519", "rsa-2048"]
"""Key types the embedded PKI generates."""


@runtime_checkable
class Signer(Protocol):
    """Something that signs bytes as the holder of one certificate (software key, token, HSM)."""

    @property
    def certificate(self) -> x509.Certificate:
        """The signer's X.509 certificate."""
        ...

    @property
    def fingerprint(self) -> bytes:
        """SHA-256 of the certificate's DER encoding (32 bytes)."""
        ...

    @property
    def algorithm(self) -> Algorithm:
        """The algorithm :meth:`sign` uses."""
        ...

    def sign(self, message: bytes) -> bytes:
        """Sign ``message`` under :attr:`algorithm`."""
        ...


def certificate_fingerprint(cert: x509.Certificate) -> bytes:
    """SHA-256 of the certificate's DER encoding (32 bytes)."""
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest()


def _spki(key: PrivateKey | x509.Certificate) -> bytes:
    public = key.public_key()
    return public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


class SoftwareSigner:
    """A :class:`Signer` backed by a private key held in this process."""

    __slots__ = ("__weakref__", "_algorithm", "_certificate", "_fingerprint", "_key", "_sign")

    def __init__(
        self,
        private_key: PrivateKeyTypes,
        certificate: x509.Certificate,
        algorithm: Algorithm | None = None,
    ) -> None:
        """Bind ``private_key`` to ``certificate``.

        ``algorithm`` defaults per key type (:func:`signing.algorithms.default_algorithm_for`);
        RSA keys may name ``RSA_PKCS1V15_SHA256`` instead. Raises :class:`KeyMismatch` when the
        key does not belong to the certificate, :class:`UnsupportedAlgorithm` when the key or
        the algorithm is not accepted.
        """
        key = sig_algorithms.check_private_key(private_key)
        default = sig_algorithms.default_algorithm_for(key)
        if algorithm is None:
            algorithm = default
        else:
            algorithm = Algorithm(algorithm)
            allowed = (
                {Algorithm.RSA_PSS_SHA256, Algorithm.RSA_PKCS1V15_SHA256}
                if isinstance(key, rsa.RSAPrivateKey)
                else {default}
            )
            if algorithm not in allowed:
                raise UnsupportedAlgorithm(
                    f"a {type(key).__name__} cannot sign with {algorithm.label}"
                )
        try:
            cert_spki = _spki(certificate)
        except (ValueError, CryptographyUnsupportedAlgorithm) as e:
            raise CertificateError(f"certificate public key cannot be read: {e}") from None
        if _spki(key) != cert_spki:
            raise KeyMismatch(
                "private key does not belong to the certificate for "
                f"{certificate.subject.rfc4514_string()}"
            )
        self._key: PrivateKey = key
        # Key and algorithm are checked once here, not on every signature.
        self._sign = sig_algorithms.signing_function(key, algorithm)
        self._certificate = certificate
        self._algorithm = algorithm
        self._fingerprint = certificate_fingerprint(certificate)

    @property
    def certificate(self) -> x509.Certificate:
        """The signer's X.509 certificate."""
        return self._certificate

    @property
    def fingerprint(self) -> bytes:
        """SHA-256 of the certificate's DER encoding (32 bytes), computed once."""
        return self._fingerprint

    @property
    def algorithm(self) -> Algorithm:
        """The algorithm :meth:`sign` uses."""
        return self._algorithm

    def sign(self, message: bytes) -> bytes:
        """Sign ``message`` under :attr:`algorithm`."""
        return self._sign(message)

    def __repr__(self) -> str:
        # Names the certificate only: a repr ends up in logs and tracebacks.
        return (
            f"SoftwareSigner(subject={self._certificate.subject.rfc4514_string()!r}, "
            f"algorithm={self._algorithm.label}, fingerprint={self._fingerprint.hex()})"
        )

    __str__ = __repr__


def generate_private_key(key_type: KeyType = "ec-p256") -> PrivateKey:
    """Generate a fresh private key of ``key_type``."""
    if key_type == "ec-p256":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if key_type == "rsa-2048":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    raise UnsupportedAlgorithm(f"unknown key type {key_type!r}")


# --- PKCS#8 encryption (PBES2 + scrypt + AES-256-CBC), a minimal DER writer -----------------

_OID_PBES2 = "1.2.840.113549.1.5.13"  # RFC 8018 Appendix A.4
_OID_SCRYPT = "1.3.6.1.4.1.11591.4.11"  # RFC 7914 §7
_OID_AES256_CBC = "2.16.840.1.101.3.4.1.42"  # RFC 8018 Appendix B.2.5 (NIST aes256-CBC-PAD)


def _der(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    length = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content


def _der_int(value: int) -> bytes:
    # Positive integers only; one extra byte keeps the sign bit clear.
    return _der(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def _der_oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    body = bytearray()
    for arc in [40 * arcs[0] + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body.extend(reversed(chunk))
    return _der(0x06, bytes(body))


def _der_seq(*items: bytes) -> bytes:
    return _der(0x30, b"".join(items))


def _encrypt_pkcs8(key: PrivateKey, passphrase: bytes) -> bytes:
    """Return DER ``EncryptedPrivateKeyInfo`` (RFC 5958 §3) with PBES2/scrypt/AES-256-CBC."""
    plain = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    salt = secrets.token_bytes(16)
    iv = secrets.token_bytes(16)
    kek = Scrypt(salt=salt, length=32, n=SCRYPT_COST, r=_SCRYPT_R, p=_SCRYPT_P).derive(passphrase)
    padder = sym_padding.PKCS7(128).padder()
    padded = padder.update(plain) + padder.finalize()
    encryptor = Cipher(algorithms.AES(kek), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    scrypt_params = _der_seq(  # RFC 7914 §7: scrypt-params, keyLength omitted as OpenSSL does
        _der(0x04, salt), _der_int(SCRYPT_COST), _der_int(_SCRYPT_R), _der_int(_SCRYPT_P)
    )
    pbes2_params = _der_seq(
        _der_seq(_der_oid(_OID_SCRYPT), scrypt_params),
        _der_seq(_der_oid(_OID_AES256_CBC), _der(0x04, iv)),
    )
    return _der_seq(_der_seq(_der_oid(_OID_PBES2), pbes2_params), _der(0x04, ciphertext))


def _pem(label: str, der: bytes) -> bytes:
    b64 = base64.b64encode(der)
    lines = [b64[i : i + 64] + b"\n" for i in range(0, len(b64), 64)]
    return (
        f"-----BEGIN {label}-----\n".encode()
        + b"".join(lines)
        + f"-----END {label}-----\n".encode()
    )


# --- private files ---------------------------------------------------------------------------


def fsync_directory(directory: Path) -> None:
    """fsync a directory, so that a new or renamed entry in it is durable."""
    # Makes the new directory entry durable; not every platform lets a directory be opened.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_private_file(path: Path, data: bytes) -> None:
    """Create ``path`` with mode 0600 holding ``data``, atomically; never replace a file.

    Raises FileExistsError when ``path`` exists, OSError on I/O failure.
    """
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    # The mode is set at creation so the bytes are never readable by others, even briefly.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        try:
            # A hard link publishes the complete file and fails if the name is taken.
            os.link(tmp, path)
        except FileExistsError:
            raise
        except OSError as e:
            if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
                raise
            # Filesystems without hard links: replace after an existence check (racy only
            # against another writer of the same new key, which the callers do not have).
            if path.exists():
                raise FileExistsError(errno.EEXIST, "file exists", str(path)) from None
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_directory(path.parent)


def save_private_key(path: Path | str, key: PrivateKeyTypes, passphrase: bytes) -> None:
    """Write ``key`` to a new file ``path`` as encrypted PKCS#8 PEM, mode 0600.

    Raises :class:`KeyUnusable` for an empty passphrase, an existing file or an I/O error, and
    :class:`UnsupportedAlgorithm` for a key type the ledger does not accept.
    """
    path = Path(path)
    checked = sig_algorithms.check_private_key(key)
    if not passphrase:
        raise KeyUnusable("refusing to write an unencrypted key: the passphrase is empty")
    pem = _pem("ENCRYPTED PRIVATE KEY", _encrypt_pkcs8(checked, passphrase))
    try:
        write_private_file(path, pem)
    except FileExistsError:
        raise KeyUnusable(f"refusing to overwrite existing key file {path}") from None
    except OSError as e:
        raise KeyUnusable(f"cannot write key file {path}: {e.strerror}") from None


def load_private_key(path: Path | str, passphrase: bytes) -> PrivateKey:
    """Read and decrypt an encrypted PKCS#8 PEM key file.

    Raises :class:`KeyUnusable` when the file cannot be read, is not an encrypted PKCS#8 key
    (unencrypted keys are refused), or does not decrypt with ``passphrase``; and
    :class:`UnsupportedAlgorithm` for a key type the ledger does not accept.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise KeyUnusable(f"cannot read key file {path}: {e.strerror}") from None
    if b"-----BEGIN ENCRYPTED PRIVATE KEY-----" not in data:
        if b"PRIVATE KEY-----" in data:
            raise KeyUnusable(
                f"{path} holds an unencrypted or legacy-format private key; only encrypted "
                "PKCS#8 (BEGIN ENCRYPTED PRIVATE KEY) is accepted"
            )
        raise KeyUnusable(f"{path} is not a PEM private key file")
    try:
        key = serialization.load_pem_private_key(data, password=passphrase)
    except ValueError:
        # cryptography does not tell a wrong passphrase from a damaged file.
        raise KeyUnusable(f"cannot decrypt {path}: wrong passphrase or damaged file") from None
    except TypeError:
        raise KeyUnusable(f"{path} holds an unencrypted private key; refusing it") from None
    except CryptographyUnsupportedAlgorithm as e:
        raise KeyUnusable(f"cannot decrypt {path}: {e}") from None
    return sig_algorithms.check_private_key(key)


def load_certificate(path: Path | str) -> x509.Certificate:
    """Read one X.509 certificate (PEM or DER); raise :class:`CertificateError` on failure."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise CertificateError(f"cannot read certificate {path}: {e.strerror}") from None
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError as e:
        raise CertificateError(f"{path} is not a valid X.509 certificate: {e}") from None


def load_signer(
    key_path: Path | str,
    cert_path: Path | str,
    passphrase: bytes,
    algorithm: Algorithm | None = None,
) -> SoftwareSigner:
    """Load an encrypted key file and its certificate into a :class:`SoftwareSigner`."""
    return SoftwareSigner(
        load_private_key(key_path, passphrase), load_certificate(cert_path), algorithm
    )


# --- PKCS#12 import ---------------------------------------------------------------------------


def import_pkcs12(
    data: bytes, password: bytes | None
) -> tuple[PrivateKey, x509.Certificate, list[x509.Certificate]]:
    """Read a PKCS#12 (.p12/.pfx) file: its private key, its certificate and the others.

    The others are the additional certificates in the file (usually the CA chain), in file
    order. Raises :class:`KeyUnusable` for a wrong password, bytes that are not PKCS#12, or a
    file without a private key or without its certificate; :class:`KeyMismatch` when the key
    does not belong to the certificate; :class:`UnsupportedAlgorithm` for a key type the
    ledger does not accept. To keep the key, write it with :func:`save_private_key`.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise KeyUnusable("PKCS#12 data must be bytes")
    try:
        key, cert, others = pkcs12.load_key_and_certificates(bytes(data), password)
    except ValueError:
        # cryptography does not tell a wrong password from a damaged or foreign file.
        raise KeyUnusable(
            "cannot read the PKCS#12 file: wrong password, or not a PKCS#12 file"
        ) from None
    except TypeError:
        raise KeyUnusable("cannot read the PKCS#12 file: the password is not bytes") from None
    except CryptographyUnsupportedAlgorithm as e:
        raise KeyUnusable(f"cannot read the PKCS#12 file: {e}") from None
    if key is None:
        raise KeyUnusable("the PKCS#12 file holds no private key")
    if cert is None:
        raise KeyUnusable("the PKCS#12 file holds no certificate for its private key")
    checked = sig_algorithms.check_private_key(key)
    try:
        cert_spki = _spki(cert)
    except (ValueError, CryptographyUnsupportedAlgorithm) as e:
        raise CertificateError(f"certificate public key cannot be read: {e}") from None
    if _spki(checked) != cert_spki:
        raise KeyMismatch(
            "the PKCS#12 private key does not belong to its certificate for "
            f"{cert.subject.rfc4514_string()}"
        )
    return checked, cert, list(others)


# --- passphrase ------------------------------------------------------------------------------


def passphrase_file(data_dir: Path | str) -> Path:
    """Where :func:`resolve_passphrase` keeps the generated passphrase under ``data_dir``."""
    return Path(data_dir) / "secrets" / "key-passphrase"


def _read_passphrase_file(path: Path) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        raise KeyUnusable(f"cannot read passphrase file {path}: {e.strerror}") from None
    with os.fdopen(fd, "rb") as f:
        # fstat on the open file, so the mode checked is the mode of the bytes read.
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise KeyUnusable(f"passphrase file {path} is not a regular file")
        if st.st_mode & 0o077:
            raise KeyUnusable(
                f"passphrase file {path} has mode {stat.S_IMODE(st.st_mode):04o}; it must not "
                "be accessible to group or others (chmod 600)"
            )
        passphrase = f.read().strip()
    if not passphrase:
        raise KeyUnusable(f"passphrase file {path} is empty")
    return passphrase


def resolve_passphrase(data_dir: Path | str, *, create: bool) -> bytes:
    """Return the key-file passphrase.

    Order: ``$SOCAI_KEY_PASSPHRASE`` when set and non-empty; else the file
    ``data_dir/secrets/key-passphrase``. With ``create=True`` a missing file is generated
    (32 random bytes, base64url, mode 0600, directory 0700). A file readable by group or
    others is refused. Raises :class:`KeyUnusable` when no passphrase can be had.
    """
    from_env = os.environ.get(PASSPHRASE_ENV)
    if from_env:
        return from_env.encode("utf-8")
    path = passphrase_file(data_dir)
    if path.exists() or not create:
        if not path.exists():
            raise KeyUnusable(
                f"no key passphrase: set {PASSPHRASE_ENV} or create {path} (socai init does)"
            )
        return _read_passphrase_file(path)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_private_file(path, (secrets.token_urlsafe(32) + "\n").encode("ascii"))
    except FileExistsError:
        pass  # Another process created it first; use theirs.
    except OSError as e:
        raise KeyUnusable(f"cannot create passphrase file {path}: {e.strerror}") from None
    return _read_passphrase_file(path)
