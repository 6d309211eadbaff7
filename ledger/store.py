"""The signing mapper and event store: every event signed, hashed and chained.

Wired into eventsourcing through ``Application.construct_mapper`` and
``construct_event_store`` (see :mod:`ledger.application`).

Writing (:meth:`SignedEventStore.put`): the payload of each event is encoded
once by the transcoder; the event hash chains it to the record's previous
event (``prev``); the events of one save are signed in batches by the acting
person's :class:`signing.keys.Signer` (see :mod:`signing.envelope`); the
envelopes and any certificate registrations go to the database in one
transaction. The ``(record, version)`` primary key keeps each chain linear: a
second writer of the same version fails with :class:`ConcurrencyConflict`.

Reading: every event is parsed, re-hashed and its batch signature verified
against the registered certificate (a verified batch is remembered, so a
batch costs one signature check); :meth:`SignedEventStore.get` also checks
each ``prev`` link and that versions have no gap.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast
from uuid import UUID

from cryptography import x509
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import (
    EventStore,
    IntegrityError,
    Mapper,
    Notification,
    PersistenceError,
    Recording,
    StoredEvent,
    Transcoder,
)
from eventsourcing.utils import get_topic

from ledger.errors import (
    ConcurrencyConflict,
    IntegrityViolation,
    InvalidInput,
    SignerMismatch,
    SignerNotValid,
    StorageError,
    UnknownSigner,
)
from signing import algorithms, envelope
from signing.envelope import ZERO_HASH, Envelope, Unsealed
from signing.errors import SigningError
from signing.keys import Signer, SoftwareSigner, certificate_fingerprint

#: Event attributes that register a certificate: (PEM attribute, owner is the record).
CERTIFICATE_FIELDS = ("certificate", "seal_certificate")


@dataclass(frozen=True, slots=True)
class RevocationRow:
    """A revocation, written with the event that records it (insert only)."""

    fingerprint: bytes
    revoked_at: datetime
    reason: str
    owner: UUID
    version: int


@dataclass(frozen=True, slots=True)
class CertificateRow:
    """A row of the certificate registry, written with the registering event."""

    fingerprint: bytes
    owner: UUID
    version: int
    pem: str


class LedgerRecorder(Protocol):
    """What the store needs from a storage adapter beyond eventsourcing's recorder."""

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Any: ...

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]: ...

    def select_certificate(self, fingerprint: bytes) -> CertificateRow | None: ...

    def select_certificates(self) -> list[CertificateRow]: ...

    def select_revocation(self, fingerprint: bytes) -> RevocationRow | None: ...

    def select_revocations(self) -> list[RevocationRow]: ...

    def iter_stored(
        self, record: UUID | None = None, page: int = 1000
    ) -> Iterator[StoredEvent]: ...


@dataclass(frozen=True, slots=True)
class RegisteredCertificate:
    """A certificate known to the ledger, with its owner record."""

    fingerprint: bytes
    owner: UUID
    certificate: x509.Certificate
    #: Validity period, read once from the certificate (checked per event).
    not_before: datetime
    not_after: datetime

    @classmethod
    def from_pem(cls, pem: str, owner: UUID) -> RegisteredCertificate:
        cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
        return cls(
            certificate_fingerprint(cert),
            owner,
            cert,
            cert.not_valid_before_utc,
            cert.not_valid_after_utc,
        )

    def check_valid_at(self, moment: datetime) -> None:
        """Raise :class:`SignerNotValid` unless ``moment`` is inside the validity period."""
        if moment < self.not_before:
            raise SignerNotValid(
                f"certificate {self.fingerprint.hex()[:16]} is not valid before "
                f"{self.not_before.isoformat()}"
            )
        if moment > self.not_after:
            raise SignerNotValid(
                f"certificate {self.fingerprint.hex()[:16]} expired at {self.not_after.isoformat()}"
            )


class CertificateRegistry:
    """Fingerprint → registered certificate, read through from the database."""

    def __init__(self) -> None:
        self.recorder: LedgerRecorder | None = None
        self._cache: dict[bytes, RegisteredCertificate] = {}

    def get(self, fingerprint: bytes) -> RegisteredCertificate | None:
        hit = self._cache.get(fingerprint)
        if hit is not None or self.recorder is None:
            return hit
        try:
            row = self.recorder.select_certificate(fingerprint)
        except PersistenceError as e:
            raise StorageError(f"cannot read the certificate registry: {e}") from e
        if row is None:
            return None
        entry = RegisteredCertificate.from_pem(row.pem, row.owner)
        self._cache[fingerprint] = entry
        return entry

    def remember(self, entries: Sequence[RegisteredCertificate]) -> None:
        for e in entries:
            self._cache[e.fingerprint] = e


class _Bounded:
    """A small thread-safe FIFO-bounded map (verified batches, record heads)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._data: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        return self._data.get(key)

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._data[key] = value
            if len(self._data) > self._size:
                self._data.popitem(last=False)


class SigningMapper(Mapper[UUID]):
    """Encodes payloads once; on read parses, re-hashes and verifies envelopes."""

    def __init__(self, transcoder: Transcoder, registry: CertificateRegistry) -> None:
        super().__init__(transcoder)
        self.registry = registry
        self._topics: dict[type, str] = {}
        self._verified = _Bounded(8192)
        #: record id -> (version, hash) of the newest event seen committed.
        self.heads = _Bounded(100_000)

    def topic_of(self, event: DomainEventProtocol[UUID]) -> str:
        cls = type(event)
        topic = self._topics.get(cls)
        if topic is None:
            topic = self._topics[cls] = get_topic(cls)
        return topic

    def encode_payload(self, event: DomainEventProtocol[UUID]) -> bytes:
        """The payload bytes of an event: its state without id and version, as JSON."""
        state = dict(vars(event))
        del state["originator_id"]
        del state["originator_version"]
        class_version = getattr(type(event), "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        return self.transcoder.encode(state)

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        raise TypeError("events are stored through SignedEventStore.put(), which signs them")

    def verify(self, stored: StoredEvent) -> Envelope:
        """Parse and check one stored event (hash and signature, not the chain)."""
        rid = stored.originator_id
        version = stored.originator_version
        try:
            env = envelope.decode(stored.state)
        except SigningError as e:
            raise IntegrityViolation(str(rid), version, "envelope", str(e)) from e
        try:
            env.verify_hash(envelope.record_id_bytes(rid), version, stored.topic)
        except SigningError as e:
            raise IntegrityViolation(str(rid), version, "hash", str(e)) from e
        try:
            root = env.batch_root()
        except SigningError as e:
            raise IntegrityViolation(str(rid), version, "signature", str(e)) from e
        key = (env.signer, env.batch_size, root, env.signature, env.algorithm)
        if self._verified.get(key) is None:
            entry = self.registry.get(env.signer)
            if entry is None:
                raise IntegrityViolation(
                    str(rid),
                    version,
                    "signer",
                    f"certificate {env.signer.hex()[:16]} not registered",
                )
            try:
                algorithms.verify(
                    entry.certificate.public_key(),
                    env.algorithm,
                    env.signature,
                    envelope.batch_message(env.batch_size, root),
                )
            except SigningError as e:
                raise IntegrityViolation(str(rid), version, "signature", str(e)) from e
            self._verified.put(key, True)
        return env

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        env = self.verify(stored_event)
        return self.decode_payload(stored_event, env)

    def decode_payload(self, stored: StoredEvent, env: Envelope) -> DomainEventProtocol[UUID]:
        """Decode a verified envelope's payload; check that ``by`` owns the signing certificate."""
        plain = StoredEvent(
            stored.originator_id, stored.originator_version, stored.topic, env.payload
        )
        event = super().to_domain_event(plain)
        by = getattr(event, "by", None)
        if by is not None:
            entry = self.registry.get(env.signer)
            if entry is None or entry.owner != by:
                raise IntegrityViolation(
                    str(stored.originator_id),
                    stored.originator_version,
                    "actor",
                    f"names {by} but is signed by a certificate of "
                    f"{entry.owner if entry else 'nobody registered'}",
                )
        return event


def refuse_if_revoked(row: RevocationRow | None, latest: datetime) -> None:
    """Raise :class:`SignerNotValid` if ``row`` revokes the signer at or before ``latest``."""
    if row is not None and latest >= row.revoked_at:
        raise SignerNotValid(
            f"certificate {row.fingerprint.hex()[:16]} was revoked at "
            f"{row.revoked_at.isoformat()} ({row.reason})"
        )


class CapturingSigner:
    """Stands in for a client's key while a command is prepared.

    The store seals the events as usual but, instead of writing them, hands
    the events and the batch messages to this object: the client signs the
    messages with its own key (which the server never sees) and submits the
    signatures. See :meth:`ledger.application.Ledger.prepare`.
    """

    def __init__(self, certificate: x509.Certificate, algorithm: algorithms.Algorithm) -> None:
        self.certificate = certificate
        self.algorithm = algorithms.Algorithm(algorithm)
        self.fingerprint = certificate_fingerprint(certificate)
        self.events: list[DomainEventProtocol[UUID]] = []
        self.messages: list[bytes] = []

    def sign(self, message: bytes) -> bytes:
        self.messages.append(message)
        return b"\x00"  # never stored: put() returns before writing


class PresignedSigner:
    """Replays a client's signatures over exactly the messages that were prepared."""

    def __init__(
        self,
        certificate: x509.Certificate,
        algorithm: algorithms.Algorithm,
        messages: Sequence[bytes],
        signatures: Sequence[bytes],
    ) -> None:
        if len(messages) != len(signatures):
            raise InvalidInput(f"{len(messages)} messages to sign, {len(signatures)} signatures")
        self.certificate = certificate
        self.algorithm = algorithms.Algorithm(algorithm)
        self.fingerprint = certificate_fingerprint(certificate)
        self._pairs = list(zip(messages, signatures, strict=True))

    def sign(self, message: bytes) -> bytes:
        if not self._pairs or self._pairs[0][0] != message:
            raise ConcurrencyConflict(
                "the records changed since this save was prepared; prepare it again"
            )
        return self._pairs.pop(0)[1]


def _revocations(domain_events: Sequence[DomainEventProtocol[UUID]]) -> list[RevocationRow]:
    out = []
    for ev in domain_events:
        revoked_at = getattr(ev, "revoked_at", None)
        fingerprint = getattr(ev, "fingerprint", None)
        if isinstance(revoked_at, datetime) and isinstance(fingerprint, str):
            out.append(
                RevocationRow(
                    bytes.fromhex(fingerprint),
                    revoked_at,
                    str(getattr(ev, "reason", "")),
                    ev.originator_id,
                    ev.originator_version,
                )
            )
    return out


class SignedEventStore(EventStore[UUID]):
    """An event store that signs on put and verifies hash, signature and chain on get."""

    mapper: SigningMapper
    recorder: Any  # an eventsourcing recorder that also implements LedgerRecorder

    def __init__(self, mapper: SigningMapper, recorder: Any, registry: CertificateRegistry) -> None:
        super().__init__(mapper, recorder)
        self.registry = registry
        registry.recorder = recorder
        self._proven: weakref.WeakSet[SoftwareSigner] = weakref.WeakSet()

    # -- writing ---------------------------------------------------------

    def put(
        self, domain_events: Sequence[DomainEventProtocol[UUID]], **kwargs: Any
    ) -> list[Recording[UUID]]:
        signer: Signer | None = kwargs.pop("signer", None)
        if not domain_events:
            return []
        if signer is None:
            raise UnknownSigner("every event must be signed by the acting person's key")
        registrations = self._registrations(domain_events)
        revocations = _revocations(domain_events)
        signer_entry = self._signer_entry(signer.fingerprint, registrations)
        check_signature = self._signature_check(signer, signer_entry)
        latest = None
        for ev in domain_events:
            moment = cast(Any, ev).timestamp
            signer_entry.check_valid_at(moment)
            latest = moment if latest is None or moment > latest else latest
            by = getattr(ev, "by", None)
            if by is not None and by != signer_entry.owner:
                raise SignerMismatch(
                    f"event names actor {by} but is signed by a certificate of {signer_entry.owner}"
                )
        stored_events, hashes = self._seal(domain_events, signer, check_signature)
        if isinstance(signer, CapturingSigner):
            signer.events.extend(domain_events)
            return []
        try:
            notification_ids = self.recorder.insert_events(
                stored_events,
                certificates=[r for r, _ in registrations],
                revocations=revocations,
                # Checked inside the insert's own transaction (no separate round trip):
                # a certificate revoked at or before an event's time signs nothing more.
                revocation_check=(signer.fingerprint, latest),
                **kwargs,
            )
        except IntegrityError as e:
            if not self._already_stored(stored_events):
                raise self._conflict(stored_events) from e
            # An earlier attempt of this very insert committed, and its connection was lost
            # before the answer came back: the recorder tried again (eventsourcing retries an
            # insert after an OperationalError) and met the events it had written.
            notification_ids = None
        except PersistenceError as e:
            raise StorageError(f"the events were not written: {e}") from e
        # Only committed data enters the caches.
        for s, h in zip(stored_events, hashes, strict=True):
            self.mapper.heads.put(s.originator_id, (s.originator_version, h))
        if registrations:
            self.registry.remember([e for _, e in registrations])
        recordings = []
        if notification_ids:
            for d, s, n_id in zip(domain_events, stored_events, notification_ids, strict=True):
                recordings.append(
                    Recording(
                        d,
                        Notification(
                            originator_id=s.originator_id,
                            originator_version=s.originator_version,
                            topic=s.topic,
                            state=s.state,
                            id=n_id,
                        ),
                    )
                )
        return recordings

    def _conflict(self, stored_events: Sequence[StoredEvent]) -> ConcurrencyConflict:
        first = stored_events[0]
        where = (
            f"record {first.originator_id} version {first.originator_version}"
            if len({s.originator_id for s in stored_events}) == 1
            else f"one of {len({s.originator_id for s in stored_events})} records"
        )
        return ConcurrencyConflict(
            f"another writer appended to {where} first (or a certificate in this save is "
            "already registered); nothing was written: reload and retry"
        )

    def _already_stored(self, stored_events: Sequence[StoredEvent]) -> bool:
        """Whether exactly these events (the same bytes, signatures included) are stored."""
        try:
            for s in stored_events:
                rows = self.recorder.select_events(
                    s.originator_id, gt=s.originator_version - 1, lte=s.originator_version
                )
                if not rows or rows[0].state != s.state or rows[0].topic != s.topic:
                    return False
        except PersistenceError:
            return False
        return True

    def _signature_check(
        self, signer: Signer, entry: RegisteredCertificate
    ) -> Callable[[bytes, bytes], None] | None:
        """How much to check the signatures a signer produces before they are written.

        A signature that does not verify would make its records unreadable, so
        it must never be written. A :class:`SoftwareSigner` holds one immutable
        key that its constructor matched to the certificate: one proof of
        possession per signer object suffices. Any other signer (a token, a
        remote service, a client) has every batch signature verified.
        """
        if type(signer) is SoftwareSigner and signer in self._proven:
            return None
        if isinstance(signer, CapturingSigner):
            return None  # nothing it returns is ever written

        public_key = entry.certificate.public_key()

        def verify(message: bytes, signature: bytes) -> None:
            try:
                algorithms.verify(public_key, signer.algorithm, signature, message)
            except SigningError as e:
                raise SignerMismatch(
                    f"the signer's key does not match certificate {entry.fingerprint.hex()[:16]}"
                ) from e

        if type(signer) is not SoftwareSigner:
            return verify
        challenge = b"socai/proof-of-possession/v1\x00" + os.urandom(32)
        verify(challenge, signer.sign(challenge))
        self._proven.add(signer)
        return None

    def _registrations(
        self, domain_events: Sequence[DomainEventProtocol[UUID]]
    ) -> list[tuple[CertificateRow, RegisteredCertificate]]:
        out = []
        for ev in domain_events:
            for field in CERTIFICATE_FIELDS:
                pem = getattr(ev, field, None)
                if isinstance(pem, str):
                    # The school's seal belongs to the school; a staff
                    # certificate belongs to the staff file it is registered on.
                    entry = RegisteredCertificate.from_pem(pem, ev.originator_id)
                    row = CertificateRow(entry.fingerprint, entry.owner, ev.originator_version, pem)
                    out.append((row, entry))
        return out

    def _signer_entry(
        self,
        fingerprint: bytes,
        registrations: list[tuple[CertificateRow, RegisteredCertificate]],
    ) -> RegisteredCertificate:
        entry = self.registry.get(fingerprint)
        if entry is not None:
            return entry
        # A school's genesis event registers its own seal and is signed by it.
        for row, reg in registrations:
            if reg.fingerprint == fingerprint and row.version == 1:
                return reg
        raise UnknownSigner(f"certificate {fingerprint.hex()[:16]} is not registered in the ledger")

    def _seal(
        self,
        domain_events: Sequence[DomainEventProtocol[UUID]],
        signer: Signer,
        check_signature: Callable[[bytes, bytes], None] | None = None,
    ) -> tuple[list[StoredEvent], list[bytes]]:
        mapper = self.mapper
        heads: dict[UUID, tuple[int, bytes]] = {}
        keys: list[tuple[UUID, int, str]] = []
        items: list[Unsealed] = []
        for ev in domain_events:
            rid = ev.originator_id
            version = ev.originator_version
            topic = mapper.topic_of(ev)
            try:
                payload = mapper.encode_payload(ev)
            except (TypeError, ValueError) as e:
                raise InvalidInput(f"event {type(ev).__qualname__} cannot be encoded: {e}") from e
            if version == 1:
                prev = ZERO_HASH
            else:
                head = heads.get(rid)
                prev = (
                    head[1] if head and head[0] == version - 1 else self.head_hash(rid, version - 1)
                )
            h = envelope.event_hash(envelope.record_id_bytes(rid), version, topic, prev, payload)
            heads[rid] = (version, h)
            keys.append((rid, version, topic))
            items.append(Unsealed(prev, h, payload))
        states = envelope.seal(
            items, signer.algorithm, signer.fingerprint, signer.sign, check_signature
        )
        stored = [
            StoredEvent(originator_id=rid, originator_version=v, topic=t, state=s)
            for (rid, v, t), s in zip(keys, states, strict=True)
        ]
        return stored, [i.hash for i in items]

    def head_hash(self, record: UUID, version: int) -> bytes:
        """The hash of ``record`` at ``version``, from cache or the database (re-hashed)."""
        cached = self.mapper.heads.get(record)
        if cached is not None and cached[0] == version:
            return bytes(cached[1])
        rows = self.recorder.select_events(record, gt=version - 1, lte=version)
        if not rows:
            raise ConcurrencyConflict(
                f"record {record} has no version {version} to chain to; reload and retry"
            )
        env = self.mapper.verify(rows[0])
        self.mapper.heads.put(record, (version, env.hash))
        return env.hash

    # -- reading ---------------------------------------------------------

    def get(
        self,
        originator_id: UUID,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Iterator[DomainEventProtocol[UUID]]:
        rows = self.recorder.select_events(originator_id, gt=gt, lte=lte, desc=desc, limit=limit)
        return iter(self._verified(originator_id, rows, chain=not desc))

    def _verified(
        self, originator_id: UUID, rows: Sequence[StoredEvent], *, chain: bool
    ) -> list[DomainEventProtocol[UUID]]:
        mapper = self.mapper
        out = []
        prev_version: int | None = None
        prev_hash = b""
        for stored in rows:
            env = mapper.verify(stored)
            version = stored.originator_version
            if chain:
                if prev_version is None:
                    expected = (
                        ZERO_HASH if version == 1 else self.head_hash(originator_id, version - 1)
                    )
                elif version != prev_version + 1:
                    raise IntegrityViolation(
                        str(originator_id), version, "chain", f"version gap after {prev_version}"
                    )
                else:
                    expected = prev_hash
                if env.prev != expected:
                    raise IntegrityViolation(
                        str(originator_id),
                        version,
                        "chain",
                        "prev is not the previous event's hash",
                    )
            prev_version, prev_hash = version, env.hash
            out.append(mapper.decode_payload(stored, env))
        if chain and prev_version is not None:
            mapper.heads.put(originator_id, (prev_version, prev_hash))
        return out
