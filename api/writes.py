"""Signed writes of the API: run a ledger command with the caller's key, or prepare it for theirs.

A write is a :class:`Command`: what to run with a :class:`~signing.keys.Signer` (one or
more calls of :class:`ledger.application.Ledger`'s commands), the objects it touches
(:class:`Target`), and whether running it again after a
:class:`~ledger.errors.ConcurrencyConflict` is correct. :func:`execute` runs it with the
key unlocked in the caller's session (DESIGN.md invariant 2: the person's own key, never a
server key). The ledger checks authority itself; nothing is mapped by hand here except one
thing the ledger cannot know: an object of a school the caller may not see answers **404**
(its existence is not disclosed), not the ledger's 403 or 422. That check costs a load of
the target and runs only when the command was refused, so the write path stays as lean as
the command itself.

Pre-signed writes (clients that hold their own keys): :func:`prepare` runs the same command
with a :class:`~ledger.store.CapturingSigner` (every check of the command and the store
runs; nothing is written) and returns the batch messages to sign; :func:`submit` writes the
captured events with the client's signatures through a :class:`~ledger.store.PresignedSigner`,
which verifies each before anything is written. These are the two pieces
:meth:`ledger.application.Ledger.prepare` and :meth:`~ledger.application.Ledger.submit` are
made of; the ledger keeps its prepared saves in the memory of one process, while ``socai
serve`` may run several worker processes behind one port. So the API keeps them in the
database instead (:class:`PreparedStore`, table ``socai_prepared`` next to the accounts):
the captured events serialised by the ledger's own mapper (topic and the exact payload
bytes the client's signatures cover), the certificate, the algorithm and the messages. A
submit may land on any worker; a token is used once (taken by one ``DELETE … RETURNING``)
and only by the account that prepared it, and only SHA-256 of the token is stored.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal
from uuid import UUID

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from eventsourcing.persistence import Mapper, StoredEvent

from api.access import RIGHTS, Caller
from api.accounts import Database
from ledger.application import Ledger, Settings, retry_on_conflict
from ledger.domain import StaffFile, StudentRecord
from ledger.errors import (
    ConcurrencyConflict,
    InvalidInput,
    LedgerError,
    RecordNotFound,
    StorageError,
)
from ledger.store import CapturingSigner, PresignedSigner
from signing.algorithms import Algorithm
from signing.errors import SigningError

if TYPE_CHECKING:
    from api.services import Services
    from signing.keys import Signer

__all__ = [
    "PREPARED_TTL",
    "RETRY_BUDGET",
    "Command",
    "PreparedStore",
    "Target",
    "execute",
    "prepare",
    "submit",
]

#: Seconds a prepared save waits for its signatures (as :attr:`Ledger.PREPARED_TTL`).
PREPARED_TTL = Ledger.PREPARED_TTL
#: Seconds a write keeps retrying after concurrency conflicts before it answers 409.
RETRY_BUDGET = 2.0
#: Events one prepared save may hold (a 500-entry grade-book column is 500 events).
MAX_PREPARED_EVENTS = 1000


# -- whose objects a write touches --------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """The objects a command touches, for the 404 of another school's objects."""

    kind: Literal["school", "records", "staff"]
    ids: tuple[UUID, ...]

    @classmethod
    def school(cls, school: UUID) -> Target:
        """A write in the school named by the path (the ledger acts in the signer's school)."""
        return cls("school", (school,))

    @classmethod
    def records(cls, *records: UUID) -> Target:
        return cls("records", tuple(dict.fromkeys(records)))

    @classmethod
    def staff(cls, staff: UUID) -> Target:
        return cls("staff", (staff,))

    def check_before(self, who: Caller) -> None:
        """Refuse before running what needs no load to refuse: another school in the path."""
        if self.kind == "school" and not who.in_school(self.ids[0]):
            raise RecordNotFound("no school with this id")

    def check_after(self, services: Services, who: Caller) -> None:
        """After a refusal: 404 if a target belongs to a school the caller may not see."""
        ledger = services.ledger()
        for rid in self.ids:
            if self.kind == "school":
                visible = who.in_school(rid)
            elif self.kind == "records":
                record = ledger.read(rid, StudentRecord)  # RecordNotFound: 404 as well
                visible = record_visible(who, record)
            else:
                staff = ledger.read(rid, StaffFile)
                visible = staff.id == who.staff or who.in_school(staff.school)
            if not visible:
                raise RecordNotFound(f"no {self.kind.rstrip('s')} with this id")


def record_visible(who: Caller, record: StudentRecord) -> bool:
    """May the caller know the record exists: its school now or in any year of it."""
    schools = {record.school, *(school for _, _, school in record.years.values())}
    return any(who.in_school(s) for s in schools)


@dataclass(frozen=True)
class Command:
    """One signed write: ``run`` calls the ledger with the given signer and says what happened.

    ``retry``: run again after a concurrency conflict (each ledger command reloads and checks
    everything again, so this is correct where the caller's request does not depend on the
    exact version it saw). ``rights``: staff files whose rights the write changes (their
    cached rights are forgotten in this process).
    """

    name: str
    target: Target
    run: Callable[[Signer], dict[str, Any]]
    retry: bool = True
    rights: tuple[UUID, ...] = field(default=())
    #: An early refusal from what the caller's rights say (raises NotAuthorized), for a
    #: command whose ledger checks would otherwise report a bad argument first.
    check: Callable[[Caller], None] | None = None


def _refused(services: Services, who: Caller, command: Command, error: LedgerError) -> None:
    """Raise 404 instead of ``error`` when the target is another school's."""
    if isinstance(error, RecordNotFound | StorageError):
        return
    command.target.check_after(services, who)


def execute(services: Services, who: Caller, command: Command) -> dict[str, Any]:
    """Run ``command`` signed with the caller's own key; return its answer."""
    command.target.check_before(who)
    try:
        signer = who.signer()
        if command.check is not None:
            command.check(who)
        if command.retry:
            out = retry_on_conflict(lambda: command.run(signer), budget=RETRY_BUDGET)
        else:
            out = command.run(signer)
    except LedgerError as e:
        _refused(services, who, command, e)
        raise
    for staff in command.rights:
        RIGHTS.forget(staff)
    return out


# -- pre-signed writes ---------------------------------------------------------------------------


def _algorithms_for(cert: x509.Certificate) -> tuple[Algorithm, ...]:
    """The algorithms the certificate's key signs with; the first is the default."""
    key = cert.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        return (Algorithm.ECDSA_P256_SHA256,)
    if isinstance(key, ed25519.Ed25519PublicKey):
        return (Algorithm.ED25519,)
    if isinstance(key, rsa.RSAPublicKey):
        return (Algorithm.RSA_PSS_SHA256, Algorithm.RSA_PKCS1V15_SHA256)
    return ()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class PreparedStore:
    """Prepared saves waiting for signatures, in the database every worker shares.

    Table ``socai_prepared`` in ``accounts.sqlite`` (or the ledger's PostgreSQL database):
    SHA-256 of the token, the account, the expiry (Unix time) and the save as JSON.
    """

    _DDL = (
        "CREATE TABLE IF NOT EXISTS socai_prepared ("
        " token_hash TEXT PRIMARY KEY, account TEXT NOT NULL,"
        " expires DOUBLE PRECISION NOT NULL, body TEXT NOT NULL)",
    )

    def __init__(self, settings: Settings) -> None:
        self._db = Database(settings)
        self._db.script(self._DDL)

    def put(self, token: str, account: UUID, expires: float, body: dict[str, Any]) -> None:
        self._db.execute("DELETE FROM socai_prepared WHERE expires < ?", (time.time(),))
        self._db.execute(
            "INSERT INTO socai_prepared (token_hash, account, expires, body) VALUES (?,?,?,?)",
            (_token_hash(token), account.hex, expires, json.dumps(body, separators=(",", ":"))),
        )

    def take(self, token: str, account: UUID) -> dict[str, Any] | None:
        """The save of ``token`` prepared by ``account``, removed; None if none is live."""
        rows = self._db.rows(
            "DELETE FROM socai_prepared WHERE token_hash = ? AND account = ? "
            "RETURNING expires, body",
            (_token_hash(token), account.hex),
        )
        if not rows or float(rows[0][0]) < time.time():
            return None
        loaded: dict[str, Any] = json.loads(rows[0][1])
        return loaded

    def close(self) -> None:
        self._db.close()


_stores: dict[Settings, PreparedStore] = {}
_stores_lock = threading.Lock()


def prepared_store(services: Services) -> PreparedStore:
    """This process's :class:`PreparedStore` for the services' data (opened on first use)."""
    with _stores_lock:
        store = _stores.get(services.settings)
        if store is None:
            store = _stores[services.settings] = PreparedStore(services.settings)
        return store


def _event_rows(ledger: Ledger, events: Sequence[Any]) -> list[dict[str, Any]]:
    """The captured events as the ledger's mapper encodes them, checked to decode the same."""
    mapper = ledger.mapper
    plain: Mapper[UUID] = Mapper(transcoder=mapper.transcoder)
    rows = []
    for ev in events:
        payload = mapper.encode_payload(ev)
        row = {
            "id": str(ev.originator_id),
            "version": int(ev.originator_version),
            "topic": mapper.topic_of(ev),
            "payload": _b64(payload),
        }
        # The client signs hashes over these exact bytes: they must come back unchanged.
        if mapper.encode_payload(_event_of(plain, row)) != payload:
            raise InvalidInput(f"event {row['topic']} cannot be prepared for signing elsewhere")
        rows.append(row)
    return rows


def _event_of(plain: Mapper[UUID], row: dict[str, Any]) -> Any:
    return plain.to_domain_event(
        StoredEvent(
            originator_id=UUID(row["id"]),
            originator_version=int(row["version"]),
            topic=str(row["topic"]),
            state=base64.b64decode(row["payload"]),
        )
    )


def prepare(
    services: Services, who: Caller, command: Command, algorithm: str | None = None
) -> dict[str, Any]:
    """Run ``command`` for a client that signs with its own key; write nothing yet.

    The certificate is the one of the caller's session (the client signs with the key it
    holds for it). Returns the token, the batch messages to sign (base64, in order), the
    signer's certificate fingerprint, the algorithm, the expiry and the command's answer as
    it will be once submitted.
    """
    command.target.check_before(who)
    ledger = services.ledger()
    try:
        cert = who.signer().certificate
        if command.check is not None:
            command.check(who)
        usable = _algorithms_for(cert)
        try:
            chosen = usable[0] if algorithm is None else Algorithm.from_label(algorithm)
        except SigningError as e:
            raise InvalidInput(str(e)) from None
        if chosen not in usable:
            raise InvalidInput(f"the certificate's key does not sign with {chosen.label}")
        capture = CapturingSigner(cert, chosen)
        result = command.run(capture)
        if not capture.messages:
            raise InvalidInput("the command produced no events to sign")
        if len(capture.events) > MAX_PREPARED_EVENTS:
            raise InvalidInput(f"at most {MAX_PREPARED_EVENTS} events per prepared save")
        events = _event_rows(ledger, capture.events)
    except LedgerError as e:
        _refused(services, who, command, e)
        raise
    token = secrets.token_urlsafe(24)
    expires = time.time() + PREPARED_TTL
    prepared_store(services).put(
        token,
        who.account.id,
        expires,
        {
            "command": command.name,
            "certificate": cert.public_bytes(Encoding.PEM).decode("ascii"),
            "algorithm": chosen.label,
            "messages": [_b64(m) for m in capture.messages],
            "events": events,
            "rights": [str(s) for s in command.rights],
        },
    )
    return {
        "token": token,
        "command": command.name,
        "messages": [_b64(m) for m in capture.messages],
        "signer": capture.fingerprint.hex(),
        "algorithm": chosen.label,
        "expires": datetime.fromtimestamp(expires, UTC).isoformat(),
        "events": len(events),
        "result": result,
    }


def submit(
    services: Services, who: Caller, token: str, signatures: Sequence[bytes]
) -> dict[str, Any]:
    """Write a prepared save with the client's signatures; return how many events were written.

    Every signature is verified against the certificate before anything is written; a wrong
    one writes nothing. A token is used once, by the account that prepared it, before it
    expires; a record that changed since the prepare is a 409 (prepare again).
    """
    body = prepared_store(services).take(token, who.account.id)
    if body is None:
        raise RecordNotFound("no prepared save with this token (expired or already used)")
    ledger = services.ledger()
    try:
        cert = x509.load_pem_x509_certificate(body["certificate"].encode("ascii"))
        algorithm = Algorithm.from_label(body["algorithm"])
        messages = [base64.b64decode(m) for m in body["messages"]]
        plain: Mapper[UUID] = Mapper(transcoder=ledger.mapper.transcoder)
        events = [_event_of(plain, row) for row in body["events"]]
    except (KeyError, TypeError, ValueError, SigningError) as e:
        raise StorageError(f"a prepared save could not be read back: {e}") from e
    signer = PresignedSigner(cert, algorithm, messages, signatures)
    try:
        ledger.save(*events, signer=signer)
    except ConcurrencyConflict as e:
        raise ConcurrencyConflict(
            "the records changed since this save was prepared; prepare it again"
        ) from e
    for staff in body.get("rights", []):
        RIGHTS.forget(UUID(staff))
    return {"written": len(events), "command": body.get("command")}
