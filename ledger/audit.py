"""``socai audit``: re-verify every stored event from the raw rows.

The audit trusts nothing derived: it reads the stored bytes directly (not
through the verifying event store, which would stop at the first failure),
rebuilds the certificate registry from the registering events themselves, and
reports every problem with the record, version and check that failed.

Checks, per event, in order:

1. ``envelope``: the stored bytes parse as a version-1 envelope.
2. ``hash``: SHA-256 over record id, version, topic, prev and payload equals
   the stored hash (catches a changed payload byte, a changed prev, moved rows).
3. ``signer``: the certificate named by the envelope is registered by an
   event (only a school's genesis registers its own seal); on the same record,
   it was registered no later than this event. Ordering across records needs
   the global log (a later issue) and is not checked here.
4. ``signature``: the batch path is well formed and the batch signature
   verifies under that certificate with the envelope's algorithm (skipped
   when the signer is unknown: there is no key to verify with).
5. ``payload``: the payload decodes.
6. ``certificate``: the event's time is inside the certificate's validity
   (and, with trust anchors, the certificate chained to them when registered).
7. ``actor``: the ``by`` named in the payload owns the signing certificate.
8. ``chain``: versions run 1, 2, 3… without a gap and each ``prev`` is the
   hash of the record's previous event.

9. ``authority``: the certificate's owner had the authority for the event at that
   point of the log (:mod:`ledger.authority`): the audit replays every record from
   the events alone, in log order, and asks the same rules the commands asked.
10. ``derivation``: a recorded year result equals the one recomputed from the
    record's events by :mod:`ledger.results` (DESIGN.md invariant 6).

And once per ledger, ``registry``: the registry table agrees with the
registering events, and every registering payload holds a certificate.

Limitation (documented in docs/formats.md): deleting the newest events of a
record leaves a shorter valid chain; only the global Merkle log with
witnessed checkpoints can reveal it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent

from ledger import authority
from ledger.domain import School, SchoolYear, StaffFile, StudentRecord, school_year_id
from ledger.errors import LedgerError
from ledger.log import leaf_hash_of
from ledger.results import year_result
from ledger.store import CERTIFICATE_FIELDS, RegisteredCertificate
from signing import algorithms, envelope
from signing.envelope import ZERO_HASH
from signing.errors import SigningError

REGISTRATION_TOPICS = (
    f"{School.__module__}:{School.__qualname__}.Registered",
    f"{StaffFile.__module__}:{StaffFile.__qualname__}.CertificateRegistered",
)
REVOCATION_TOPIC = f"{StaffFile.__module__}:{StaffFile.__qualname__}.CertificateRevoked"


@dataclass(frozen=True)
class Problem:
    """One failed check on one event."""

    record: str
    version: int
    check: str
    detail: str


@dataclass
class AuditReport:
    """The outcome of an audit: counts and every problem found."""

    events: int = 0
    records: int = 0
    certificates: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events": self.events,
            "records": self.records,
            "certificates": self.certificates,
            "problems": [asdict(p) for p in self.problems],
        }


@dataclass
class _Registration:
    entry: RegisteredCertificate
    record: UUID
    version: int
    time: datetime
    #: Set from the first CertificateRevoked event naming this certificate.
    revoked_at: datetime | None = None
    #: That event's own time, and its position in the log (None when not logged).
    revocation_recorded_at: datetime | None = None
    revocation_leaf: int | None = None


def _notifications(ledger: Any, topics: tuple[str, ...]) -> Iterator[StoredEvent]:
    """Stored events in log (notification) order; ``()`` means every topic."""
    start = 1
    while True:
        page = ledger.recorder.select_notifications(start, 500, topics=list(topics))
        if not page:
            return
        yield from page
        start = page[-1].id + 1


def audit(
    ledger: Any,
    record: UUID | None = None,
    *,
    checkpoints: Sequence[tuple[int, bytes, str]] = (),
    existence: Sequence[tuple[int, datetime]] = (),
    jobs: int = 1,
) -> AuditReport:
    """Re-verify every event (or one record's), returning all problems found.

    ``checkpoints`` are (size, root, source) of witnessed checkpoints, already verified by the
    caller (log signature and the witness quorum): the log must be consistent with each.
    ``existence`` are (size, time) proofs of existence: a verified RFC 3161 token says the
    first ``size`` leaves existed at ``time`` (the timestamped checkpoints). With ``jobs``
    above 1 the authority replay (log order) runs in a forked process with its own store
    connections while this one checks every event (record order): the same report, sooner.
    """
    report = AuditReport()
    decode_payload = ledger.mapper.transcoder.decode
    registrations: dict[bytes, _Registration] = {}

    # Pass 1: the registry, from the registering events only.
    for stored in _notifications(ledger, REGISTRATION_TOPICS):
        try:
            env = envelope.decode(stored.state)
            state = decode_payload(env.payload)
            moment = state["timestamp"]
            if not isinstance(moment, datetime):
                raise TypeError("timestamp is not a datetime")
        except Exception:  # noqa: S112 - pass 2 reports this event's defect
            continue
        for name in CERTIFICATE_FIELDS:
            pem = state.get(name)
            if not isinstance(pem, str):
                continue
            try:
                entry = RegisteredCertificate.from_pem(pem, _uuid(stored.originator_id))
            except ValueError as e:
                report.problems.append(
                    Problem(
                        str(stored.originator_id), stored.originator_version, "registry", str(e)
                    )
                )
                continue
            if entry.fingerprint not in registrations:
                registrations[entry.fingerprint] = _Registration(
                    entry,
                    _uuid(stored.originator_id),
                    stored.originator_version,
                    moment,
                )
    report.certificates = len(registrations)
    _collect_revocations(ledger, decode_payload, registrations, report)
    _check_registry_table(ledger, registrations, report)
    # With jobs > 1 a forked process does the authority replay (log order) and the
    # certificate paths while this one checks every event and the log.
    replay = _start_replay(ledger, record, registrations) if jobs > 1 else None
    if replay is None:
        _check_trust(ledger, registrations, report)

    # Pass 2: every event, record by record, in version order.
    verified: set[tuple[bytes, int, bytes, bytes, int]] = set()
    current: UUID | None = None
    prev_version = 0
    prev_hash = ZERO_HASH
    for stored in ledger.recorder.iter_stored(record):
        rid = stored.originator_id
        if rid != current:
            current, prev_version, prev_hash = rid, 0, ZERO_HASH
            report.records += 1
        report.events += 1
        parsed = _try_decode(stored)  # once; the checks below share it
        problems = _check_event(stored, decode_payload, registrations, verified, parsed)
        problems += _check_revoked_signer(
            ledger, stored, decode_payload, registrations, existence, parsed
        )
        version = stored.originator_version
        if parsed is not None:
            if version != prev_version + 1:
                problems.append(("chain", f"version {version} follows {prev_version}"))
            elif parsed.prev != prev_hash:
                problems.append(("chain", "prev is not the hash of the previous event"))
            prev_hash = parsed.hash
        prev_version = version
        report.problems.extend(Problem(str(rid), version, c, d) for c, d in problems)
    if record is None:
        _check_log(ledger, report)
    if replay is None:
        _check_authority(ledger, report, record)
    else:
        report.problems.extend(_finish_replay(*replay))
    if record is None:
        _check_checkpoints(ledger, report, checkpoints)
    return report


def _start_replay(
    ledger: Any, record: UUID | None, registrations: dict[bytes, _Registration]
) -> tuple[Any, Any]:
    """Fork a process for the authority replay and the certificate paths.

    The child opens its own ledger on the same store (it never touches the parent's
    connections), inherits ``registrations`` by the fork, and sends back its problems
    (trust, then authority and derivation) through a pipe.
    """
    import multiprocessing

    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(
        target=_replay_child,
        args=(ledger.settings, getattr(ledger, "trust", None), record, registrations, send),
        daemon=True,
    )
    process.start()
    send.close()
    return process, receive


def _replay_child(
    settings: Any,
    trust: Any,
    record: UUID | None,
    registrations: dict[bytes, _Registration],
    send: Any,
) -> None:
    from ledger.application import Ledger

    try:
        ledger = Ledger(settings, trust)
        try:
            report = AuditReport()
            _check_trust(ledger, registrations, report)
            _check_authority(ledger, report, record)
            send.send(("ok", [asdict(p) for p in report.problems]))
        finally:
            ledger.close()
    except BaseException as e:  # the parent reports it as a problem of the audit itself
        send.send(("error", f"{type(e).__name__}: {e}"))
    finally:
        send.close()


def _finish_replay(process: Any, receive: Any) -> list[Problem]:
    try:
        kind, payload = receive.recv()
    except EOFError:
        kind, payload = "error", f"the replay process ended with status {process.exitcode}"
    finally:
        receive.close()
        process.join()
    if kind != "ok":
        return [Problem("*", 0, "authority", f"the authority replay failed: {payload}")]
    return [Problem(**p) for p in payload]


def _replay(mapper: Any, stored: StoredEvent) -> Any | None:
    """The domain event of a stored row, decoded without verification (pass 2 verifies)."""
    try:
        env = envelope.decode(stored.state)
        plain = StoredEvent(
            stored.originator_id, stored.originator_version, stored.topic, env.payload
        )
        # The plain eventsourcing mapper: decoding and upcasting, no signature check.
        return Mapper.to_domain_event(mapper, plain)
    except Exception:  # pass 2 reports the defect of this event
        return None


def plain_mapper() -> Mapper[UUID]:
    """An eventsourcing mapper with the ledger's transcodings, for reading events offline."""
    from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, UUIDAsHex

    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    return Mapper(transcoder=transcoder)


class Replay:
    """Records rebuilt from their events in log order, each event judged as it comes.

    :meth:`feed` takes the stored events of any records, in log order, and returns the
    problems of each: ``authority`` (:mod:`ledger.authority`, with the records as they were
    at that point of the log) and ``derivation`` (a recorded year result that differs from
    the one recomputed from the events). ``socai audit`` feeds it the whole log; the
    verifier of an issued transcript feeds it the events of its proof bundle.
    """

    def __init__(self, mapper: Any) -> None:
        self.mapper = mapper
        self.aggregates: dict[UUID, Any] = {}

    def feed(self, stored: StoredEvent) -> list[tuple[str, str]]:
        if not stored.topic.startswith(DOMAIN_TOPICS):
            return []  # aggregates of other modules (tests, extensions) have no rules here
        event = _replay(self.mapper, stored)
        if event is None:
            return []
        aggregates = self.aggregates
        rid = _uuid(stored.originator_id)
        target = aggregates.get(rid)
        name = stored.topic.rsplit(".", 1)[-1]
        fields = dict(vars(event))
        problems: list[tuple[str, str]] = []
        by = fields.get("by")
        if by is not None:
            actor = aggregates.get(_uuid(by))
            year = _context_year(aggregates, target, name, fields)
            try:
                authority.check(name, fields, actor, target, year)
            except LedgerError as e:
                problems.append(("authority", f"{name}: {e}"))
            if name == "YearResultRecorded" and isinstance(target, StudentRecord):
                problems += _check_derivation(aggregates, target, fields)
        try:
            aggregates[rid] = event.mutate(target)
        except Exception:  # a broken chain; pass 2 reports it
            return problems
        return problems


def _context_year(
    aggregates: dict[UUID, Any], target: Any, name: str, fields: dict[str, Any]
) -> SchoolYear | None:
    """The school year an event on a student record is judged in."""
    if not isinstance(target, StudentRecord):
        return None
    school_year = target.school_year
    if name in CORRECTIONS:
        corrects = fields.get("corrects")
        entry = target.entries.get(corrects) if isinstance(corrects, int) else None
        if entry is not None:
            school_year = entry.school_year
    year = aggregates.get(school_year_id(target.school_in(school_year), school_year))
    return year if isinstance(year, SchoolYear) else None


DOMAIN_TOPICS = f"{School.__module__}:"
CORRECTIONS = ("ScoreCorrected", "CommentCorrected", "CorrectionProposed")


def _check_authority(ledger: Any, report: AuditReport, only: UUID | None) -> None:
    """Replay every record in log order; check each event's authority and derivations.

    Memory grows with the number of records (their current state), not with the number
    of events.
    """
    replay = Replay(ledger.mapper)
    for stored in _notifications(ledger, ()):
        problems = replay.feed(stored)
        rid = _uuid(stored.originator_id)
        if only is None or rid == only:
            report.problems.extend(
                Problem(str(rid), stored.originator_version, c, d) for c, d in problems
            )


def _check_derivation(
    aggregates: dict[UUID, Any], record: StudentRecord, fields: dict[str, Any]
) -> list[tuple[str, str]]:
    school_year = str(fields.get("school_year"))
    year = aggregates.get(school_year_id(record.school_in(school_year), school_year))
    if not isinstance(year, SchoolYear):
        return [("derivation", f"no school year {school_year} to recompute the result in")]
    try:
        expected = year_result(record, year, stage=str(fields.get("stage")))
    except LedgerError as e:
        return [("derivation", f"the year result cannot be recomputed: {e}")]
    recorded = fields.get("result")
    if recorded != expected:
        keys = sorted(
            k
            for k in set(expected) | set(recorded or {})
            if (recorded or {}).get(k) != expected.get(k)
        )
        return [("derivation", f"recorded year result differs from the events in: {keys}")]
    return []


LOG = "log"


def _check_log(ledger: Any, report: AuditReport, page: int = 5000) -> None:
    """Every event is a leaf with the right hash; the stored nodes agree with the leaves.

    Reads the leaves in index order (joined to the events they log), recomputes each leaf
    hash from the stored event, and folds the leaves into the RFC 9162 root with a
    frontier of O(log n) hashes, to compare with the root the stored nodes give.
    """
    recorder = ledger.recorder
    size, _ = recorder.log_position()
    frontier: list[tuple[int, bytes]] = []  # (width, hash), widths decreasing
    start = 0
    while start < size:
        rows = recorder.log_leaves(start, min(size, start + page))
        if not rows:
            report.problems.append(Problem(LOG, start, LOG, f"leaves {start}…{size - 1} missing"))
            return
        for row in rows:
            if row.index != start:
                report.problems.append(Problem(LOG, start, LOG, f"leaf {start} missing"))
                return
            start += 1
            if row.record_id is None:
                report.problems.append(
                    Problem(
                        LOG,
                        row.index,
                        LOG,
                        f"leaf {row.index} logs notification {row.notification_id}, "
                        "whose event is no longer stored (deleted event or record)",
                    )
                )
            elif leaf_hash_of(row.record_id, row.version or 0, row.state or b"") != row.hash:
                report.problems.append(
                    Problem(
                        str(row.record_id),
                        int(row.version or 0),
                        LOG,
                        f"leaf {row.index} does not match the stored event (changed after logging)",
                    )
                )
            # RFC 9162 §2.1.1 by a binary counter: merge equal-width subtrees.
            width, node = 1, row.hash
            while frontier and frontier[-1][0] == width:
                _, left = frontier.pop()
                node = hashlib.sha256(b"\x01" + left + node).digest()
                width *= 2
            frontier.append((width, node))
    if size:
        root = frontier[-1][1]
        for _, left in reversed(frontier[:-1]):
            root = hashlib.sha256(b"\x01" + left + root).digest()
        if root != ledger.transparency_log.root(size):
            report.problems.append(
                Problem(LOG, size, LOG, "the stored log nodes do not match the leaves (rewritten)")
            )
    if report.events > size:
        report.problems.append(
            Problem(
                LOG,
                size,
                LOG,
                f"{report.events - size} stored events are not in the log "
                "(run the log follower; if they stay out, they were inserted around the log)",
            )
        )


def _check_checkpoints(
    ledger: Any, report: AuditReport, checkpoints: Sequence[tuple[int, bytes, str]]
) -> None:
    """The current tree must extend every witnessed checkpoint (RFC 9162 §2.1.4).

    A checkpoint larger than the tree means the log was truncated; a smaller one whose root
    differs means history up to its size was rewritten. The largest checkpoint that still
    matches bounds where the change starts.
    """
    log = ledger.transparency_log
    size = log.size
    matched = 0
    for cp_size, cp_root, source in sorted(checkpoints):
        if cp_size > size:
            report.problems.append(
                Problem(
                    LOG,
                    size,
                    "checkpoint",
                    f"{source} was witnessed at size {cp_size}, the log now has {size}: "
                    f"leaves {size}…{cp_size - 1} are missing (truncated or deleted)",
                )
            )
        elif log.root(cp_size) != cp_root:
            report.problems.append(
                Problem(
                    LOG,
                    cp_size,
                    "checkpoint",
                    f"{source}: the log's root at size {cp_size} is not the witnessed one: "
                    f"history between leaves {matched} and {cp_size - 1} was changed",
                )
            )
        else:
            matched = cp_size


def _collect_revocations(
    ledger: Any, decode_payload: Any, registrations: dict[bytes, _Registration], report: AuditReport
) -> None:
    """Apply CertificateRevoked events; compare with the revocations table."""
    from_events: dict[bytes, datetime] = {}
    for stored in _notifications(ledger, (REVOCATION_TOPIC,)):
        try:
            state = decode_payload(envelope.decode(stored.state).payload)
            fp = bytes.fromhex(state["fingerprint"])
            moment = state["revoked_at"]
            if not isinstance(moment, datetime):
                raise TypeError("revoked_at is not a datetime")
        except Exception:  # noqa: S112 - pass 2 reports this event's defect
            continue
        reg = registrations.get(fp)
        if reg is None or reg.record != _uuid(stored.originator_id):
            report.problems.append(
                Problem(
                    str(stored.originator_id),
                    stored.originator_version,
                    "registry",
                    f"revokes {fp.hex()[:16]}, which is not registered on this record",
                )
            )
            continue
        if fp not in from_events:
            from_events[fp] = moment
            reg.revoked_at = moment
            recorded = state.get("timestamp")
            reg.revocation_recorded_at = recorded if isinstance(recorded, datetime) else None
            leaf = ledger.recorder.log_leaf_of(
                _uuid(stored.originator_id), stored.originator_version
            )
            reg.revocation_leaf = None if leaf is None else leaf.index
    table = {r.fingerprint: r for r in ledger.recorder.select_revocations()}
    for fp, moment in from_events.items():
        row = table.pop(fp, None)
        if row is None or row.revoked_at != moment:
            reg = registrations[fp]
            report.problems.append(
                Problem(
                    str(reg.record),
                    reg.version,
                    "registry",
                    f"revocation of {fp.hex()[:16]} "
                    "missing from or different in the revocations table",
                )
            )
    for fp, row in table.items():
        report.problems.append(
            Problem(
                str(row.owner),
                row.version,
                "registry",
                f"revocation of {fp.hex()[:16]} has no CertificateRevoked event",
            )
        )


def _uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(value)


#: How far a revocation's own record may lag its effective time and still be "on time".
ON_TIME = 300.0


def _check_revoked_signer(
    ledger: Any,
    stored: StoredEvent,
    decode_payload: Any,
    registrations: dict[bytes, _Registration],
    existence: Sequence[tuple[int, datetime]],
    env: envelope.Envelope | None = None,
) -> list[tuple[str, str]]:
    """ETSI EN 319 102-1 point-in-time validation of a since-revoked signer.

    An event signed by a certificate revoked at R, claiming a time before R, stays valid only
    with a proof that it existed before R: a timestamped checkpoint covering its leaf with a
    time before R, or its place in the log before an on-time revocation record (one made
    within :data:`ON_TIME` seconds of R: the store refused that signer from then on). Without
    either it is INDETERMINATE (REVOKED_NO_POE) and reported. Events claiming a time at or
    after R are reported by the certificate check already. ``env``: the event's envelope,
    when the caller has decoded it already.
    """
    if env is None:
        env = _try_decode(stored)
    if env is None:
        return []
    reg = registrations.get(env.signer)
    if reg is None or reg.revoked_at is None:
        return []
    try:
        moment = decode_payload(env.payload).get("timestamp")
    except Exception:  # the payload check reports it
        return []
    if not isinstance(moment, datetime) or moment >= reg.revoked_at:
        return []
    leaf = ledger.recorder.log_leaf_of(_uuid(stored.originator_id), stored.originator_version)
    if leaf is None:
        return [
            (
                "certificate",
                "signer since revoked and the event is not in the log: no proof "
                "it existed before the revocation (REVOKED_NO_POE)",
            )
        ]
    proven = [t for size, t in existence if size > leaf.index]
    if proven and min(proven) < reg.revoked_at:
        return []
    on_time = (
        reg.revocation_recorded_at is not None
        and (reg.revocation_recorded_at - reg.revoked_at).total_seconds() <= ON_TIME
        and reg.revocation_leaf is not None
        and leaf.index < reg.revocation_leaf
    )
    if on_time:
        return []
    return [
        (
            "certificate",
            f"signer revoked at {reg.revoked_at.isoformat()}; nothing proves this event existed "
            "before then (no earlier timestamped checkpoint; the revocation was recorded late): "
            "INDETERMINATE, REVOKED_NO_POE",
        )
    ]


def _try_decode(stored: StoredEvent) -> envelope.Envelope | None:
    try:
        return envelope.decode(stored.state)
    except SigningError:
        return None


def _check_event(
    stored: StoredEvent,
    decode_payload: Any,
    registrations: dict[bytes, _Registration],
    verified: set[tuple[bytes, int, bytes, bytes, int]],
    parsed: envelope.Envelope | None = None,
) -> list[tuple[str, str]]:
    rid = stored.originator_id
    version = stored.originator_version
    try:
        env = parsed if parsed is not None else envelope.decode(stored.state)
    except SigningError as e:
        return [("envelope", str(e))]
    out: list[tuple[str, str]] = []
    try:
        env.verify_hash(envelope.record_id_bytes(rid), version, stored.topic)
    except SigningError as e:
        out.append(("hash", str(e)))
    reg = registrations.get(env.signer)
    if reg is None:
        out.append(("signer", f"certificate {env.signer.hex()[:16]} is not registered"))
    else:
        if reg.record == rid and reg.version > version:
            out.append(("signer", "signed before its certificate was registered"))
        elif (reg.record, reg.version) == (rid, version) and stored.topic != REGISTRATION_TOPICS[0]:
            out.append(
                ("signer", "only a school's genesis may register its own signing certificate")
            )
        try:
            root = env.batch_root()
            key = (env.signer, env.batch_size, root, env.signature, int(env.algorithm))
            if key not in verified:
                algorithms.verify(
                    reg.entry.certificate.public_key(),
                    env.algorithm,
                    env.signature,
                    envelope.batch_message(env.batch_size, root),
                )
                verified.add(key)
        except SigningError as e:
            out.append(("signature", str(e)))
    try:
        state = decode_payload(env.payload)
    except Exception as e:
        out.append(("payload", f"payload does not decode: {e}"))
        return out
    if reg is not None:
        moment = state.get("timestamp")
        if isinstance(moment, datetime):
            cert = reg.entry.certificate
            if not cert.not_valid_before_utc <= moment <= cert.not_valid_after_utc:
                out.append(("certificate", f"signed at {moment.isoformat()} outside validity"))
            elif reg.revoked_at is not None and moment >= reg.revoked_at:
                out.append(
                    (
                        "certificate",
                        f"signed at {moment.isoformat()}, after its revocation at "
                        f"{reg.revoked_at.isoformat()}",
                    )
                )
        by = state.get("by")
        if by is not None and UUID(str(by)) != reg.entry.owner:
            out.append(("actor", f"names {by} but signed by a certificate of {reg.entry.owner}"))
    return out


def _check_registry_table(
    ledger: Any, registrations: dict[bytes, _Registration], report: AuditReport
) -> None:
    table = {r.fingerprint: r for r in ledger.recorder.select_certificates()}
    for fp, reg in registrations.items():
        row = table.pop(fp, None)
        if row is None or row.owner != reg.entry.owner:
            report.problems.append(
                Problem(
                    str(reg.record),
                    reg.version,
                    "registry",
                    f"{fp.hex()[:16]} missing or wrong owner",
                )
            )
    for fp, row in table.items():
        report.problems.append(
            Problem(
                str(row.owner), row.version, "registry", f"{fp.hex()[:16]} has no registering event"
            )
        )


def _check_trust(
    ledger: Any, registrations: dict[bytes, _Registration], report: AuditReport
) -> None:
    trust = getattr(ledger, "trust", None)
    if trust is None:
        return
    for reg in registrations.values():
        try:
            trust.verify(reg.entry.certificate, reg.time)
        except Exception as e:
            report.problems.append(Problem(str(reg.record), reg.version, "certificate", str(e)))
