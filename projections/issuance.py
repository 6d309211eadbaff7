"""Issuing học bạ số: transcript data, proof bundle, PDF/A-3, PAdES B-LTA, ``TranscriptIssued``.

One transcript goes through (DESIGN.md §4, DOMAIN.md §3.5, §5.3):

1. **plan** (in the issuing process): the record must have every year result
   (:meth:`ledger.commands.SchoolCommands.transcript_gaps`); a record whose current
   transcript still shows it is skipped. The data come from the transcript and staff views
   (caught up first, and checked against the record's own year results), the proof bundle
   from the ledger: the record's events up to its head, their certificates, the head's
   inclusion in a checkpoint cosigned by the witnesses (one per run), and the person's
   commitment salt so that a verifier can check the identity on the page.
2. **make** (in a worker process, both cores): render the PDF/A-3 with ``transcript.json``,
   ``transcript.xml`` and ``proof.json`` attached, then sign it: GVCN, Hiệu trưởng, the
   school seal where configured (the last signature locks the document), each PAdES B-T
   with a time-stamp from the TSA; then the DSS (certificates and CRLs of every chain,
   B-LT) and a document time-stamp (B-LTA).
3. **record** (in the issuing process, one at a time): write the signed PDF to
   ``OUT/.pending/`` and fsync it, append ``TranscriptIssued`` (the PDF's SHA-256; a
   ``TranscriptSuperseded`` for the issue it replaces, in the same atomic save), then
   rename the file into ``OUT/``.

A crash at any point leaves either no event (the pending file is deleted by the next run)
or an event whose file is still pending (the next run moves it into place after checking
its hash), so a transcript is never half-issued and a rerun never issues one twice.
"""

from __future__ import annotations

import base64
import concurrent.futures
import datetime as dt
import hashlib
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5
from zoneinfo import ZoneInfo

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from eventsourcing.utils import get_topic

from ledger.application import Ledger
from ledger.checkpoints import Checkpointer, SignedCheckpoint
from ledger.domain import PRINCIPAL, StudentRecord, school_year_id
from ledger.domain import SchoolYear as SchoolYearRecord
from ledger.errors import AlreadyExists, LedgerError, SignerNotValid
from ledger.store import refuse_if_revoked
from projections.errors import ProjectionError
from signing import pades
from signing.envelope import decode
from signing.keys import Signer, certificate_fingerprint, fsync_directory, resolve_passphrase
from signing.pki import DemoPKI
from signing.validation import validate_certificate

__all__ = [
    "IssueError",
    "IssueOutcome",
    "IssueReport",
    "Issuer",
    "SigningKit",
    "transcript_id",
]

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
PROOF_FORMAT = "socai-proof/1"
PENDING = ".pending"
_NAMESPACE = uuid5(NAMESPACE_URL, "urn:socai:transcript")
#: School-year events about single students' class membership: not in proof bundles.
_ROSTER_EVENTS = ("StudentJoined", "StudentLeft")


class IssueError(ProjectionError):
    """A transcript cannot be issued (missing data, a signer not valid, a bad PDF)."""


def transcript_id(student: UUID, number: int) -> str:
    """The transcript's public id: a UUID from the record and the issue number."""
    return str(uuid5(_NAMESPACE, f"{student}/{number}"))


def _cn(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    value = names[0].value if names else ""
    return value if isinstance(value, str) else value.decode("utf-8")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# -- the worker side: render and sign ---------------------------------------------------------


@dataclass(frozen=True)
class SignerRole:
    """Who signs in which role: a staff code, or None for the school seal."""

    role: str
    staff_code: str | None
    lines: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class Job:
    """One transcript to make: everything a worker needs, picklable."""

    student_code: str
    data: dict[str, Any]
    attachments: dict[str, bytes]
    signers: tuple[SignerRole, ...]


@dataclass
class SigningKit:
    """Per process: the keys, the TSA, the appearance font and the validation data.

    ``crls`` are DER CRLs of every CA in the chains (made once per run by the issuing
    process); they go into each document's DSS with ``certificates`` (the CA and TSA
    certificates) and the certificates of the document's own signers.
    """

    pki: DemoPKI
    timestamper: Any
    certificates: list[x509.Certificate]
    crls: list[bytes]
    font: Path | None
    location: str
    _chars: set[str] = field(default_factory=set, repr=False)

    @classmethod
    def load(cls, data_dir: Path, crls: list[bytes], passphrase: bytes | None = None) -> SigningKit:
        from signing.tsa import load_demo_tsa

        secret = (
            passphrase if passphrase is not None else resolve_passphrase(data_dir, create=False)
        )
        pki = DemoPKI.load(data_dir / "pki", secret)
        tsa_dir = data_dir / "pki" / "tsa"
        if not (tsa_dir / "cert.pem").is_file():
            raise IssueError(f"no time-stamp authority in {tsa_dir}: PAdES B-T needs one")
        tsa = load_demo_tsa(tsa_dir, secret, [pki.so])
        # The chains every document needs; each adds its own signers' certificates.
        certificates = [pki.root, pki.so, pki.school, tsa.certificate]
        return cls(
            pki=pki,
            timestamper=tsa.pyhanko_timestamper(),
            certificates=certificates,
            crls=crls,
            font=None,
            location=pki.province,
        )

    def font_for(self, lines: Iterable[str]) -> Path:
        """The appearance font, extended when ``lines`` hold a character it lacks."""
        wanted = set("".join(lines))
        if self.font is None or not wanted <= self._chars:
            self._chars |= wanted
            self._chars |= {c for cert in self.pki.staff.values() for c in _cn(cert)}
            self._chars |= set(_cn(self.pki.seal))
            self.font = appearance_font("".join(sorted(self._chars)))
        return self.font

    def signer(self, role: SignerRole) -> Signer:
        if role.staff_code is None:
            return self.pki.seal_signer()
        return self.pki.signer_for(role.staff_code)

    def make(self, job: Job) -> bytes:
        """Render and sign one transcript; the PDF's bytes."""
        from projections.pdf import render_transcript

        roles = {r.role: r for r in job.signers}
        rendered = render_transcript(job.data, attachments=job.attachments, seal="seal" in roles)
        boxes = {f.role: f for f in rendered.fields}
        pdf = rendered.pdf
        order = [r for r in ("gvcn", "hieu_truong", "seal") if r in roles]
        chain = (self.pki.school, self.pki.so)
        for i, name in enumerate(order):
            role, box = roles[name], boxes[name]
            last = i == len(order) - 1
            later = [boxes[n] for n in order[i + 1 :]]
            lock: pades.Lock = "all" if last else ("others" if name == "hieu_truong" else "none")
            request = pades.SignatureRequest(
                field_name=box.field_name,
                signer=self.signer(role),
                chain=chain,
                page=box.page,
                box=box.box,
                lines=role.lines,
                reason=role.reason,
                location=self.location,
                lock=lock,
                pending=(
                    tuple((b.field_name, b.page, b.box) for b in later) if lock == "others" else ()
                ),
                font=self.font_for(role.lines),
            )
            pdf = pades.sign(pdf, request, timestamper=self.timestamper)
        signers = [self.signer(roles[name]).certificate for name in order]
        pdf = pades.add_validation_data(
            pdf, certificates=[*self.certificates, *signers], crls=self.crls
        )
        return pades.timestamp_document(pdf, timestamper=self.timestamper)


#: Characters every appearance font carries: ASCII (class names, times, codes) and the
#: words of the appearance lines.
_APPEARANCE_BASE = "".join(chr(c) for c in range(0x20, 0x7F)) + "Ký lúc Giáo viên chủ nhiệm lớp"


def appearance_font(text: str = "") -> Path:
    """Noto Serif Regular cut down to the characters of ``text``, for signature appearances.

    pyHanko embeds a subset of the appearance font in every signature it makes, and
    subsetting a whole Vietnamese font costs more than the signature itself. A font with
    only the characters the appearances use (the signers' names and titles, ASCII) makes
    that step cheap; OpenType layout tables are dropped (every Vietnamese letter with its
    marks is a precomposed glyph). Cached by character set next to the source font.
    """
    from fontTools import subset
    from fontTools.ttLib import TTFont

    from projections import fonts

    chars = sorted(set(_APPEARANCE_BASE + text) - {"\n"})
    digest = hashlib.sha256("".join(chars).encode("utf-8")).hexdigest()[:16]
    source = fonts.serif_path("regular")
    path = source.with_name(f"{source.stem}.appearance-{digest}.ttf")
    if not path.is_file():
        font = TTFont(source)
        options = subset.Options()
        options.layout_features = []
        options.drop_tables += ["GPOS", "GSUB", "GDEF"]
        options.name_IDs = ["*"]
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=[ord(c) for c in chars])
        subsetter.subset(font)
        temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        font.save(temp)
        os.replace(temp, path)
    return path


_KIT: SigningKit | None = None


def _init_worker(data_dir: str, crls: list[bytes], passphrase: bytes) -> None:
    global _KIT
    _KIT = SigningKit.load(Path(data_dir), crls, passphrase)


def _make(job: Job) -> tuple[str, bytes | str]:
    assert _KIT is not None, "worker not initialised"
    return _make_with(_KIT, job)


def _make_with(kit: SigningKit, job: Job) -> tuple[str, bytes | str]:
    """The signed PDF, or the reason it could not be made (a worker never raises)."""
    try:
        return job.student_code, kit.make(job)
    except (ProjectionError, pades.PadesError) as e:
        return job.student_code, str(e)


# -- the issuing side -------------------------------------------------------------------------


@dataclass(frozen=True)
class IssueOutcome:
    """What happened to one student's transcript."""

    student_code: str
    status: str
    """``issued``, ``up_to_date`` (nothing changed since the current issue) or ``refused``."""
    detail: str = ""
    number: int | None = None
    sha256: str | None = None
    path: str | None = None
    supersedes: str | None = None


@dataclass
class IssueReport:
    """A bulk run: the outcome per student, and how long it took."""

    outcomes: list[IssueOutcome] = field(default_factory=list)
    seconds: float = 0.0
    recovered: int = 0
    """Pending files of an interrupted run that were moved into place (their event existed)."""
    discarded: int = 0
    """Pending files of an interrupted run without an event, deleted."""
    phases: dict[str, float] = field(default_factory=dict)
    """Seconds spent in this process per phase: ``prepare`` (checkpoint, views), ``plan``,
    ``wait`` (for the workers), ``record``."""

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)


@dataclass
class _Planned:
    student: UUID
    code: str
    record_version: int
    school_year: str
    number: int
    transcript: str
    job: Job


class Issuer:
    """Issues transcripts of one data directory's school as its principal.

    ``ledger`` and ``views`` are open; ``checkpointer`` makes the witnessed checkpoint
    that proofs point into; ``pki`` holds the signing keys (the principal's key also
    signs the ``TranscriptIssued`` events); ``out`` is where the PDFs go.
    """

    def __init__(
        self,
        ledger: Ledger,
        views: Any,
        checkpointer: Checkpointer,
        pki: DemoPKI,
        *,
        data_dir: Path,
        out: Path,
        log_config: Mapping[str, Any],
        public_url: str,
        seal: bool = True,
        principal_code: str | None = None,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.ledger = ledger
        self.views = views
        self.checkpointer = checkpointer
        self.pki = pki
        self.data_dir = Path(data_dir)
        self.out = Path(out)
        self.log_config = dict(log_config)
        self.public_url = public_url.rstrip("/")
        self.seal = seal
        self._now = now
        self._names: dict[str, str] = {}
        self._checked: dict[bytes, None] = {}
        self._crls: list[bytes] | None = None
        #: School years loaded during this issuer's runs (they hold rosters and plans).
        self._years: dict[tuple[UUID, str], Any] = {}
        #: Context events of proof bundles (schools, school years, staff files) per record,
        #: with their log positions; filled once per run.
        self._context: dict[UUID, list[tuple[dict[str, Any], bytes]]] = {}
        self.principal_code = principal_code or self._principal_code()

    # -- who signs ---------------------------------------------------------------------------

    def _principal_code(self) -> str:
        for code, cert in sorted(self.pki.staff.items()):
            entry = self.ledger.registry.get(certificate_fingerprint(cert))
            if entry is None:
                continue
            owner: Any = self.ledger.repository.get(entry.owner)
            if getattr(owner, "is_principal", False) and owner.school == self._school_id():
                return code
        raise IssueError(
            f"no principal ({PRINCIPAL}) with a registered key in {self.pki.directory}"
        )

    def _school_id(self) -> UUID:
        from ledger.domain import school_id

        return school_id(self.pki.school_code)

    def crls(self) -> list[bytes]:
        """The current CRL of every demo CA, made once per issuer."""
        if self._crls is None:
            now = self._now()
            crls = []
            for name in ("root", "so", "school"):
                with self.pki.authority(name) as authority:
                    crls.append(authority.crl(now))
            self._crls = crls
        return self._crls

    def check_signer(self, cert: x509.Certificate, who: str) -> None:
        """Refuse a signer whose certificate is revoked (ledger or CA) or not valid now."""
        fp = certificate_fingerprint(cert)
        if fp in self._checked:
            return
        now = self._now()
        try:
            recorder: Any = self.ledger.recorder
            refuse_if_revoked(recorder.select_revocation(fp), now)
        except SignerNotValid as e:
            raise IssueError(f"{who}: {e}") from None
        result = validate_certificate(
            cert,
            moment=now,
            roots=self.pki.trust_roots(),
            intermediates=self.pki.intermediates(),
            crls=self.crls(),
        )
        if not result.passed:
            raise IssueError(f"{who}: the certificate is not valid now: {result.detail}")
        self._checked[fp] = None

    def _staff_name(self, staff: str) -> str:
        name = self._names.get(staff)
        if name is None:
            summary = self.views.staff.staff_file(UUID(staff), self.ledger.vault)
            identity = (summary or {}).get("identity") or {}
            name = identity.get("ho_va_ten") or (summary or {}).get("staff_code") or staff
            self._names[staff] = name
        return name

    # -- one student ---------------------------------------------------------------------------

    def _school_year(self, school: UUID, year: str) -> SchoolYearRecord:
        return self.ledger.load(school_year_id(school, year), SchoolYearRecord)

    def plan(self, student: UUID, checkpoint: SignedCheckpoint) -> _Planned | IssueOutcome:
        """Everything for one transcript but the signatures, or why there is nothing to do."""
        from projections.transcript import IssueInfo, Signatory, build_transcript, to_json, to_xml

        record = self.ledger.load(student, StudentRecord)
        code = record.student_code
        if record.transcript_up_to_date:
            current = record.current_transcript
            assert current is not None
            return IssueOutcome(code, "up_to_date", number=current.number, sha256=current.sha256)
        gaps = self.ledger.transcript_gaps(record, years=self._years)
        if gaps:
            return IssueOutcome(code, "refused", "chưa thể cấp học bạ: " + "; ".join(gaps))
        years = self.views.transcripts.transcripts_of(student, self.ledger.vault)
        for y in years:
            recorded = record.results.get(y["school_year"])
            expected = (
                None if recorded is None else {k: v for k, v in recorded.items() if k != "stage"}
            )
            if y.get("result") != expected:
                raise IssueError(
                    f"{code}: the transcript view is behind the record for {y['school_year']} "
                    "(run `socai views update`)"
                )
        last = years[-1]
        school_year = last["school_year"]
        school = UUID(last["school"])
        if school != self._school_id():
            return IssueOutcome(code, "refused", f"năm học {school_year} học ở trường khác")
        teachers: dict[tuple[str, str], str] = {}
        homerooms: dict[str, str] = {}
        for y in years:
            sy, sch = y["school_year"], UUID(y["school"])
            for a in self.views.staff.assignments(sch, sy):
                if a["class_name"] == y["class_name"]:
                    teachers.setdefault((sy, a["subject"]), self._staff_name(a["staff"]))
            for h in self.views.staff.homerooms(sch, sy):
                if h["class_name"] == y["class_name"]:
                    homerooms[sy] = self._staff_name(h["staff"])
        # An assignment that ended (the teacher moved away) is no longer in the view: the
        # subject's teacher is then whoever recorded its latest entry that year.
        for _, entry in sorted(record.entries.items()):
            teachers.setdefault((entry.school_year, entry.subject), self._staff_name(str(entry.by)))
        gvcn_code = next(
            (
                h["staff_code"]
                for h in self.views.staff.homerooms(school, school_year)
                if h["class_name"] == last["class_name"]
            ),
            None,
        )
        if gvcn_code is None or gvcn_code not in self.pki.staff:
            return IssueOutcome(
                code, "refused", f"lớp {last['class_name']} chưa có GVCN có chữ ký số"
            )
        gvcn_cert = self.pki.staff[gvcn_code]
        principal_cert = self.pki.staff[self.principal_code]
        self.check_signer(gvcn_cert, f"GVCN {gvcn_code}")
        self.check_signer(principal_cert, f"Hiệu trưởng {self.principal_code}")
        roles = [
            SignerRole(
                "gvcn",
                gvcn_code,
                (_cn(gvcn_cert), f"Giáo viên chủ nhiệm lớp {last['class_name']}"),
                "Giáo viên chủ nhiệm xác nhận học bạ",
            ),
            SignerRole(
                "hieu_truong",
                self.principal_code,
                (_cn(principal_cert), PRINCIPAL),
                "Hiệu trưởng xác nhận và cấp học bạ",
            ),
        ]
        signatories = [
            Signatory("gvcn", _cn(gvcn_cert), "Giáo viên chủ nhiệm", gvcn_code),
            Signatory("hieu_truong", _cn(principal_cert), PRINCIPAL, self.principal_code),
        ]
        if self.seal:
            self.check_signer(self.pki.seal, "con dấu của trường")
            roles.append(
                SignerRole(
                    "seal", None, (_cn(self.pki.seal), "Con dấu điện tử"), "Xác nhận của nhà trường"
                )
            )
            signatories.append(Signatory("seal", _cn(self.pki.seal), "Con dấu điện tử", None))
        number = len(record.transcripts) + 1
        tid = transcript_id(student, number)
        current = record.current_transcript
        issue = IssueInfo(
            transcript_id=tid,
            number=number,
            issued_on=self._now().astimezone(VIETNAM).date().isoformat(),
            record_version=int(record.version),
            record_head=self._head_hash(student, int(record.version)),
            supersedes=None if current is None else current.sha256,
        )
        data = build_transcript(
            years,
            province=self.pki.province,
            teachers=teachers,
            homerooms=homerooms,
            signers=signatories,
            issue=issue,
            verify_url=f"{self.public_url}/verify/{tid}",
        )
        proof = self.proof(student, int(record.version), checkpoint)
        attachments = {
            "transcript.json": to_json(data),
            "transcript.xml": to_xml(data),
            "proof.json": proof,
        }
        job = Job(code, data, attachments, tuple(roles))
        return _Planned(student, code, int(record.version), school_year, number, tid, job)

    def _code(self, student: UUID) -> str:
        try:
            return str(self.ledger.load(student, StudentRecord).student_code)
        except LedgerError:
            return str(student)

    def _head_hash(self, student: UUID, version: int) -> str:
        events = self.ledger.recorder.select_events(student, gt=version - 1, lte=version)
        return decode(bytes(events[0].state)).hash.hex()

    def proof(self, student: UUID, version: int, checkpoint: SignedCheckpoint) -> bytes:
        """``proof.json``: the record's events up to ``version``, certificates, inclusion.

        Besides the record's own events, ``context`` holds the events of the records that
        decide whether each of them was authorised (ledger.authority): the schools, the
        school years the student was in, and the staff file (or school) owning each signing
        certificate, as far as the log had them when the head was logged. Every event
        carries its log position (``leaf_index``), so a verifier replays them in log order.
        The school years' enrolments of other students (``Joined``/``Left``) are left out:
        they judge nothing here, and they would disclose the class list.
        """
        import json

        from ledger.domain import SchoolYear as _SchoolYear

        log = self.ledger.transparency_log
        certificates: dict[str, dict[str, str]] = {}
        owners: set[UUID] = set()

        positions: dict[UUID, dict[int, int]] = {}

        def position(rid: UUID, version: int) -> int:
            known = positions.get(rid)
            if known is None:
                known = positions[rid] = log.positions(rid)
            if version not in known:
                raise IssueError(f"record {rid} version {version} is not in the log yet")
            return known[version]

        def entry_of(stored: Any) -> dict[str, Any]:
            state = bytes(stored.state)
            fp = decode(state).signer
            key = fp.hex()
            if key not in certificates:
                entry = self.ledger.registry.get(fp)
                if entry is None:
                    raise IssueError(
                        f"event {stored.originator_version}: unknown signer {key[:16]}"
                    )
                certificates[key] = {
                    "owner": str(entry.owner),
                    "der": _b64(entry.certificate.public_bytes(Encoding.DER)),
                }
                owners.add(entry.owner)
            return {
                "version": stored.originator_version,
                "topic": stored.topic,
                "state": _b64(state),
                "leaf_index": position(stored.originator_id, stored.originator_version),
            }

        out_events = [entry_of(e) for e in self.ledger.recorder.select_events(student, lte=version)]
        head_index = out_events[-1]["leaf_index"]
        record = self.ledger.load(student, StudentRecord)
        related: list[UUID] = []
        for school_year, (_grade, _class, school) in sorted(record.years.items()):
            related += [school, school_year_id(school, school_year)]
        context: list[dict[str, Any]] = []
        year_topic = get_topic(_SchoolYear) + "."
        done: set[UUID] = {student}
        queue = list(dict.fromkeys(related))
        while queue or owners - done:
            rid = queue.pop(0) if queue else sorted(owners - done, key=str)[0]
            if rid in done:
                continue
            done.add(rid)
            cached = self._context.get(rid)
            if cached is None:
                # The same for every transcript of a run: read and located once.
                cached = self._context[rid] = [
                    ({"record": str(rid), **entry_of(stored)}, decode(bytes(stored.state)).signer)
                    for stored in self.ledger.recorder.select_events(rid)
                    if not (
                        stored.topic.startswith(year_topic)
                        and stored.topic.rsplit(".", 1)[-1] in _ROSTER_EVENTS
                    )
                ]
            for item, fp in cached:
                if item["leaf_index"] > head_index:
                    break
                context.append(item)
                if fp.hex() not in certificates:
                    entry = self.ledger.registry.get(fp)
                    if entry is not None:
                        certificates[fp.hex()] = {
                            "owner": str(entry.owner),
                            "der": _b64(entry.certificate.public_bytes(Encoding.DER)),
                        }
                        owners.add(entry.owner)
        context.sort(key=lambda e: e["leaf_index"])
        inclusion = self.checkpointer.prove_record(student, version, checkpoint)
        salt = self.ledger.vault.salt(student)
        bundle = {
            "format": PROOF_FORMAT,
            "record": str(student),
            "record_version": version,
            "events": out_events,
            "context": context,
            "certificates": certificates,
            "inclusion": inclusion,
            "checkpoint_timestamp": None
            if checkpoint.timestamp is None
            else _b64(checkpoint.timestamp),
            "log": {
                "origin": self.log_config["log"]["origin"],
                "vkey": self.log_config["log"]["vkey"],
            },
            "witnesses": [
                {"name": w["name"], "vkey": w["vkey"]} for w in self.log_config.get("witnesses", [])
            ],
            "witness_quorum": int(self.log_config.get("witness_quorum", 1)),
            "identity_salt": None if salt is None else _b64(salt),
        }
        return (
            json.dumps(bundle, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"
        ).encode()

    # -- recording -------------------------------------------------------------------------------

    def _file_name(self, code: str, number: int) -> str:
        return f"{code}-{number}.pdf"

    def recover(self) -> tuple[int, int]:
        """Finish what an interrupted run left in ``OUT/.pending``: (moved, deleted)."""
        pending = self.out / PENDING
        moved = deleted = 0
        if not pending.is_dir():
            return 0, 0
        for path in sorted(pending.glob("*.pdf")):
            code, _, number_text = path.stem.rpartition("-")
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            recorded = False
            try:
                from ledger.domain import student_id

                record = self.ledger.load(student_id(code), StudentRecord)
                recorded = any(
                    t.sha256 == digest and str(t.number) == number_text for t in record.transcripts
                )
            except LedgerError:
                recorded = False
            if recorded:
                os.replace(path, self.out / path.name)
                moved += 1
            else:
                path.unlink()
                deleted += 1
        fsync_directory(self.out)
        return moved, deleted

    def record(self, planned: _Planned, pdf: bytes) -> IssueOutcome:
        """Write the PDF, append ``TranscriptIssued``, move the file into place."""
        digest = hashlib.sha256(pdf).hexdigest()
        name = self._file_name(planned.code, planned.number)
        pending = self.out / PENDING
        pending.mkdir(parents=True, exist_ok=True)
        temp = pending / name
        with open(temp, "wb") as f:
            f.write(pdf)
            f.flush()
            os.fsync(f.fileno())
        fsync_directory(pending)
        try:
            issued = self.ledger.issue_transcript(
                self.pki.signer_for(self.principal_code),
                planned.student,
                transcript=planned.transcript,
                school_year=planned.school_year,
                record_version=planned.record_version,
                sha256=digest,
                years=self._years,
            )
        except AlreadyExists as e:
            temp.unlink(missing_ok=True)
            return IssueOutcome(planned.code, "up_to_date", str(e))
        except LedgerError as e:
            temp.unlink(missing_ok=True)
            self.ledger.forget_cached()
            return IssueOutcome(planned.code, "refused", str(e))
        except BaseException:
            self.ledger.forget_cached()
            raise
        final = self.out / name
        os.replace(temp, final)
        fsync_directory(self.out)
        return IssueOutcome(
            planned.code,
            "issued",
            number=issued.number,
            sha256=digest,
            path=str(final),
            supersedes=issued.supersedes,
        )

    # -- the bulk run -----------------------------------------------------------------------------

    def students_of(self, school_year: str, class_name: str | None = None) -> list[UUID]:
        """The students of a class (or of every class) of this school in ``school_year``."""
        year = self._school_year(self._school_id(), school_year)
        classes = [class_name] if class_name is not None else sorted(year.rosters)
        students: list[UUID] = []
        for name in classes:
            if name not in year.rosters:
                raise IssueError(f"lớp {name} không có trong năm học {school_year}")
            students += sorted(year.rosters[name], key=str)
        return students

    def issue(
        self,
        students: Sequence[UUID],
        *,
        jobs: int = 2,
        progress: Callable[[int, int, IssueOutcome], None] | None = None,
    ) -> IssueReport:
        """Issue a transcript for each student whose record changed since its last issue.

        ``jobs`` worker processes render and sign (1: in this process). ``progress`` is
        called after each student.
        """
        # Loads return the cached aggregates themselves (a copy per load costs more than
        # the rest of a plan); a command that fails drops the cache (see record()).
        with self.ledger.cached(4 * len(students) + 100, copy=False):
            return self._issue(students, jobs=jobs, progress=progress)

    def _issue(
        self,
        students: Sequence[UUID],
        *,
        jobs: int,
        progress: Callable[[int, int, IssueOutcome], None] | None,
    ) -> IssueReport:
        started = time.perf_counter()
        report = IssueReport()
        report.recovered, report.discarded = self.recover()
        self.views.catch_up()
        checkpoint, _ = self.checkpointer.checkpoint()
        quorum = int(self.log_config.get("witness_quorum", 1))
        if len(checkpoint.cosigned_by) < quorum:
            raise IssueError(
                f"the checkpoint has {len(checkpoint.cosigned_by)} cosignatures, "
                f"{quorum} needed: are the witnesses reachable?"
            )
        total = len(students)
        done = 0
        self._years.clear()
        self._context.clear()
        phases = report.phases
        phases.update(prepare=time.perf_counter() - started, plan=0.0, wait=0.0, record=0.0)

        def planned() -> Iterable[_Planned]:
            nonlocal done
            for student in students:
                t = time.perf_counter()
                try:
                    p = self.plan(student, checkpoint)
                except (ProjectionError, LedgerError) as e:
                    p = IssueOutcome(self._code(student), "refused", str(e))
                phases["plan"] += time.perf_counter() - t
                if isinstance(p, IssueOutcome):
                    report.outcomes.append(p)
                    done += 1
                    if progress is not None:
                        progress(done, total, p)
                else:
                    yield p

        made_all = self._make_all(planned(), jobs)
        while True:
            t = time.perf_counter()
            item = next(made_all, None)
            phases["wait"] += time.perf_counter() - t
            if item is None:
                break
            plan, made = item
            t = time.perf_counter()
            if isinstance(made, str):
                outcome = IssueOutcome(plan.code, "refused", made)
            else:
                outcome = self.record(plan, made)
            phases["record"] += time.perf_counter() - t
            report.outcomes.append(outcome)
            done += 1
            if progress is not None:
                progress(done, total, outcome)
        report.seconds = time.perf_counter() - started
        return report

    def _make_all(
        self, plans: Iterable[_Planned], jobs: int
    ) -> Iterator[tuple[_Planned, bytes | str]]:
        """Each plan with its signed PDF (or why not), in order; planning overlaps signing.

        With ``jobs`` > 1 the documents are made in worker processes, a few per worker in
        flight: this process plans the next ones and records the finished ones meanwhile.
        """
        crls = self.crls()
        it = iter(plans)
        if jobs <= 1:
            kit: SigningKit | None = None
            for plan in it:
                if kit is None:
                    kit = SigningKit.load(self.data_dir, crls, self.pki.passphrase)
                yield plan, _make_with(kit, plan.job)[1]
            return
        first = next(it, None)
        if first is None:
            return
        context = multiprocessing.get_context("forkserver")
        with concurrent.futures.ProcessPoolExecutor(
            max_workers=jobs,
            mp_context=context,
            initializer=_init_worker,
            initargs=(str(self.data_dir), crls, self.pki.passphrase),
        ) as pool:
            window = 3 * jobs
            queue: deque[tuple[_Planned, concurrent.futures.Future[tuple[str, bytes | str]]]]
            queue = deque([(first, pool.submit(_make, first.job))])
            exhausted = False
            while queue:
                while not exhausted and len(queue) < window:
                    nxt = next(it, None)
                    if nxt is None:
                        exhausted = True
                    else:
                        queue.append((nxt, pool.submit(_make, nxt.job)))
                plan, future = queue.popleft()
                yield plan, future.result()[1]
