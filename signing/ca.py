"""One issuing certificate authority: what it issued, what it revoked, its CRL and OCSP answers.

A :class:`CertificateAuthority` is a CA certificate, its private key, and a small SQLite
database of the CA's own. The issuing functions in :mod:`signing.pki` stay pure: they return
certificates, and the caller records them here with :meth:`CertificateAuthority.record_issued`.
Revocation status is then served two ways, both bytes in, bytes out, so that an HTTP layer can
wrap them directly:

- :meth:`CertificateAuthority.crl` returns a DER CRL (RFC 5280 §5) signed by the CA;
- :meth:`CertificateAuthority.ocsp_respond` answers a DER OCSP request (RFC 6960) with a DER
  OCSP response signed by the CA itself. The responder is the issuer (RFC 6960 §4.2.2.2), so
  the response carries no certificates: a client checks it with the issuer certificate it
  already used to build the request. :func:`ocsp_malformed_response` is the unsigned answer to
  a request that raised :class:`MalformedRequest`.

Database layout (``PRAGMA user_version = 1``; journal_mode=WAL, synchronous=FULL; the file is
created with mode 0600, and SQLite gives its -wal and -shm files the same mode)::

    issued(serial TEXT PRIMARY KEY,     -- lower-case hex, no leading zeros, no 0x
           subject TEXT,                -- RFC 4514 string
           not_before TEXT, not_after TEXT,   -- UTC ISO 8601, seconds
           der BLOB)                    -- the certificate
    revocations(serial TEXT PRIMARY KEY REFERENCES issued,
                revoked_at TEXT,        -- UTC ISO 8601, seconds
                reason TEXT)            -- RFC 5280 CRLReason name, e.g. keyCompromise
    crls(number INTEGER PRIMARY KEY,    -- the CRLNumber of every CRL signed, increasing
         this_update TEXT, next_update TEXT)

Times: every ``now``/``at`` must be timezone-aware; they are truncated to whole seconds, the
resolution of the ASN.1 times in CRLs and OCSP responses, so that the database and the signed
structures say the same thing. A revocation dated after ``now`` is not yet in effect: it is
left out of ``crl(now)`` and ``ocsp_respond(..., now)`` answers GOOD until then.

Reason codes: the ``unspecified`` reason is stored, but, as RFC 5280 §5.3.1 recommends, the
CRL entry then carries no reasonCode extension, and the OCSP answer no revocationReason.
``removeFromCRL`` (delta CRLs only) is refused.

Private keys never appear in a repr or a message.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import sqlite3
import threading
from pathlib import Path
from types import TracebackType

from asn1crypto import keys as asn1_keys
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.exceptions import UnsupportedAlgorithm as CryptographyUnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.x509 import ocsp

from signing import algorithms as sig_algorithms
from signing.errors import CertificateError, KeyMismatch, MalformedRequest

__all__ = [
    "DEFAULT_CRL_VALIDITY",
    "DEFAULT_OCSP_VALIDITY",
    "CertificateAuthority",
    "MalformedRequest",
    "ocsp_malformed_response",
]

DEFAULT_CRL_VALIDITY = dt.timedelta(days=1)
"""nextUpdate - thisUpdate of a CRL unless the CA is told otherwise."""

DEFAULT_OCSP_VALIDITY = dt.timedelta(hours=1)
"""nextUpdate - thisUpdate of an OCSP response unless the CA is told otherwise."""

_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS issued (
    serial     TEXT PRIMARY KEY,
    subject    TEXT NOT NULL,
    not_before TEXT NOT NULL,
    not_after  TEXT NOT NULL,
    der        BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS revocations (
    serial     TEXT PRIMARY KEY REFERENCES issued(serial),
    revoked_at TEXT NOT NULL,
    reason     TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS crls (
    number      INTEGER PRIMARY KEY,
    this_update TEXT NOT NULL,
    next_update TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS requests (
    id          TEXT PRIMARY KEY,
    subject     TEXT NOT NULL,
    received_at TEXT NOT NULL,
    der         BLOB NOT NULL
);
"""

#: Most certificate requests kept waiting for an operator; more are refused.
MAX_PENDING_REQUESTS = 1000

# CertID hash algorithms a request may use (RFC 6960 §4.1.1 leaves the choice to the client;
# OpenSSL sends SHA-1 by default: there it identifies, it protects nothing).
_CERT_ID_HASHES = ("sha1", "sha224", "sha256", "sha384", "sha512")

# RFC 8954 §2.1: a nonce of 0 or more than 128 octets may be rejected as malformed.
_MAX_NONCE = 128


def ocsp_malformed_response() -> bytes:
    """DER OCSPResponse with status malformedRequest (RFC 6960 §4.2.1); unsigned by design."""
    return ocsp.OCSPResponseBuilder.build_unsuccessful(
        ocsp.OCSPResponseStatus.MALFORMED_REQUEST
    ).public_bytes(serialization.Encoding.DER)


def _utc(moment: dt.datetime, what: str) -> dt.datetime:
    if not isinstance(moment, dt.datetime) or moment.utcoffset() is None:
        raise CertificateError(f"{what} must be a timezone-aware datetime")
    return moment.astimezone(dt.UTC).replace(microsecond=0)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat()


def _serial_hex(serial: int) -> str:
    if isinstance(serial, bool) or not isinstance(serial, int) or serial < 0:
        raise CertificateError(f"a certificate serial number is a non-negative int: {serial!r}")
    return format(serial, "x")


def _spki_bits(cert: x509.Certificate) -> bytes:
    """The subjectPublicKey BIT STRING value, which the CertID key hash covers."""
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    contents: bytes = asn1_keys.PublicKeyInfo.load(spki)["public_key"].contents
    return contents[1:]  # the first content octet counts the unused bits (always 0 here)


def _ski(cert: x509.Certificate) -> x509.SubjectKeyIdentifier:
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:
        return x509.SubjectKeyIdentifier.from_public_key(cert.public_key())


def _create_private_file(path: Path) -> None:
    """Create an empty ``path`` with mode 0600 unless it exists (then leave it alone)."""
    try:
        fd = os.open(
            path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600
        )
    except FileExistsError:
        return
    os.close(fd)


class CertificateAuthority:
    """An issuing CA with its own SQLite database at ``database`` (see the module docstring).

    ``certificate`` must be a CA certificate and ``private_key`` its key (an ECDSA P-256,
    Ed25519 or RSA ≥ 2048 cryptography private key): :class:`KeyMismatch` otherwise. The
    object is safe to share between threads; several processes may open the same database.
    Close it with :meth:`close` or use it as a context manager.
    """

    def __init__(
        self,
        certificate: x509.Certificate,
        private_key: PrivateKeyTypes,
        database: Path | str,
        *,
        crl_validity: dt.timedelta = DEFAULT_CRL_VALIDITY,
        ocsp_validity: dt.timedelta = DEFAULT_OCSP_VALIDITY,
    ) -> None:
        """Bind the CA to its key and open (creating if needed) its database."""
        try:
            basic = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
        except x509.ExtensionNotFound:
            basic = None
        if basic is None or not basic.ca:
            raise CertificateError(
                f"{certificate.subject.rfc4514_string()} is not a CA certificate"
            )
        key = sig_algorithms.check_private_key(private_key)
        spki = serialization.PublicFormat.SubjectPublicKeyInfo
        if key.public_key().public_bytes(
            serialization.Encoding.DER, spki
        ) != certificate.public_key().public_bytes(serialization.Encoding.DER, spki):
            raise KeyMismatch(
                f"private key does not belong to {certificate.subject.rfc4514_string()}"
            )
        if crl_validity <= dt.timedelta(0) or ocsp_validity <= dt.timedelta(0):
            raise CertificateError("CRL and OCSP validity periods must be positive")
        self._certificate = certificate
        self._key = key
        # Ed25519 signs the TBS bytes directly (RFC 8410 §6); the others use SHA-256.
        self._hash: hashes.SHA256 | None = (
            None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
        )
        self._crl_validity = crl_validity
        self._ocsp_validity = ocsp_validity
        self._aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
            _ski(certificate)
        )
        name_der = certificate.subject.public_bytes()
        key_bits = _spki_bits(certificate)
        # CertID (RFC 6960 §4.1.1) hashes of this CA, per hash algorithm OID.
        self._cert_id = {
            name: (hashlib.new(name, name_der).digest(), hashlib.new(name, key_bits).digest())
            for name in _CERT_ID_HASHES
        }
        self._path = Path(database)
        self._lock = threading.Lock()
        try:
            _create_private_file(self._path)
            self._db = sqlite3.connect(
                self._path, isolation_level=None, check_same_thread=False, timeout=10.0
            )
        except (OSError, sqlite3.Error) as e:
            raise CertificateError(f"cannot open CA database {self._path}: {e}") from None
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, _SCHEMA_VERSION):
                raise CertificateError(
                    f"CA database {self._path} has schema version {version}, "
                    f"this code knows {_SCHEMA_VERSION}"
                )
            self._db.executescript(_SCHEMA)
            self._db.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
        except sqlite3.Error as e:
            self._db.close()
            raise CertificateError(f"cannot open CA database {self._path}: {e}") from None
        except CertificateError:
            self._db.close()
            raise

    # Lifecycle --------------------------------------------------------------------------------

    @property
    def certificate(self) -> x509.Certificate:
        """The CA certificate."""
        return self._certificate

    @property
    def database(self) -> Path:
        """Path of the CA's SQLite database."""
        return self._path

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> CertificateAuthority:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        # The certificate and the database only: a repr ends up in logs and tracebacks.
        return (
            f"CertificateAuthority(subject={self._certificate.subject.rfc4514_string()!r}, "
            f"database={str(self._path)!r})"
        )

    __str__ = __repr__

    # Issued certificates ------------------------------------------------------------------------

    def record_issued(self, cert: x509.Certificate) -> None:
        """Record a certificate this CA signed.

        Recording the same certificate again is a no-op. Raises :class:`CertificateError` when
        ``cert`` was not signed by this CA, or when its serial is already recorded for a
        different certificate.
        """
        try:
            cert.verify_directly_issued_by(self._certificate)
        except (ValueError, TypeError, InvalidSignature, CryptographyUnsupportedAlgorithm):
            raise CertificateError(
                f"{cert.subject.rfc4514_string()} was not issued by "
                f"{self._certificate.subject.rfc4514_string()}"
            ) from None
        der = cert.public_bytes(serialization.Encoding.DER)
        serial = _serial_hex(cert.serial_number)
        row = (
            serial,
            cert.subject.rfc4514_string(),
            _iso(cert.not_valid_before_utc),
            _iso(cert.not_valid_after_utc),
            der,
        )
        with self._lock, self._transaction():
            existing = self._db.execute(
                "SELECT der FROM issued WHERE serial = ?", (serial,)
            ).fetchone()
            if existing is None:
                self._db.execute("INSERT INTO issued VALUES (?, ?, ?, ?, ?)", row)
            elif bytes(existing[0]) != der:
                raise CertificateError(
                    f"serial {serial} is already recorded for a different certificate"
                )

    def issued(self, serial: int) -> x509.Certificate | None:
        """The certificate with this serial that this CA issued, or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT der FROM issued WHERE serial = ?", (_serial_hex(serial),)
            ).fetchone()
        return None if row is None else x509.load_der_x509_certificate(bytes(row[0]))

    # Certificate requests ---------------------------------------------------------------------

    def submit_request(self, data: bytes, now: dt.datetime) -> str:
        """Queue a PKCS#10 request (DER) for an operator to decide on; return its id.

        Nothing is issued here: issuing is an operator's decision (``socai pki issue``), and
        the subject of an issued certificate comes from the CA's records, not from the
        request. The id is the SHA-256 of the DER, so submitting the same request again
        returns the same id. Raises :class:`MalformedRequest` for bytes that are not a DER
        CSR or whose self-signature does not verify, and :class:`CertificateError` when
        :data:`MAX_PENDING_REQUESTS` are already waiting.
        """
        try:
            csr = x509.load_der_x509_csr(data)
            valid = csr.is_signature_valid
        except (ValueError, TypeError, CryptographyUnsupportedAlgorithm):
            raise MalformedRequest("not a DER PKCS#10 certificate request") from None
        if not valid:
            raise MalformedRequest("the certificate request's signature does not verify")
        request_id = hashlib.sha256(data).hexdigest()[:32]
        with self._lock, self._transaction():
            if self._db.execute("SELECT 1 FROM requests WHERE id = ?", (request_id,)).fetchone():
                return request_id
            (waiting,) = self._db.execute("SELECT count(*) FROM requests").fetchone()
            if waiting >= MAX_PENDING_REQUESTS:
                raise CertificateError("too many certificate requests are waiting; try later")
            self._db.execute(
                "INSERT INTO requests VALUES (?, ?, ?, ?)",
                (request_id, csr.subject.rfc4514_string(), _iso(_utc(now, "now")), data),
            )
        return request_id

    def pending_requests(self) -> list[tuple[str, str, str]]:
        """Waiting requests as (id, subject, received_at), oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, subject, received_at FROM requests ORDER BY received_at, id"
            ).fetchall()
        return [(str(a), str(b), str(c)) for a, b, c in rows]

    def take_request(self, request_id: str) -> x509.CertificateSigningRequest:
        """Remove a waiting request from the queue and return it (for issuing or refusing)."""
        with self._lock, self._transaction():
            row = self._db.execute(
                "SELECT der FROM requests WHERE id = ?", (request_id,)
            ).fetchone()
            if row is None:
                raise CertificateError(f"no waiting certificate request {request_id!r}")
            self._db.execute("DELETE FROM requests WHERE id = ?", (request_id,))
        return x509.load_der_x509_csr(bytes(row[0]))

    # Revocation ---------------------------------------------------------------------------------

    def revoke(self, serial: int, reason: x509.ReasonFlags, at: dt.datetime) -> None:
        """Revoke an issued certificate as of ``at`` (timezone-aware; whole seconds kept).

        Idempotent: revoking again with the same reason and time returns quietly, so a retried
        request is harmless. Raises :class:`CertificateError` for a serial this CA never
        issued, for a certificate already revoked with another reason or time, and for
        ``removeFromCRL``.
        """
        key = _serial_hex(serial)
        reason = x509.ReasonFlags(reason)
        if reason is x509.ReasonFlags.remove_from_crl:
            raise CertificateError("removeFromCRL is for delta CRLs and cannot revoke")
        when = _iso(_utc(at, "revocation time"))
        with self._lock, self._transaction():
            if self._db.execute("SELECT 1 FROM issued WHERE serial = ?", (key,)).fetchone() is None:
                raise CertificateError(f"serial {key} was not issued by this CA")
            row = self._db.execute(
                "SELECT revoked_at, reason FROM revocations WHERE serial = ?", (key,)
            ).fetchone()
            if row is not None:
                if (row[0], row[1]) == (when, reason.value):
                    return
                raise CertificateError(
                    f"serial {key} is already revoked (at {row[0]}, reason {row[1]})"
                )
            self._db.execute("INSERT INTO revocations VALUES (?, ?, ?)", (key, when, reason.value))

    def revocation(self, serial: int) -> tuple[dt.datetime, x509.ReasonFlags] | None:
        """When and why the certificate was revoked, or None if it is not (or not ours)."""
        with self._lock:
            row = self._db.execute(
                "SELECT revoked_at, reason FROM revocations WHERE serial = ?",
                (_serial_hex(serial),),
            ).fetchone()
        if row is None:
            return None
        return dt.datetime.fromisoformat(row[0]), x509.ReasonFlags(row[1])

    # CRL ------------------------------------------------------------------------------------------

    def crl(self, now: dt.datetime) -> bytes:
        """A fresh DER CRL: thisUpdate ``now``, the next CRL number, revocations up to ``now``.

        Every call signs a new CRL with a new, persisted, strictly increasing CRLNumber; an HTTP
        layer should cache the bytes until shortly before their nextUpdate.
        """
        this_update = _utc(now, "now")
        next_update = this_update + self._crl_validity
        with self._lock, self._transaction():
            number = self._db.execute("SELECT COALESCE(MAX(number), 0) + 1 FROM crls").fetchone()[0]
            builder = (
                x509.CertificateRevocationListBuilder()
                .issuer_name(self._certificate.subject)
                .last_update(this_update)
                .next_update(next_update)
                .add_extension(x509.CRLNumber(number), critical=False)
                .add_extension(self._aki, critical=False)
            )
            rows = self._db.execute(
                "SELECT serial, revoked_at, reason FROM revocations "
                "WHERE revoked_at <= ? ORDER BY revoked_at, serial",
                (_iso(this_update),),
            )
            for serial, revoked_at, reason_name in rows:
                entry = (
                    x509.RevokedCertificateBuilder()
                    .serial_number(int(serial, 16))
                    .revocation_date(dt.datetime.fromisoformat(revoked_at))
                )
                reason = x509.ReasonFlags(reason_name)
                if reason is not x509.ReasonFlags.unspecified:
                    entry = entry.add_extension(x509.CRLReason(reason), critical=False)
                builder = builder.add_revoked_certificate(entry.build())
            crl = builder.sign(self._key, self._hash)
            self._db.execute(
                "INSERT INTO crls VALUES (?, ?, ?)",
                (number, _iso(this_update), _iso(next_update)),
            )
        return crl.public_bytes(serialization.Encoding.DER)

    # OCSP -----------------------------------------------------------------------------------------

    def ocsp_respond(self, request_der: bytes, now: dt.datetime) -> bytes:
        """Answer a DER OCSP request with a DER OCSP response signed by this CA.

        The status is GOOD for a certificate this CA issued and has not revoked by ``now``,
        REVOKED (with time and reason) for one it has, and UNKNOWN for a serial it never issued
        or a CertID whose issuer name and key hashes are not this CA's. thisUpdate is ``now``,
        nextUpdate ``now`` + the OCSP validity; a nonce (RFC 8954) is echoed.

        Raises :class:`MalformedRequest` for bytes that are not one DER OCSPRequest with exactly
        one CertID (cryptography parses single-request OCSPRequests only; RFC 5019 §2.1.1 makes
        one CertID per request the profile), for an unsupported CertID hash algorithm, or for a
        nonce of 0 or more than 128 octets. Answer those with :func:`ocsp_malformed_response`.
        """
        this_update = _utc(now, "now")
        try:
            request = ocsp.load_der_ocsp_request(bytes(request_der))
            algorithm = request.hash_algorithm
            serial = request.serial_number
            name_hash = request.issuer_name_hash
            key_hash = request.issuer_key_hash
            extensions = request.extensions
        except (
            ValueError,
            TypeError,
            NotImplementedError,  # "more than one request"
            CryptographyUnsupportedAlgorithm,
        ) as e:
            raise MalformedRequest(f"not a single-request DER OCSP request: {e}") from None
        ours = self._cert_id.get(algorithm.name)
        if ours is None:
            raise MalformedRequest(f"unsupported CertID hash algorithm {algorithm.name}")
        nonce: bytes | None = None
        try:
            nonce = extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
        except x509.ExtensionNotFound:
            pass
        if nonce is not None and not 0 < len(nonce) <= _MAX_NONCE:
            raise MalformedRequest(f"nonce of {len(nonce)} octets (RFC 8954: 1 to 128)")

        status = ocsp.OCSPCertStatus.UNKNOWN
        revoked_at: dt.datetime | None = None
        reason: x509.ReasonFlags | None = None
        if ours == (name_hash, key_hash) and serial >= 0:
            with self._lock:
                row = self._db.execute(
                    "SELECT r.revoked_at, r.reason FROM issued AS i "
                    "LEFT JOIN revocations AS r ON r.serial = i.serial WHERE i.serial = ?",
                    (format(serial, "x"),),
                ).fetchone()
            if row is not None:
                status = ocsp.OCSPCertStatus.GOOD
                if row[0] is not None and row[0] <= _iso(this_update):
                    status = ocsp.OCSPCertStatus.REVOKED
                    revoked_at = dt.datetime.fromisoformat(row[0])
                    flag = x509.ReasonFlags(row[1])
                    reason = None if flag is x509.ReasonFlags.unspecified else flag

        builder = (
            ocsp.OCSPResponseBuilder()
            .add_response_by_hash(
                issuer_name_hash=name_hash,
                issuer_key_hash=key_hash,
                serial_number=serial,
                algorithm=algorithm,
                cert_status=status,
                this_update=this_update,
                next_update=this_update + self._ocsp_validity,
                revocation_time=revoked_at,
                revocation_reason=reason,
            )
            .responder_id(ocsp.OCSPResponderEncoding.HASH, self._certificate)
        )
        if nonce is not None:
            builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
        try:
            response = builder.sign(self._key, self._hash)
        except ValueError as e:  # e.g. a serial number cryptography will not encode
            raise MalformedRequest(f"cannot answer this request: {e}") from None
        return response.public_bytes(serialization.Encoding.DER)

    # Internals ------------------------------------------------------------------------------------

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    """``BEGIN IMMEDIATE`` … ``COMMIT`` (``ROLLBACK`` on error) on an autocommit connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as e:
            raise CertificateError(f"CA database unavailable: {e}") from None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            try:
                self._db.execute("COMMIT")
                return
            except sqlite3.Error as e:
                exc = e
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise CertificateError(f"CA database write failed: {exc}") from None
