"""``socai init`` and ``socai demo``: a demo PKI, a school and a seeded school year."""

from __future__ import annotations

import json
import os
import random
import time
from datetime import UTC, datetime
from typing import Any

from api.logctl import create_log, origin_for
from ledger.application import Ledger, Settings, Trust
from ledger.domain import PRINCIPAL, StudentRecord, staff_id, student_id
from ledger.errors import AlreadyExists
from signing.keys import load_private_key, resolve_passphrase
from signing.pki import DEMO_ROOT_NAME, DemoPKI, StaffSpec, create_demo_pki
from signing.tsa import create_demo_tsa

#: Demo staff: (code, full name, title, subject taught).
DEMO_STAFF = (
    ("HT001", "Trần Thị Hương", PRINCIPAL, None),
    ("GV001", "Nguyễn Văn An", "Giáo viên", "Toán"),
    ("GV002", "Lê Thị Bích Ngọc", "Giáo viên", "Ngữ văn"),
    ("GV003", "Phạm Quốc Bảo", "Giáo viên", "Ngoại ngữ 1"),
)
SCHOOL_YEAR = "2025-2026"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
CLASS_NAME = "6A1"
#: Regular assessments per term by subject (TT 22/2021 Điều 6: >70 periods/year → 4).
REGULAR_COUNT = {"Toán": 4, "Ngữ văn": 4, "Ngoại ngữ 1": 3}


def initialise(
    settings: Settings,
    *,
    school_code: str = "79000701",
    school_name: str = "Trường THCS Nguyễn Du (demo)",
    province: str = "Thành phố Hồ Chí Minh",
    public_url: str | None = None,
) -> dict[str, Any]:
    """Create the data directory, the demo PKI and the school's genesis; never overwrite."""
    data = settings.data_dir
    if data.exists() and any(data.iterdir()):
        raise AlreadyExists(f"{data} already exists and is not empty; refusing to overwrite")
    data.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(data, 0o700)
    passphrase = resolve_passphrase(data, create=True)
    now = datetime.now(UTC)
    specs = [StaffSpec(code, name, title) for code, name, title, _ in DEMO_STAFF]
    # The address of `socai serve`, written into every certificate (CRL distribution
    # points, OCSP) so that outside verifiers can check, and naming the log.
    base_url = public_url or os.environ.get("SOCAI_PUBLIC_URL") or DEFAULT_PUBLIC_URL
    pki = create_demo_pki(
        data / "pki",
        school_name=school_name,
        school_code=school_code,
        province=province,
        staff=specs,
        passphrase=passphrase,
        now=now,
        base_url=base_url,
    )
    create_demo_tsa(
        data / "pki" / "tsa",
        issuer_cert=pki.so,
        issuer_key=load_private_key(pki.ca_key_path("so"), passphrase),
        passphrase=passphrase,
        now=now,
    )
    log_config = create_log(data, origin_for(base_url, school_code), passphrase)
    config = {
        "format": 1,
        "school": {"code": school_code, "name": school_name, "province": province},
        "staff": [{"code": c, "name": n, "title": t, "subject": s} for c, n, t, s in DEMO_STAFF],
        **log_config,
    }
    ledger = Ledger(settings, Trust(pki.trust_roots(), pki.intermediates()))
    try:
        seal = pki.seal_signer()
        ledger.register_school(seal, school_code, school_name, province)
        code, _, title, _ = DEMO_STAFF[0]
        principal = ledger.open_staff_file(seal, code, title)
        ledger.register_certificate(seal, principal, pki.staff[code])
    finally:
        ledger.close()
    (data / "socai.json").write_text(json.dumps(config, ensure_ascii=False, indent=2), "utf-8")
    return {
        "data_dir": str(data),
        "backend": settings.backend,
        "school": config["school"],
        "staff": config["staff"],
        "pki": {"root": DEMO_ROOT_NAME},
    }


def seed(ledger: Ledger, pki: DemoPKI, settings: Settings, *, students: int) -> dict[str, Any]:
    """Seed staff files, enrolments, a term of scores and one correction."""
    if not 1 <= students <= 100_000:
        raise AlreadyExists("--students must be between 1 and 100000")
    config = json.loads((settings.data_dir / "socai.json").read_text("utf-8"))
    school_code = config["school"]["code"]
    started = time.perf_counter()
    principal = pki.signer_for(DEMO_STAFF[0][0])
    staff_files = 1
    certificates = 1
    teachers: dict[str, Any] = {}
    for code, _name, title, subject in DEMO_STAFF[1:]:
        sid = staff_id(school_code, code)
        if not ledger.exists(sid):
            ledger.open_staff_file(principal, code, title)
            ledger.register_certificate(principal, sid, pki.staff[code])
        staff_files += 1
        certificates += 1
        teachers[subject] = pki.signer_for(code)
    codes = [f"HS{school_code}{i:04d}" for i in range(1, students + 1)]
    if ledger.exists(student_id(codes[0])):
        raise AlreadyExists("the demo school year is already seeded in this data directory")
    for code in codes:
        ledger.enrol_student(principal, code, SCHOOL_YEAR, 6, CLASS_NAME)
    scores = 0
    for subject, teacher in teachers.items():
        # One gradebook column per assessment, saved and signed as one batch.
        columns = [("tx", k) for k in range(REGULAR_COUNT[subject])] + [("gk", 0), ("ck", 0)]
        for kind, k in columns:
            entries = []
            for code in codes:
                rng = random.Random(f"{code}/{subject}/{kind}/{k}")  # noqa: S311 - demo data
                value = f"{rng.randint(40, 100) / 10:.1f}"
                entries.append((student_id(code), subject, 1, kind, value))
            scores += ledger.record_scores(teacher, entries)
    first = student_id(codes[0])
    corrected = next(
        v
        for v, (subj, _t, kind, _val, _by) in ledger.load(first, StudentRecord).scores.items()
        if subj == "Toán" and kind == "tx"
    )
    ledger.correct_score(
        teachers["Toán"], first, corrected, "8.5", "Nhập nhầm điểm khi chép từ bài kiểm tra"
    )
    seconds = time.perf_counter() - started
    return {
        "staff_files": staff_files,
        "certificates": certificates,
        "students": students,
        "class_name": CLASS_NAME,
        "scores": scores,
        "corrections": 1,
        "events": ledger.recorder.max_notification_id() or 0,
        "seconds": seconds,
        "example_student": codes[0],
    }
