"""The ledger application: commands on one eventsourcing ``Application``.

Every command takes the acting person's :class:`signing.keys.Signer` first;
the events it causes are signed with that key (DESIGN.md invariant 2). The
command checks the actor's authority from the ledger's own records before
anything is written, and a rejected command writes nothing.
"""

from __future__ import annotations

import os
import pickle
import random
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast
from uuid import UUID

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    InfrastructureFactory,
    JSONTranscoder,
    PersistenceError,
    Recording,
    Transcoder,
)
from eventsourcing.utils import Environment

from ledger import authority
from ledger.commands import SchoolCommands, command, require_text
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
#: Events the aggregate cache holds (``SOCAI_AGGREGATE_CACHE`` overrides it), in the shared
#: snapshots and as many again in the aggregates parked after a save: about 20 MB each for
#: student records (see :class:`AggregateCache`), so a server worker stays well within its
#: memory budget (DESIGN.md §6).
AGGREGATE_CACHE_EVENTS = 20_000
#: Aggregates each kind of cache entry holds at most.
AGGREGATE_CACHE_COUNT = 4096
#: PostgreSQL connections of one ledger: kept open, and at most.
POSTGRES_POOL_MIN = 4
POSTGRES_POOL_MAX = 16

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
    #: The database is a read replica (a PostgreSQL hot standby; ``SOCAI_DATABASE_READONLY=1``):
    #: open it without schema setup, and refuse every write before it reaches the database.
    read_only: bool = False

    @classmethod
    def from_env(cls, data: str | os.PathLike[str] | None = None) -> Settings:
        chosen = data or os.environ.get("SOCAI_DATA") or DEFAULT_DATA
        read_only = os.environ.get("SOCAI_DATABASE_READONLY", "").lower() in ("1", "true", "yes")
        return cls(Path(chosen), os.environ.get("SOCAI_DATABASE_URL") or None, read_only)

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


class AggregateCache:
    """The ledger's aggregates in memory, never used stale.

    Replaying a record from its first event costs about 0.1 ms an event (decode, hash,
    signature), and a command loads several records: the school year alone replays one
    event per enrolled student. This cache keeps the aggregates between commands. Two kinds
    of entry, so that no object is ever seen by two threads while it changes:

    - *shared* snapshots, handed out by :meth:`Ledger.read` to code that only reads them.
      A shared object is never changed: newer events are applied to a copy, which then
      replaces it (copy on write; school years, staff files and schools change rarely).
    - *parked* aggregates, just saved by a command. :meth:`Ledger.load` takes one out (it
      is then the caller's alone, no copy needed), and only a successful save parks it
      again; a command that fails leaves nothing behind in the cache.

    Freshness: other processes (``socai serve`` workers, the CLI) write to the same store.
    Every command starts by reading the store's notification log past :attr:`seen` (one
    query, :meth:`Ledger.sync`) and marks *stale* each cached aggregate that has newer
    events there. Within the command an entry that is not stale is used as it is; a stale
    one first reads its newer events. Outside commands every use reads the newer events.
    The log is gap-free in commit order (eventsourcing serialises inserts), so every event
    committed before a command's sync is either in a cached aggregate or marks it stale.
    An entry filled from a read that began before a sync it may have missed is stale from
    the start (``as_of``, the :attr:`seen` before the read, is behind).

    Each kind holds at most ``count`` aggregates and ``events`` events (the sum of their
    versions: memory grows with the events applied, about 1 KB each for a student record);
    the least recently used go first. Thread-safe.
    """

    def __init__(self, events: int | None, count: int = AGGREGATE_CACHE_COUNT) -> None:
        self.events = events
        self.count = count
        #: The notification id up to which the store's log has been looked through.
        self.seen = 0
        self._lock = threading.Lock()
        #: record id -> [aggregate, stale]
        self._shared: OrderedDict[UUID, list[Any]] = OrderedDict()
        #: record id -> [aggregate, stale, version when parked]
        self._parked: OrderedDict[UUID, list[Any]] = OrderedDict()
        self._weight = {"shared": 0, "parked": 0}

    def shared(self, record: UUID) -> tuple[Aggregate | None, bool]:
        """The shared snapshot of ``record`` (or None) and whether it is stale."""
        with self._lock:
            entry = self._shared.get(record)
            if entry is None:
                return None, True
            self._shared.move_to_end(record)
            return entry[0], entry[1]

    def share(self, agg: Aggregate, as_of: int) -> Aggregate:
        """Make ``agg`` (owned by no one else) the shared snapshot unless a newer one is.

        ``as_of``: :attr:`seen` when the read that produced ``agg`` began.
        """
        with self._lock:
            current = self._shared.get(agg.id)
            if current is not None:
                if current[0].version > agg.version:
                    return current[0]  # type: ignore[no-any-return]
                self._weight["shared"] -= current[0].version
            self._shared[agg.id] = [agg, as_of < self.seen]
            self._shared.move_to_end(agg.id)
            self._weight["shared"] += agg.version
            self._bound()
            return agg

    def is_shared(self, agg: Aggregate) -> bool:
        with self._lock:
            entry = self._shared.get(agg.id)
            return entry is not None and entry[0] is agg

    def unshare(self, agg: Aggregate) -> None:
        with self._lock:
            entry = self._shared.get(agg.id)
            if entry is not None and entry[0] is agg:
                del self._shared[agg.id]
                self._weight["shared"] -= agg.version

    def take(self, record: UUID) -> tuple[Aggregate | None, bool]:
        """The parked aggregate of ``record`` (now the caller's) and whether it is stale."""
        with self._lock:
            entry = self._parked.pop(record, None)
            if entry is not None:
                self._weight["parked"] -= entry[2]
        if entry is None:
            return None, True
        agg, stale, version = entry
        # Changed since it was parked (a caller kept it and triggered events on it): drop it.
        if agg.version != version or agg.pending_events:
            return None, True
        return agg, stale

    def park(self, aggregates: Iterable[Aggregate], as_of: int) -> None:
        """Keep aggregates just saved; ``as_of``: :attr:`seen` before the save began."""
        with self._lock:
            stale = as_of < self.seen
            for agg in aggregates:
                old = self._parked.pop(agg.id, None)
                if old is not None:
                    self._weight["parked"] -= old[2]
                self._parked[agg.id] = [agg, stale, agg.version]
                self._weight["parked"] += agg.version
            self._bound()

    def saw(self, changes: Iterable[tuple[UUID, int]], upto: int) -> None:
        """Mark stale what ``changes`` (record, version) outdate; the log is read to ``upto``."""
        with self._lock:
            for record, version in changes:
                entry = self._shared.get(record)
                if entry is not None and entry[0].version < version:
                    entry[1] = True
                entry = self._parked.get(record)
                if entry is not None and entry[2] < version:
                    entry[1] = True
            self.seen = max(self.seen, upto)

    def restart(self, upto: int) -> None:
        """Forget everything (too much changed to look through); the log is read to ``upto``."""
        with self._lock:
            self._shared.clear()
            self._parked.clear()
            self._weight = {"shared": 0, "parked": 0}
            self.seen = max(self.seen, upto)

    def _bound(self) -> None:
        """Drop the least recently used entries over the bounds (the lock is held)."""
        for kind, entries in (("shared", self._shared), ("parked", self._parked)):
            while len(entries) > 1 and (
                len(entries) > self.count
                or (self.events is not None and self._weight[kind] > self.events)
            ):
                _, old = entries.popitem(last=False)
                self._weight[kind] -= old[2] if kind == "parked" else old[0].version

    def clear(self) -> None:
        with self._lock:
            self._shared.clear()
            self._parked.clear()
            self._weight = {"shared": 0, "parked": 0}


def _project(agg: Any, events: Iterable[Any]) -> Any:
    """Apply ``events`` to ``agg`` (``None`` before the first): eventsourcing's projector
    without its per-event protocol check, which costs a third of a replay."""
    for event in events:
        agg = event.mutate(agg)
    return agg


def _copy(agg: T) -> T:
    """A deep copy of an aggregate (pickle is about twice as fast as ``copy.deepcopy``)."""
    copied: T = pickle.loads(pickle.dumps(agg, pickle.HIGHEST_PROTOCOL))  # noqa: S301 - our own bytes
    return copied


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
        events = int(os.environ.get("SOCAI_AGGREGATE_CACHE") or AGGREGATE_CACHE_EVENTS)
        self.aggregates = AggregateCache(events)
        self._local = threading.local()
        try:
            super().__init__()
            check = getattr(self.recorder, "check_durability", None)
            if check is not None:
                check()
            self.aggregates.seen = self.recorder.max_notification_id() or 0
        except PersistenceError as e:
            raise StorageError(f"cannot open the {settings.backend} store: {e}") from e

    # -- wiring ------------------------------------------------------------

    def construct_env(self, name: str, env: Any = None) -> Environment:
        base = super().construct_env(name, env)
        if self.settings.database_url:
            from ledger.postgres import env_from_url

            base.update(env_from_url(self.settings.database_url))
            # Connections are taken per query and given back: a server worker runs many
            # commands at once (a thread each), and with too few connections they queue for
            # one while PostgreSQL idles. Idle ones above the minimum close after a while.
            base["POSTGRES_POOL_SIZE"] = str(POSTGRES_POOL_MIN)
            base["POSTGRES_MAX_OVERFLOW"] = str(POSTGRES_POOL_MAX - POSTGRES_POOL_MIN)
            # The registry is written by the recorder's insert hook, which
            # eventsourcing's database-function path would skip.
            base["POSTGRES_ENABLE_DB_FUNCTIONS"] = "n"
            if self.settings.read_only:
                # The primary owns the schema; a standby refuses DDL even when nothing changes.
                base["CREATE_TABLE"] = "n"
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

    # -- the aggregate cache -------------------------------------------------

    #: Events read from the notification log at a time by :meth:`sync`.
    SYNC_PAGE = 500
    #: Pages :meth:`sync` reads before it rather forgets the cache (a bulk import elsewhere).
    SYNC_PAGES = 4

    @contextmanager
    def synced(self) -> Iterator[None]:
        """Run a command: the cache is synced with the store first (see :class:`AggregateCache`).

        Within it, cached aggregates that nothing outdated are used without reading the
        store again. Nested commands share the outer one's sync.
        """
        local = self._local
        depth = getattr(local, "depth", 0)
        if depth == 0:
            self.sync()
        local.depth = depth + 1
        try:
            yield
        finally:
            local.depth = depth

    def sync(self) -> None:
        """Read the notification log past what this ledger has seen; mark what it outdates."""
        cache = self.aggregates
        start = cache.seen + 1
        for _ in range(self.SYNC_PAGES):
            rows = self.recorder.select_notifications(start=start, limit=self.SYNC_PAGE)
            if not rows:
                return
            changes = ((cast(UUID, n.originator_id), n.originator_version) for n in rows)
            cache.saw(changes, rows[-1].id)
            if len(rows) < self.SYNC_PAGE:
                return
            start = rows[-1].id + 1
        cache.restart(self.recorder.max_notification_id() or 0)

    @contextmanager
    def one_save(self, actor: Signer) -> Iterator[None]:
        """Commands run inside are written together, as one signed save by ``actor``.

        As a grade-book column is one save: a GVCN's conduct or remarks for a whole class,
        a principal's enrolments of a class. Nothing is written until the block ends, and
        then everything or nothing (an exception inside writes nothing). Every command
        inside must be ``actor``'s; a record changed twice inside is the same object
        (its pending events are kept). Commands that write other kinds of records
        (school years, staff files) may be run inside as well.
        """
        local = self._local
        if getattr(local, "batch", None) is not None:
            raise TypeError("one_save() blocks do not nest")
        pending: dict[UUID, Aggregate] = {}
        with self.synced():
            local.batch = (actor.fingerprint, pending)
            try:
                yield
            finally:
                local.batch = None
            if pending:
                self.save(*pending.values(), signer=actor)

    def _trusted(self) -> bool:
        """Inside a command, whose sync vouches for the cache entries that are not stale."""
        return bool(getattr(self._local, "depth", 0))

    def load(self, record: UUID, cls: type[T]) -> T:
        """The current state of ``record``, the caller's own to change and save.

        In a command: taken from the cache when it holds the record (a parked aggregate as
        it is, else a copy of the shared snapshot), brought up to date with the store's
        newer events unless the command's sync vouches for it; otherwise replayed from the
        store. Outside commands (pages and reports that read through ``load``): a copy of
        the shared snapshot brought up to date by :meth:`read`, so the cache keeps the
        record for the next command. Every event read is verified as always.
        """
        if not self._trusted():
            return _copy(self.read(record, cls))
        batch = getattr(self._local, "batch", None)
        if batch is not None and record in batch[1]:
            found = batch[1][record]
            if not isinstance(found, cls):
                raise RecordNotFound(f"record {record} is not a {cls.__name__}")
            return found
        taken, stale = self.aggregates.take(record)
        if taken is None:
            shared, stale = self.aggregates.shared(record)
            if shared is not None:
                taken = _copy(shared)
        agg = taken if taken is not None and not stale else self._replay(record, taken, cls)
        if not isinstance(agg, cls):
            raise RecordNotFound(f"record {record} is not a {cls.__name__}")
        return agg

    def read(self, record: UUID, cls: type[T]) -> T:
        """The current state of ``record``, shared: the caller must not change it.

        For checks that only read (the actor's staff file, a school year's plans and closed
        terms): no copy is made unless the store holds newer events than the shared
        snapshot, which are then applied to a copy that replaces it.
        """
        cache = self.aggregates
        as_of = cache.seen
        shared, stale = cache.shared(record)
        if shared is not None and not stale and self._trusted():
            agg: Aggregate = shared
        elif shared is None:
            taken, _ = cache.take(record)
            agg = cache.share(self._replay(record, taken, cls), as_of)
        else:
            newer = list(self.events.get(record, gt=shared.version))
            # Nothing newer: the same object again, no longer stale as of this read.
            agg = cache.share(_project(_copy(shared), newer) if newer else shared, as_of)
        if not isinstance(agg, cls):
            raise RecordNotFound(f"record {record} is not a {cls.__name__}")
        return agg

    def _replay(self, record: UUID, agg: Aggregate | None, cls: type[Any]) -> Aggregate:
        """``agg`` with the store's events after its version, or ``record`` from its start."""
        events = self.events.get(record, gt=None if agg is None else agg.version)
        found = _project(agg, events)
        if found is None:
            raise RecordNotFound(f"no {cls.__name__} with id {record}")
        if not isinstance(found, Aggregate):  # pragma: no cover - every topic is an aggregate's
            raise RecordNotFound(f"record {record} is not an aggregate")
        return found

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        if self.settings.read_only:
            raise StorageError(
                "this store is a read replica (SOCAI_DATABASE_READONLY): write to the primary"
            )
        batch = getattr(self._local, "batch", None)
        if batch is not None:
            signer = kwargs.get("signer")
            if signer is None or signer.fingerprint != batch[0]:
                raise NotAuthorized("every command in a one_save() block is its signer's")
            for obj in objs:
                if not isinstance(obj, Aggregate):
                    raise TypeError("only aggregates can be saved in a one_save() block")
                batch[1][obj.id] = obj
            return []
        for obj in objs:
            if isinstance(obj, Aggregate) and self.aggregates.is_shared(obj):
                # A programming error: the snapshot may be in use by other threads.
                self.aggregates.unshare(obj)
                raise TypeError(
                    f"{type(obj).__name__} {obj.id} is a shared snapshot from read(); "
                    "change what load() returns"
                )
        # eventsourcing's Application.save, with the aggregates told apart by their class:
        # its runtime protocol checks (two per object) cost more than the rest of collecting
        # a 35-record grade-book column. Events and anything else go its way.
        processing_event: ProcessingEvent[UUID] = ProcessingEvent()
        for obj in objs:
            if isinstance(obj, Aggregate):
                processing_event.events.extend(obj.collect_events())
                processing_event.aggregates[obj.id] = obj
            elif obj is not None:
                processing_event.collect_events(obj)
        processing_event.saved_kwargs.update(kwargs)
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        self.notify(processing_event.events)  # eventsourcing's deprecated hook, as it does
        return recordings

    def _record(self, processing_event: ProcessingEvent[UUID]) -> list[Recording[UUID]]:
        as_of = self.aggregates.seen
        recordings = super()._record(processing_event)
        # Only what the store committed is parked: a captured (prepared) save wrote nothing.
        if not isinstance(processing_event.saved_kwargs.get("signer"), CapturingSigner):
            self.aggregates.park(
                (a for a in processing_event.aggregates.values() if isinstance(a, Aggregate)),
                as_of,
            )
        return recordings

    @contextmanager
    def cached(self, size: int, *, copy: bool = True, events: int | None = None) -> Iterator[None]:
        """Room for ``size`` aggregates in the cache during a bulk run, whatever their events
        (or at most ``events`` of them in all).

        The cache is always on (see :class:`AggregateCache`); a bulk run that loads more
        records than it holds asks for more room here. ``copy`` is kept for callers: loads
        never share a changeable object, so there is nothing to copy. The ledger's own
        bounds come back on the way out.
        """
        del copy
        cache = self.aggregates
        saved = (cache.events, cache.count)
        cache.events, cache.count = events, max(cache.count, size)
        try:
            yield
        finally:
            cache.events, cache.count = saved

    def forget_cached(self) -> None:
        """Empty the aggregate cache (it is rebuilt from the store as records are used)."""
        self.aggregates.clear()

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
        owner: object = self.read(entry.owner, Aggregate)
        if isinstance(owner, School):
            return entry, owner
        if isinstance(owner, StaffFile) and owner.is_principal:
            return entry, self.read(owner.school, School)
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

    @command
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

    @command
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
        school = self.read(school_uuid, School)
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

    @command
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

    @command
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
