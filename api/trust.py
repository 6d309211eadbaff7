"""The standing trust configuration of a data directory (docs/trust.md §1).

Trust anchors are the demo root (``DATA/pki/ca/root.pem``) plus every certificate in
``DATA/trust/anchors.pem``; intermediates are the demo Sở and school CAs plus every
certificate in ``DATA/trust/intermediates.pem``. Both files are optional and hold PEM
certificates, concatenated (``cat neac-root.pem >> DATA/trust/anchors.pem`` works, and so does
``socai pki trust add``). Text outside the PEM blocks (``openssl x509 -text`` output, comments)
is ignored; any other PEM block type, or a block that does not parse, is an error naming the
file: a trust file is never half-read.

The files are public (certificates only); nothing here reads a key or a passphrase.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import secrets
from collections.abc import Iterable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from ledger.application import Trust
from ledger.errors import InvalidInput
from signing.pki import DemoPKI

__all__ = [
    "ANCHORS_FILE",
    "INTERMEDIATES_FILE",
    "TRUST_DIR",
    "append_certificates",
    "fingerprint_text",
    "load_trust",
    "read_pem_certificates",
    "trust_dir",
]

TRUST_DIR = "trust"
ANCHORS_FILE = "anchors.pem"
INTERMEDIATES_FILE = "intermediates.pem"

_FILE_MODE = 0o644  # certificates are public
_DIR_MODE = 0o700

# RFC 7468 §3 textual encoding: a label, base64 lines, the same label.
_PEM_BLOCK = re.compile(
    rb"-----BEGIN ([A-Z0-9 #]+)-----\s*(.*?)\s*-----END ([A-Z0-9 #]+)-----", re.DOTALL
)
_BEGIN = re.compile(rb"-----BEGIN [^-\r\n]*-----")


def trust_dir(data_dir: Path) -> Path:
    """``DATA/trust``."""
    return Path(data_dir) / TRUST_DIR


def fingerprint_text(cert: x509.Certificate) -> str:
    """SHA-256 of the DER, as ``openssl x509 -noout -fingerprint -sha256`` prints it."""
    digest = hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def read_pem_certificates(data: bytes, source: str) -> list[x509.Certificate]:
    """Every ``CERTIFICATE`` block in ``data``, in order.

    Raises :class:`InvalidInput` naming ``source`` for a block that does not parse, a PEM
    block of another type (a private key in a trust file is a mistake worth stopping for), a
    ``BEGIN`` line without its ``END``, or non-blank data without any certificate block.
    """
    certs: list[x509.Certificate] = []
    matches = list(_PEM_BLOCK.finditer(data))
    if len(_BEGIN.findall(data)) != len(matches):
        raise InvalidInput(f"{source}: malformed PEM (a BEGIN line without its END line)")
    for number, match in enumerate(matches, start=1):
        label, body, end_label = match.group(1), match.group(2), match.group(3)
        if label != end_label:
            raise InvalidInput(f"{source}: PEM block {number} begins {label!r}, ends {end_label!r}")
        if label != b"CERTIFICATE":
            raise InvalidInput(
                f"{source}: PEM block {number} is {label.decode('ascii')!r}; "
                "only CERTIFICATE blocks belong in a trust file"
            )
        try:
            der = base64.b64decode(b"".join(body.split()), validate=True)
            certs.append(x509.load_der_x509_certificate(der))
        except (binascii.Error, ValueError) as e:
            raise InvalidInput(
                f"{source}: PEM block {number} is not a valid X.509 certificate: {e}"
            ) from None
    if not certs and data.strip():
        raise InvalidInput(f"{source}: no PEM certificate found")
    return certs


def _read_file(path: Path) -> list[x509.Certificate]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as e:
        raise InvalidInput(f"cannot read trust file {path}: {e.strerror}") from None
    return read_pem_certificates(data, str(path))


def _unique(certs: Iterable[x509.Certificate]) -> list[x509.Certificate]:
    seen: set[bytes] = set()
    out = []
    for cert in certs:
        der = cert.public_bytes(Encoding.DER)
        if der not in seen:
            seen.add(der)
            out.append(cert)
    return out


def load_trust(data_dir: Path | str, pki: DemoPKI) -> Trust:
    """Anchors and intermediates of ``data_dir``: the demo PKI's plus ``DATA/trust/*.pem``.

    Raises :class:`InvalidInput` naming the file when a trust file is malformed.
    """
    directory = trust_dir(Path(data_dir))
    roots = _unique([*pki.trust_roots(), *_read_file(directory / ANCHORS_FILE)])
    intermediates = _unique([*pki.intermediates(), *_read_file(directory / INTERMEDIATES_FILE)])
    return Trust(roots, intermediates)


def append_certificates(path: Path, certs: Iterable[x509.Certificate]) -> None:
    """Append ``certs`` as PEM to ``path``, atomically (all or nothing).

    The directory is created with mode 0700; a new file gets 0644, an existing one keeps its
    mode (docs/trust.md suggests making it read-only). The existing bytes are kept verbatim;
    a missing final newline is added so that the blocks stay separate.
    """
    path.parent.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
    try:
        existing = path.read_bytes()
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        existing, mode = b"", _FILE_MODE
    if existing and not existing.endswith(b"\n"):
        existing += b"\n"
    data = existing + b"".join(c.public_bytes(Encoding.PEM) for c in certs)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)  # the umask may have narrowed it
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
