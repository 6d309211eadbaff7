"""Bulk issuance jobs and transcript downloads over HTTP, on SQLite and PostgreSQL.

Each engine gets a site of its own (:func:`tests.integration.web.build_site`): the demo has
issued every transcript already, so the tests make new issues due (the principal grants
awards, which changes the records after their issue) and the shared sites stay as they are.
The tests of one site run in order: refusals first (nothing may change), then a job and its
progress, a second job that has nothing to do, the downloads and the read log, and a job
killed with its server process half way (nothing is half issued; the next job finishes).
"""

from __future__ import annotations

import hashlib
import io
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.reader import PdfFileReader

from api.accounts import open_accounts
from api.demo import PARTNER_CODE
from api.jobs import INTERRUPTED
from api.trust import load_trust
from bench.serve import free_port
from ledger.application import Ledger
from ledger.audit import audit
from ledger.domain import PRINCIPAL, SchoolYear, StudentRecord, school_id, school_year_id, staff_id
from projections.issuance import PENDING
from projections.verify import trust_from_data_dir, verify_pdf
from signing.keys import certificate_fingerprint, generate_private_key, load_private_key
from signing.pki import DemoPKI, issue_person_certificate
from tests.conftest import drop_postgres, postgres_url
from tests.integration.web import HOME_CODE, PASSPHRASE, PASSWORD, Site, build_site

YEAR = "2025-2026"
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Own:
    """A site of this module, with a ledger and the school's key store in this process."""

    site: Site
    ledger: Ledger
    pki: DemoPKI
    clients: dict[str, httpx.Client]

    def client(self, username: str) -> httpx.Client:
        if username not in self.clients:
            self.clients[username] = self.site.client(username)
        return self.clients[username]

    @property
    def out(self) -> Path:
        return self.site.data / "out"

    def roster(self, code: str, class_name: str | None = None) -> list[UUID]:
        year = self.ledger.load(school_year_id(school_id(code), YEAR), SchoolYear)
        names = [class_name] if class_name else sorted(year.rosters)
        return [s for n in names for s in sorted(year.rosters[n], key=str)]

    def record(self, student: UUID) -> StudentRecord:
        return self.ledger.load(student, StudentRecord)

    def award(self, students: list[UUID]) -> None:
        """Changes after the issue: each student's transcript is due again."""
        for student in students:
            self.ledger.grant_student_award(
                self.pki.signer_for("HT001"), student, "Học sinh tiêu biểu", "QĐ 12/2026"
            )

    def wait(self, job: str, client: httpx.Client | None = None) -> list[dict[str, Any]]:
        """Poll the job until it ends; every answer seen, in order."""
        client = client or self.client("ht001")
        seen = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            r = client.get(f"/api/v1/issuance/{job}")
            assert r.status_code == 200, r.text
            seen.append(r.json())
            if seen[-1]["state"] in ("done", "failed"):
                return seen
            time.sleep(0.05)
        pytest.fail(f"job {job} did not end: {seen[-1]}")


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def own(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Own]:
    url = postgres_url() if request.param == "postgres" else None
    old = os.environ.get("SOCAI_KEY_PASSPHRASE")
    try:
        with build_site(
            tmp_path_factory.mktemp(f"issuance-{request.param}"), database_url=url
        ) as s:
            os.environ["SOCAI_KEY_PASSPHRASE"] = PASSPHRASE
            pki = DemoPKI.load(s.data / "pki", PASSPHRASE.encode())
            ledger = Ledger(s.settings(), load_trust(s.data, pki))
            own = Own(s, ledger, pki, {})
            try:
                yield own
            finally:
                for c in own.clients.values():
                    c.close()
                ledger.close()
    finally:
        if old is None:
            os.environ.pop("SOCAI_KEY_PASSPHRASE", None)
        else:
            os.environ["SOCAI_KEY_PASSPHRASE"] = old
        if url:
            drop_postgres(url)


def _issue(own: Own, body: dict[str, Any], user: str = "ht001") -> httpx.Response:
    return own.client(user).post(f"/api/v1/schools/{own.site.home}/issuance", json=body)


def _files(own: Own) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in own.out.glob("*.pdf")}


def _recorded(own: Own) -> dict[str, str]:
    out = {}
    for student in own.roster(HOME_CODE):
        record = own.record(student)
        for t in record.transcripts:
            out[f"{record.student_code}-{t.number}.pdf"] = t.sha256
    return out


# -- refusals: nothing changes ------------------------------------------------------------------


def test_issuance_is_for_the_principal_of_the_school_only(own: Own) -> None:
    home, partner = own.site.home, own.site.partner
    body = {"school_year": YEAR, "all": True}
    anonymous = httpx.post(f"{own.site.base}/api/v1/schools/{home}/issuance", json=body)
    assert anonymous.status_code == 401
    # Visible school, forbidden action: teachers, the deputy, the staff officer, the inspector.
    for user in ("gv001", "gv002", "pht001", "cb001", "thanhtra"):
        r = _issue(own, body, user)
        assert r.status_code == 403, (user, r.text)
    # Another school's: not disclosed.
    for user in ("ht201", "gv201", "thanhtra201"):
        assert _issue(own, body, user).status_code == 404, user
    assert (
        own.client("ht001").post(f"/api/v1/schools/{partner}/issuance", json=body).status_code
        == 404
    )
    partner_only = [s for s in own.roster(PARTNER_CODE) if own.record(s).school == partner]
    assert partner_only
    r = _issue(own, {"school_year": YEAR, "students": [str(partner_only[0])]})
    assert r.status_code == 404, r.text
    assert _issue(own, {"students": [str(uuid.uuid4())]}).status_code == 404
    # A job and the jobs list are the principal's (and the deputy's) to read.
    assert own.client("gv001").get(f"/api/v1/schools/{home}/issuance").status_code == 403
    assert own.client("ht201").get(f"/api/v1/schools/{home}/issuance").status_code == 404
    assert own.client("ht001").get(f"/api/v1/issuance/{uuid.uuid4()}").status_code == 404
    assert own.client("pht001").get(f"/api/v1/schools/{home}/issuance").json()["jobs"] == []


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"school_year": YEAR},
        {"school_year": YEAR, "class": "6A1", "all": True},
        {"school_year": YEAR, "class": "9Z9"},
        {"school_year": "2025", "all": True},
        {"school_year": "2031-2032", "all": True},
        {"school_year": YEAR, "all": True, "unknown": 1},
        {"students": ["not-a-uuid"]},
        {"students": "all"},
        {"all": "yes please"},
    ],
)
def test_a_malformed_request_is_422_and_starts_nothing(own: Own, body: dict[str, Any]) -> None:
    r = _issue(own, body)
    assert r.status_code == 422, r.text
    assert own.client("ht001").get(f"/api/v1/schools/{own.site.home}/issuance").json()["jobs"] == []


# -- a job --------------------------------------------------------------------------------------


def _new_principal_key(own: Own) -> x509.Certificate:
    """A second key of HT001, held only by the account ``ht001b`` (not in ``DATA/pki``)."""
    key = generate_private_key("ec-p256")
    old = own.pki.staff["HT001"]
    now = datetime.now(UTC)
    cert = issue_person_certificate(
        key.public_key(),
        full_name=str(old.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value),
        title=PRINCIPAL,
        staff_code="HT001",
        organisation=own.pki.school_name,
        province=own.pki.province,
        issuer_cert=own.pki.school,
        issuer_key=load_private_key(own.pki.ca_key_path("school"), own.pki.passphrase),
        not_before=now - timedelta(days=1),
        not_after=now + timedelta(days=365),
        crl_url=own.pki.crl_url("school"),
        ocsp_url=own.pki.ocsp_url("school"),
    )
    with own.pki.authority("school") as ca:
        ca.record_issued(cert)
    own.ledger.register_certificate(own.pki.seal_signer(), staff_id(HOME_CODE, "HT001"), cert)
    store = open_accounts(own.site.settings())
    try:
        store.add(
            "ht001b",
            PASSWORD,
            kind="staff",
            display_name="Hiệu trưởng (khoá thứ hai)",
            staff=staff_id(HOME_CODE, "HT001"),
            key=key,
            certificate=cert,
        )
    finally:
        store.close()
    return cert


def test_a_job_issues_what_changed_and_its_pdfs_verify(own: Own) -> None:
    """The job signs with the principal's key from the session (here one the server lacks)."""
    students = own.roster(HOME_CODE)
    changed = own.roster(HOME_CODE, "6A1")[:2] + own.roster(HOME_CODE, "6A3")[:1]
    before = {s: len(own.record(s).transcripts) for s in students}
    session_cert = _new_principal_key(own)
    own.award(changed)
    r = _issue(own, {"school_year": YEAR, "all": True}, "ht001b")
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["total"] == len(students) and job["state"] == "queued"
    # One job per school at a time.
    again = _issue(own, {"school_year": YEAR, "class": "6A2"})
    assert again.status_code == 409, again.text
    assert job["job"] in again.json()["detail"]

    seen = own.wait(job["job"], own.client("ht001b"))
    assert seen[0]["state"] in ("queued", "running", "done")
    done = [s["done"] for s in seen]
    assert done == sorted(done) and all(0 <= d <= job["total"] for d in done)
    final = seen[-1]
    assert final["state"] == "done", final
    assert final["done"] == final["total"] == len(students)
    assert final["failed"] == 0 and final["errors"] == [] and final["error"] is None
    assert final["issued_count"] == len(changed)
    assert final["up_to_date"] == len(students) - len(changed)
    issued = {UUID(i["record"]): i for i in final["issued"]}
    assert set(issued) == set(changed)

    trust = trust_from_data_dir(own.site.data)
    for student in changed:
        record = own.record(student)
        assert len(record.transcripts) == before[student] + 1
        current = record.current_transcript
        assert current is not None
        assert issued[student]["number"] == current.number
        assert issued[student]["sha256"] == current.sha256
        assert record.transcripts[-2].superseded_at is not None
        # The session's key signed the TranscriptIssued event ...
        event = [e for e in own.ledger.history(student) if e["event"] == "TranscriptIssued"][-1]
        assert event["signer"] == certificate_fingerprint(session_cert).hex()
        path = own.out / f"{record.student_code}-{current.number}.pdf"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == current.sha256
    # One document through the whole verification (the others hash to the ledger above).
    record = own.record(changed[0])
    pdf = (own.out / f"{record.student_code}-{record.transcripts[-1].number}.pdf").read_bytes()
    # ... and the Hiệu trưởng's signature of the PDF; the GVCN and the seal signed too.
    signers = [
        s.signer_cert.dump() for s in PdfFileReader(io.BytesIO(pdf)).embedded_regular_signatures
    ]
    assert len(signers) == 3
    assert session_cert.public_bytes(Encoding.DER) in signers
    assert own.pki.staff["HT001"].public_bytes(Encoding.DER) not in signers
    report = verify_pdf(pdf, trust)
    assert report.status == "TOTAL-PASSED", [
        (c.name, c.status, c.detail) for c in report.checks if c.status != "TOTAL-PASSED"
    ]
    for student in set(students) - set(changed):
        assert len(own.record(student).transcripts) == before[student]
    assert _files(own) == _recorded(own)
    listed = own.client("pht001").get(f"/api/v1/schools/{own.site.home}/issuance").json()
    assert [j["job"] for j in listed["jobs"]] == [job["job"]]


def test_a_second_job_issues_nothing(own: Own) -> None:
    files = _files(own)
    r = _issue(own, {"school_year": YEAR, "class": "6A1"})
    assert r.status_code == 202, r.text
    final = own.wait(r.json()["job"])[-1]
    assert final["state"] == "done"
    assert final["issued"] == [] and final["issued_count"] == 0
    assert final["up_to_date"] == final["total"] == len(own.roster(HOME_CODE, "6A1"))
    assert _files(own) == files


# -- downloads ------------------------------------------------------------------------------------


def test_downloads_are_the_issued_bytes_and_each_read_is_logged(own: Own) -> None:
    student = own.roster(HOME_CODE, "6A1")[0]
    record = own.record(student)
    assert len(record.transcripts) >= 2
    # The GVCN of 6A1, the principal and the inspector read the record.
    for user in ("gv001", "ht001", "thanhtra"):
        client = own.client(user)
        listed = client.get(f"/api/v1/records/{student}/transcripts")
        assert listed.status_code == 200, (user, listed.text)
        issues = listed.json()["transcripts"]
        assert [t["number"] for t in issues] == [t.number for t in record.transcripts]
        assert [t["current"] for t in issues] == [False] * (len(issues) - 1) + [True]
        for t in record.transcripts:
            r = client.get(f"/api/v1/records/{student}/transcripts/{t.number}.pdf")
            assert r.status_code == 200, (user, r.text)
            assert r.headers["content-type"] == "application/pdf"
            assert r.headers["content-disposition"].startswith("attachment")
            assert f"{record.student_code}-{t.number}.pdf" in r.headers["content-disposition"]
            assert hashlib.sha256(r.content).hexdigest() == t.sha256
            path = own.out / f"{record.student_code}-{t.number}.pdf"
            assert r.content == path.read_bytes()
    reads = own.client("thanhtra").get(
        f"/api/v1/schools/{own.site.home}/reads", params={"record": str(student), "limit": 500}
    )
    assert reads.status_code == 200, reads.text
    downloads = [r for r in reads.json()["reads"] if r["action"] == "transcript.download"]
    by = {r["username"] for r in downloads}
    assert by == {"gv001", "ht001", "thanhtra"}
    assert len(downloads) == 3 * len(record.transcripts)
    assert all(r["object"] == str(student) for r in downloads)


def test_download_refusals(own: Own) -> None:
    student = own.roster(HOME_CODE, "6A1")[0]
    url = f"/api/v1/records/{student}/transcripts"
    assert httpx.get(f"{own.site.base}{url}/1.pdf").status_code == 401
    # The staff officer of the school does not read student records.
    assert own.client("cb001").get(url).status_code == 403
    assert own.client("cb001").get(f"{url}/1.pdf").status_code == 403
    # Another school's staff and inspector: not disclosed.
    for user in ("ht201", "gv201", "thanhtra201"):
        assert own.client(user).get(url).status_code == 404, user
        assert own.client(user).get(f"{url}/1.pdf").status_code == 404, user
    ht = own.client("ht001")
    assert ht.get(f"{url}/99.pdf").status_code == 404
    assert ht.get(f"{url}/0.pdf").status_code == 404
    assert ht.get(f"{url}/one.pdf").status_code == 422
    assert ht.get("/api/v1/records/not-a-uuid/transcripts").status_code == 422
    assert ht.get(f"/api/v1/records/{uuid.uuid4()}/transcripts/1.pdf").status_code == 404
    assert own.client("cb001").get(f"{url}/1.pdf").json()["error"] == "NotAuthorized"


# -- a crash half way ------------------------------------------------------------------------------


def _serve(own: Own) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "api.cli", "--data", str(own.site.data), "serve"]
    proc = subprocess.Popen(
        [*argv, "--port", str(port)],
        cwd=ROOT,
        env=own.site.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base}/api/v1/health", timeout=1)
            return proc, base
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    pytest.fail("the second server did not start")


def test_a_server_killed_mid_job_leaves_nothing_half_issued(own: Own) -> None:
    students = own.roster(HOME_CODE)
    before = {s: len(own.record(s).transcripts) for s in students}
    own.award(students)
    proc, base = _serve(own)
    try:
        token = httpx.post(
            f"{base}/api/v1/auth/login",
            json={"username": "ht001", "password": PASSWORD},
            timeout=30,
        ).json()["token"]
        other = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"})
        r = other.post(
            f"/api/v1/schools/{own.site.home}/issuance", json={"school_year": YEAR, "all": True}
        )
        assert r.status_code == 202, r.text
        job = r.json()["job"]
        # The progress is read through the site's own server: another process.
        ht = own.client("ht001")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            state = ht.get(f"/api/v1/issuance/{job}").json()
            if state["done"] >= 1 or state["state"] in ("done", "failed"):
                break
            time.sleep(0.01)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        other.close()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert state["state"] == "running" and 1 <= state["done"] < state["total"], state
    # The dead process's job no longer blocks the school (once the kernel has ended its
    # workers: a loaded machine takes a moment).
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        dead = ht.get(f"/api/v1/issuance/{job}").json()
        if dead["state"] != "running":
            break
        time.sleep(0.2)
    assert dead["state"] == "failed" and dead["error"] == INTERRUPTED, dead
    r = _issue(own, {"school_year": YEAR, "all": True})
    assert r.status_code == 202, r.text
    final = own.wait(r.json()["job"])[-1]
    assert final["state"] == "done" and final["failed"] == 0, final
    assert dead["issued_count"] + final["issued_count"] >= len(students) - 1
    own.ledger.forget_cached()
    for student in students:
        record = own.record(student)
        # Exactly one new issue each, whichever job made it.
        assert len(record.transcripts) == before[student] + 1, record.student_code
        assert [t.number for t in record.transcripts] == list(range(1, before[student] + 2))
        assert record.transcript_up_to_date
    assert _files(own) == _recorded(own)
    pending = own.out / PENDING
    assert not pending.exists() or not list(pending.iterdir())
    assert audit(own.ledger).ok
