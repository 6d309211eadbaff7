"""The ledger application: commands on one eventsourcing ``Application``.

Every command takes the acting person's :class:`signing.keys.Signer` first;
the events it causes are signed with that key (DESIGN.md invariant 2). The
command checks the actor's authority from the ledger's own records before
anything is written, and a rejected command writes nothing.
"""

from __future__ import annotations

import os
import random
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from eventsourcing.application import AggregateNotFoundError, Application, LRUCache
from eventsourcing.persistence import (
    InfrastructureFactory,
    JSONTranscoder,
    PersistenceError,
    Transcoder,
)
from eventsourcing.utils import Environment

from ledger import authority
from ledger.commands import SchoolCommands, require_text
from ledger.domain import School, StaffFile
from ledger.errors import (
    AlreadyExists,
    ConcurrencyConflict,
    InvalidInput,
    NotAuthorized,
    RecordNotFound,
    SignerNotValid,
    StorageError,
    UnknownSigner,
)
from ledger.log import TransparencyLog
from ledger.store import (
    CapturingSigner,
    CertificateRegistry,
    PresignedSigner,
    RegisteredCertificate,
    SignedEventStore,
    SigningMapper,
)
from ledger.vault import Vault, open_vault
from signing.algorithms import Algorithm
from signing.errors import SigningError
from signing.keys import Signer, certificate_fingerprint
from signing.pki import verify_certificate_path
from signing.profiles import (
    TT15_2025_WITH_ED25519,
    AlgorithmPolicy,
    check_principal_certificate,
    check_seal_certificate,
    check_signing_certificate,
)

T = TypeVar("T")

DEFAULT_DATA = "socai-data"

#: RFC 5280 §5.3.1 CRLReason names accepted for a revocation (removeFromCRL excluded).
REVOCATION_REASONS = frozenset(
    {
        "unspecified",
        "keyCompromise",
        "cACompromise",
        "affiliationChanged",
        "superseded",
        "cessationOfOperation",
        "certificateHold",
        "privilegeWithdrawn",
        "aACompromise",
    }
)


@dataclass(frozen=True)
class Settings:
    """Where the ledger keeps its data: ``--data``/``SOCAI_DATA`` and ``SOCAI_DATABASE_URL``."""

    data_dir: Path
    database_url: str | None = None

    @classmethod
    def from_env(cls, data: str | os.PathLike[str] | None = None) -> Settings:
        chosen = data or os.environ.get("SOCAI_DATA") or DEFAULT_DATA
        return cls(Path(chosen), os.environ.get("SOCAI_DATABASE_URL") or None)

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "ledger.sqlite"

    @property
    def backend(self) -> str:
        return "postgresql" if self.database_url else "sqlite"


@dataclass(frozen=True)
class Trust:
    """Trust anchors and intermediates that registered certificates must chain to.

    ``policy`` is the algorithm policy for signing certificates: TT 15/2025
    plus Ed25519, which the ledger's own event signatures accept (DESIGN.md §4).
    """

    roots: list[x509.Certificate]
    intermediates: list[x509.Certificate] = field(default_factory=list)
    policy: AlgorithmPolicy = TT15_2025_WITH_ED25519

    def verify(self, cert: x509.Certificate, moment: datetime) -> None:
        try:
            verify_certificate_path(cert, self.intermediates, self.roots, moment)
        except SigningError as e:
            raise SignerNotValid(str(e)) from e


def pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(Encoding.PEM).decode("ascii")


class Ledger(SchoolCommands, Application[UUID]):
    """Sổ Cái: schools, staff files and student records as signed, chained events."""

    name = "socai"
    mapper: SigningMapper
    events: SignedEventStore

    def __init__(self, settings: Settings, trust: Trust | None = None) -> None:
        self.settings = settings
        self.trust = trust
        self.registry = CertificateRegistry()
        self._pending: dict[str, tuple[PreparedSave, x509.Certificate, list[Any]]] = {}
        self._pending_lock = threading.Lock()
        self._vault: Vault | None = None
        try:
            super().__init__()
            check = getattr(self.recorder, "check_durability", None)
            if check is not None:
                check()
        except PersistenceError as e:
            raise StorageError(f"cannot open the {settings.backend} store: {e}") from e

    # -- wiring ------------------------------------------------------------

    def construct_env(self, name: str, env: Any = None) -> Environment:
        base = super().construct_env(name, env)
        if self.settings.database_url:
            from ledger.postgres import env_from_url

            base.update(env_from_url(self.settings.database_url))
            # The registry is written by the recorder's insert hook, which
            # eventsourcing's database-function path would skip.
            base["POSTGRES_ENABLE_DB_FUNCTIONS"] = "n"
        else:
            self.settings.data_dir.mkdir(parents=True, exist_ok=True)
            base["SQLITE_DBNAME"] = str(self.settings.sqlite_path)
        return base

    def construct_factory(self, env: Environment) -> InfrastructureFactory[Any]:
        if self.settings.database_url:
            from ledger.postgres import LedgerPostgresFactory

            return LedgerPostgresFactory(env)
        from ledger.sqlite import LedgerSQLiteFactory

        return LedgerSQLiteFactory(env)

    def construct_mapper(self) -> SigningMapper:  # type: ignore[override]
        return SigningMapper(self.construct_transcoder(), self.registry)

    def construct_transcoder(self) -> Transcoder:
        transcoder = JSONTranscoder()
        self.register_transcodings(transcoder)
        return transcoder

    def construct_event_store(self) -> SignedEventStore:  # type: ignore[override]
        return SignedEventStore(self.mapper, self.recorder, self.registry)  # type: ignore[arg-type]

    @property
    def vault(self) -> Vault:
        """The identity vault: per-person keys for personal data (DESIGN.md invariant 8)."""
        if self._vault is None:
            self._vault = open_vault(self.settings)
        return self._vault

    def close(self) -> None:
        if self._vault is not None:
            self._vault.close()
            self._vault = None
        super().close()

    @property
    def transparency_log(self) -> TransparencyLog:
        """The global transparency log over this ledger's events (see :mod:`ledger.log`)."""
        return TransparencyLog(self.recorder)

    # -- helpers -----------------------------------------------------------

    def load(self, record: UUID, cls: type[T]) -> T:
        try:
            agg: object = self.repository.get(record)
        except AggregateNotFoundError:
            raise RecordNotFound(f"no {cls.__name__} with id {record}") from None
        if not isinstance(agg, cls):
            raise RecordNotFound(f"record {record} is not a {cls.__name__}")
        return agg

    @contextmanager
    def cached(self, size: int, *, copy: bool = True) -> Iterator[None]:
        """eventsourcing's aggregate cache for a bulk run, fast-forwarded on every load.

        A bulk run loads the same records many times, and each load replays the record from
        its first event otherwise. Every load still reads the newer events from the store,
        verified as always. With ``copy`` (the default) each load returns a deep copy, so a
        command that fails after changing its aggregate leaves the cache as the store is;
        without it loads return the cached object itself (faster; then any failure must
        end the run, as :func:`api.demo.seed` does). The ledger's own setting comes back on
        the way out, success or not.
        """
        repository = self.repository
        saved = (repository.cache, repository.fastforward, repository.deepcopy_from_cache)
        repository.cache = LRUCache(maxsize=size)
        repository.fastforward = True
        repository.deepcopy_from_cache = copy
        try:
            yield
        finally:
            repository.cache, repository.fastforward, repository.deepcopy_from_cache = saved

    def forget_cached(self) -> None:
        """Empty the aggregate cache of :meth:`cached` (after a command failed)."""
        cache = self.repository.cache
        if isinstance(cache, LRUCache):
            self.repository.cache = LRUCache(maxsize=cache.maxsize)

    def exists(self, record: UUID) -> bool:
        return bool(self.recorder.select_events(record, limit=1))

    def actor(self, signer: Signer) -> RegisteredCertificate:
        entry = self.registry.get(signer.fingerprint)
        if entry is None:
            raise UnknownSigner(
                f"certificate {signer.fingerprint.hex()[:16]} is not registered in the ledger"
            )
        return entry

    def _school_authority(self, signer: Signer) -> tuple[RegisteredCertificate, School]:
        """The school on whose behalf ``signer`` may manage staff: its seal or its principal."""
        entry = self.actor(signer)
        owner: object = self.repository.get(entry.owner)
        if isinstance(owner, School):
            return entry, owner
        if isinstance(owner, StaffFile) and owner.is_principal:
            return entry, self.load(owner.school, School)
        raise NotAuthorized("only the school seal or the principal (Hiệu trưởng) may do this")

    def _check_new_certificate(
        self,
        cert: x509.Certificate,
        profile: Callable[..., None] = check_signing_certificate,
    ) -> str:
        """Refuse a certificate already registered, off-profile, or not trusted now."""
        fp = certificate_fingerprint(cert)
        if self.registry.get(fp) is not None:
            raise AlreadyExists(f"certificate {fp.hex()[:16]} is already registered")
        policy = self.trust.policy if self.trust is not None else TT15_2025_WITH_ED25519
        try:
            profile(cert, policy=policy)
        except SigningError as e:
            raise SignerNotValid(str(e)) from e
        if self.trust is not None:
            self.trust.verify(cert, datetime.now(UTC))
        return fp.hex()

    # -- commands ----------------------------------------------------------

    def register_school(self, seal: Signer, code: str, name: str, province: str) -> UUID:
        """Genesis of a school: registered by its own organisation seal certificate."""
        require_text(code=code, name=name, province=province)
        fp = self._check_new_certificate(seal.certificate, check_seal_certificate)
        school = School(
            code=code,
            name=name,
            province=province,
            seal_certificate=pem(seal.certificate),
            seal_fingerprint=fp,
        )
        if self.exists(school.id):
            raise AlreadyExists(f"school {code} is already registered")
        self.save(school, signer=seal)
        return school.id

    def open_staff_file(
        self,
        actor: Signer,
        staff_code: str,
        title: str,
        identity: Mapping[str, str] | None = None,
    ) -> UUID:
        """Open a staff file (hồ sơ) in the actor's school; ``identity`` is encrypted."""
        require_text(staff_code=staff_code, title=title)
        by, owner = self._owner(actor)
        school_uuid = owner.id if isinstance(owner, School) else owner.school
        school = self.load(school_uuid, School)
        authority.check("Opened", {"school": school.id, "staff_code": staff_code}, owner, None)
        staff = StaffFile(
            school=school.id,
            school_code=school.code,
            staff_code=staff_code,
            title=title,
            by=by,
        )
        if self.exists(staff.id):
            raise AlreadyExists(f"staff file {staff_code} already exists in school {school.code}")
        if identity is not None:
            sealed = self.vault.seal(staff.id, identity)
            staff.record_identity(identity=sealed.ciphertext, commitment=sealed.commitment, by=by)
        self.save(staff, signer=actor)
        return staff.id

    def register_certificate(
        self, actor: Signer, staff: UUID, certificate: x509.Certificate
    ) -> None:
        """Register a staff member's signing certificate on their staff file."""
        entry, school = self._school_authority(actor)
        staff_file = self.load(staff, StaffFile)
        if staff_file.school != school.id:
            raise NotAuthorized("the staff file belongs to another school")
        profile = (
            check_principal_certificate if staff_file.is_principal else check_signing_certificate
        )
        fp = self._check_new_certificate(certificate, profile)
        staff_file.register_certificate(
            certificate=pem(certificate), fingerprint=fp, by=entry.owner
        )
        self.save(staff_file, signer=actor)

    def revoke_certificate(
        self,
        actor: Signer,
        staff: UUID,
        fingerprint: bytes,
        reason: str = "unspecified",
        revoked_at: datetime | None = None,
    ) -> datetime:
        """Record that a staff certificate is revoked from ``revoked_at`` (default now).

        Events it signed before that time stay valid; from then on nothing it
        signs is accepted, and ``socai audit`` flags anything that slipped in.
        ``revoked_at`` may lie in the past (a key compromise found late), never
        in the future. ``reason`` is an RFC 5280 CRLReason name.
        """
        if reason not in REVOCATION_REASONS:
            raise InvalidInput(f"reason must be one of {', '.join(sorted(REVOCATION_REASONS))}")
        now = datetime.now(UTC)
        moment = now if revoked_at is None else revoked_at
        if moment.tzinfo is None or moment > now:
            raise InvalidInput("revoked_at must be a timezone-aware time, not in the future")
        entry, school = self._school_authority(actor)
        staff_file = self.load(staff, StaffFile)
        if staff_file.school != school.id:
            raise NotAuthorized("the staff file belongs to another school")
        fp = fingerprint.hex()
        if fp not in staff_file.certificates:
            raise InvalidInput(f"certificate {fp[:16]} is not registered on this staff file")
        if fp in staff_file.revoked:
            raise AlreadyExists(f"certificate {fp[:16]} is already revoked")
        staff_file.revoke_certificate(
            fingerprint=fp, reason=reason, revoked_at=moment, by=entry.owner
        )
        self.save(staff_file, signer=actor)
        return moment

    # -- pre-signed saves ---------------------------------------------------

    PREPARED_TTL = 300.0

    def prepare(
        self,
        certificate: x509.Certificate,
        algorithm: Algorithm,
        command: Callable[[Signer], object],
    ) -> PreparedSave:
        """Run ``command`` for a client that signs with its own key; write nothing yet.

        Every check of the command and of the store runs as for a direct save;
        the events are hashed, chained and batched, and the batch messages are
        returned for the client to sign. :meth:`submit` then writes them with
        the client's signatures, each verified before anything is written.
        """
        capture = CapturingSigner(certificate, algorithm)
        command(capture)
        if not capture.messages:
            raise InvalidInput("the command produced no events to sign")
        token = secrets.token_urlsafe(24)
        prepared = PreparedSave(
            token,
            capture.fingerprint,
            capture.algorithm,
            tuple(capture.messages),
            time.monotonic() + self.PREPARED_TTL,
        )
        with self._pending_lock:
            now = time.monotonic()
            for stale in [k for k, (p, _, _) in self._pending.items() if p.expires < now]:
                del self._pending[stale]
            self._pending[token] = (prepared, certificate, capture.events)
        return prepared

    def submit(self, token: str, signatures: Sequence[bytes]) -> int:
        """Write a prepared save with the client's signatures; return the number of events."""
        with self._pending_lock:
            pending = self._pending.pop(token, None)
        if pending is None or pending[0].expires < time.monotonic():
            raise RecordNotFound("no prepared save with this token (expired or already used)")
        prepared, certificate, events = pending
        signer = PresignedSigner(certificate, prepared.algorithm, prepared.messages, signatures)
        try:
            self.save(*events, signer=signer)
        except ConcurrencyConflict as e:
            raise ConcurrencyConflict(
                "the records changed since this save was prepared; prepare it again"
            ) from e
        return len(events)

    # -- queries -----------------------------------------------------------

    def history(self, record: UUID) -> list[dict[str, Any]]:
        """Every event of a record, verified, with its signer and hashes."""
        rows = self.recorder.select_events(record)
        if not rows:
            raise RecordNotFound(f"no record with id {record}")
        events = list(self.events.get(record))
        out = []
        for stored, ev in zip(rows, events, strict=True):
            env = self.mapper.verify(stored)
            signer = self.registry.get(env.signer)
            fields = {
                k: v
                for k, v in vars(ev).items()
                if k not in ("originator_id", "originator_version", "originator_topic")
            }
            out.append(
                {
                    "version": stored.originator_version,
                    "event": stored.topic.rsplit(".", 1)[-1],
                    "topic": stored.topic,
                    "timestamp": fields.pop("timestamp"),
                    "signer": env.signer.hex(),
                    "signer_subject": signer.certificate.subject.rfc4514_string()
                    if signer
                    else None,
                    "signer_name": _display_name(signer.certificate) if signer else None,
                    "signer_owner": str(signer.owner) if signer else None,
                    "algorithm": env.algorithm.name,
                    "prev": env.prev.hex(),
                    "hash": env.hash.hex(),
                    "fields": fields,
                }
            )
        return out


@dataclass(frozen=True)
class PreparedSave:
    """A save waiting for a client's signatures (see :meth:`Ledger.prepare`)."""

    token: str
    #: SHA-256 of the certificate that must sign.
    signer: bytes
    algorithm: Algorithm
    #: The batch messages to sign, in order (``signing.envelope.batch_message``).
    messages: tuple[bytes, ...]
    expires: float


def _display_name(cert: x509.Certificate) -> str:
    """ "Name, title" from a certificate subject, for people reading a history."""
    subject = cert.subject
    names = [a.value for a in subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)]
    titles = [a.value for a in subject.get_attributes_for_oid(x509.NameOID.TITLE)]
    return ", ".join(str(v) for v in [*names[:1], *titles[:1]])


def retry_on_conflict(fn: Callable[[], T], *, budget: float = 10.0) -> T:
    """Run ``fn``, retrying after :class:`ConcurrencyConflict` until ``budget`` seconds pass.

    ``fn`` must reload what it changes (every command does). Waits grow
    exponentially from 1 ms with full jitter, so contending writers spread out.
    """
    deadline = time.monotonic() + budget
    delay = 0.001
    while True:
        try:
            return fn()
        except ConcurrencyConflict:
            if time.monotonic() >= deadline:
                raise
            time.sleep(random.uniform(0, delay))  # noqa: S311 - jitter, not security
            delay = min(delay * 2, 0.1)
