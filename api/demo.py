"""``socai init`` and ``socai demo``: a demo PKI, a school and a seeded THCS school year.

``socai init`` (:func:`initialise`) creates the demo PKI with a certificate for every member of
:data:`DEMO_STAFF`, the log key, the local witness and the school's genesis (its seal registers
the school and the principal's certificate). It opens no school year.

``socai demo`` (:func:`seed`) then plays a whole school year 2025-2026 of "Trường THCS Nguyễn Du
(demo)" through the ledger's commands, each signed by the person who would sign it:

- staff files (by the principal and the staff officer, cán bộ tổ chức): identity (encrypted),
  appointments (deputy, staff officer), chức danh/hạng/mã số, bậc lương, a training, awards, one
  annual evaluation each (NĐ 233/2026), one discipline, one staff transfer (điều động);
- classes of grade 6 with the full :data:`ledger.catalog.THCS_PLAN`, every subject assigned to a
  teacher, a GVCN each (who also teaches Hoạt động trải nghiệm, hướng nghiệp in the class);
- students enrolled with an encrypted identity (name, số định danh consistent with the date of
  birth per DOMAIN.md §7.1, parents), every score and comment assessment both terms (the counts
  of TT 22/2021 Điều 6, 7), conduct, absences, remarks; terms closed;
- a direct correction while term I is open, and after its close a correction proposed by the
  teacher and approved by the principal;
- year results by each GVCN; a student who must re-sit (TT 22/2021 Điều 14) and one who must do
  summer conduct training (Điều 13), both re-assessed and their results after summer recorded;
- a student transferred in from a second demo school, "Trường THCS Lê Quý Đôn (demo)", after
  term I there: the partner school is registered in the same ledger with its own school CA under
  the demo Sở (``DATA/pki/partners/<code>/``, same layout as ``DATA/pki``), its CA added to
  ``DATA/trust/intermediates.pem``. It is created by ``socai demo``, not ``socai init``, so that
  an initialised directory trusts exactly the demo PKI. Its certificates name no CRL or OCSP
  address: ``socai serve`` answers for the data directory's own CAs only.

Transcripts (``DATA/out/*.pdf``, DESIGN.md §5) are not issued yet: that comes with the
transcript renderer.

All personal data is generated from ``random.Random`` seeded with the student or staff code, so
the same ``--students N`` gives the same people, scores and results (ciphertexts, signatures and
timestamps differ from run to run). Names, codes and decisions are demo data; the title codes
(V.07.04.3x) are [U] in DOMAIN.md §4.5.
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from api.logctl import create_log, origin_for
from api.trust import INTERMEDIATES_FILE, append_certificates, trust_dir
from ledger.application import Ledger, Settings, Trust
from ledger.assessment import Level, Promotion, comment_regular_count, regular_score_count
from ledger.catalog import THCS_PLAN
from ledger.domain import (
    COMMENTED,
    DEPUTY,
    PRINCIPAL,
    SCORED,
    STAFF_OFFICER,
    StudentRecord,
    school_id,
    school_year_id,
    staff_id,
    student_id,
)
from ledger.errors import AlreadyExists, InvalidInput
from signing.keys import (
    SoftwareSigner,
    generate_private_key,
    load_private_key,
    resolve_passphrase,
    save_private_key,
)
from signing.pki import (
    DEMO_ROOT_NAME,
    DemoPKI,
    StaffSpec,
    create_demo_pki,
    issue_ca,
    issue_organisation_certificate,
)
from signing.tsa import create_demo_tsa

TEACHER = "Giáo viên"
TEN = Decimal("10.0")
HALF = Decimal("0.5")


@dataclass(frozen=True)
class DemoStaff:
    """A demo staff member: certificate subject, staff file and HR data."""

    code: str
    name: str
    #: Title in the certificate (and the staff file when opened).
    title: str
    female: bool
    born: str
    #: Teacher title rank (hạng I/II/III, DOMAIN.md §4.5), or None for non-teaching staff.
    rank: str | None = "II"


#: The demo school's staff; ``socai init`` issues a certificate to each. HT001 is the principal
#: (Hiệu trưởng), PHT001 the deputy, CB001 the staff officer (cán bộ tổ chức).
DEMO_STAFF: tuple[DemoStaff, ...] = (
    DemoStaff("HT001", "Trần Thị Hương", PRINCIPAL, True, "1972-04-18", "I"),
    DemoStaff("PHT001", "Lý Văn Tâm", DEPUTY, False, "1976-11-02", "I"),
    DemoStaff("CB001", "Đỗ Thị Hạnh", STAFF_OFFICER, True, "1985-06-25", None),
    DemoStaff("GV001", "Nguyễn Văn An", TEACHER, False, "1980-01-12"),
    DemoStaff("GV002", "Lê Thị Bích Ngọc", TEACHER, True, "1983-09-30"),
    DemoStaff("GV003", "Phạm Quốc Bảo", TEACHER, False, "1988-03-08"),
    DemoStaff("GV004", "Võ Thị Thu Hà", TEACHER, True, "1986-12-14"),
    DemoStaff("GV005", "Đặng Minh Khoa", TEACHER, False, "1979-07-21"),
    DemoStaff("GV006", "Huỳnh Thị Mai", TEACHER, True, "1990-02-05", "III"),
    DemoStaff("GV007", "Trương Văn Phúc", TEACHER, False, "1992-10-17", "III"),
    DemoStaff("GV008", "Bùi Thị Lan", TEACHER, True, "1984-05-09"),
    DemoStaff("GV009", "Hoàng Văn Dũng", TEACHER, False, "1987-08-28"),
    DemoStaff("GV010", "Ngô Thị Kim Oanh", TEACHER, True, "1991-04-03", "III"),
    DemoStaff("GV011", "Phan Thanh Hải", TEACHER, False, "1982-11-19"),
    DemoStaff("GV012", "Châu Ngọc Trâm", TEACHER, True, "1994-01-26", "III"),
)
PRINCIPAL_CODE = "HT001"
DEPUTY_CODE = "PHT001"
STAFF_OFFICER_CODE = "CB001"
#: GV011 leaves at the end of the year (điều động); GV010 receives a discipline.
TRANSFERRED_STAFF = "GV011"
DISCIPLINED_STAFF = "GV010"

#: Who teaches each subject: class i gets ``pool[i % len(pool)]``; ``()`` = the class's GVCN.
SUBJECT_TEACHERS: dict[str, tuple[str, ...]] = {
    "Ngữ văn": ("GV002", "GV011"),
    "Toán": ("GV001", "PHT001"),
    "Ngoại ngữ 1": ("GV003", "GV012"),
    "Giáo dục công dân": ("GV006",),
    "Lịch sử và Địa lí": ("GV005",),
    "Khoa học tự nhiên": ("GV004",),
    "Công nghệ": ("GV007",),
    "Tin học": ("GV007",),
    "Giáo dục thể chất": ("GV009",),
    "Nghệ thuật": ("GV008",),
    "Hoạt động trải nghiệm, hướng nghiệp": (),
    "Nội dung giáo dục của địa phương": ("GV010",),
}
#: GVCN of class i, in order; more classes get GVCNs issued by ``socai demo`` (GV1nn).
HOMEROOM_TEACHERS = tuple(
    "GV001 GV002 GV003 GV004 GV005 GV006 GV008 GV009 GV012 GV007 GV010".split()
)

SCHOOL_YEAR = "2025-2026"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
DEFAULT_STUDENTS = 60
MAX_STUDENTS = 10_000
CLASS_SIZE = 35
MIN_CLASSES = 3
GRADE = 6
#: Grade 6 in 2025-2026: born in 2014 (entering grade 1 the year they turn six).
BIRTH_YEAR = 2014

#: The second demo school, the sending school of the transfer.
PARTNER_CODE = "79000702"
PARTNER_NAME = "Trường THCS Lê Quý Đôn (demo)"
PARTNER_CLASS = "6B"
PARTNER_STUDENTS = 3
#: The partner school's staff: its principal, then the GVCN of its class, then two teachers.
PARTNER_STAFF: tuple[DemoStaff, ...] = (
    DemoStaff("HT201", "Nguyễn Thị Thanh Tâm", PRINCIPAL, True, "1974-08-08", "I"),
    DemoStaff("GV201", "Lâm Quang Vinh", TEACHER, False, "1985-02-14"),
    DemoStaff("GV202", "Tạ Thị Diệu Linh", TEACHER, True, "1989-06-01"),
    DemoStaff("GV203", "Dương Minh Trí", TEACHER, False, "1990-10-10", "III"),
)
#: Who teaches what in the partner school's class.
PARTNER_TEACHING = {
    "Toán": "GV201",
    "Ngữ văn": "GV201",
    "Ngoại ngữ 1": "GV201",
    "Giáo dục công dân": "GV201",
    "Hoạt động trải nghiệm, hướng nghiệp": "GV201",
    "Lịch sử và Địa lí": "GV202",
    "Khoa học tự nhiên": "GV202",
    "Công nghệ": "GV202",
    "Tin học": "GV202",
    "Giáo dục thể chất": "GV203",
    "Nghệ thuật": "GV203",
    "Nội dung giáo dục của địa phương": "GV203",
}

#: The re-sit student's weak subjects (ĐTBmcn below 3.5) and the comment subject not passed.
RESIT_SCORED = ("Toán", "Khoa học tự nhiên")
RESIT_COMMENTED = "Giáo dục thể chất"
#: Their summer re-assessment results (TT 22/2021 Điều 14).
RESIT_RESULTS = {"Toán": "5.5", "Khoa học tự nhiên": "6.0", "Giáo dục thể chất": "Đạt"}

#: Title rank -> (chức danh, hạng, mã số [U], salary grade base coefficient, step increment).
RANKS: dict[str, tuple[str, str, str, str, str]] = {
    "I": ("Giáo viên trung học cơ sở hạng I", "Hạng I", "V.07.04.30", "4.40", "0.34"),
    "II": ("Giáo viên trung học cơ sở hạng II", "Hạng II", "V.07.04.31", "4.00", "0.34"),
    "III": ("Giáo viên trung học cơ sở hạng III", "Hạng III", "V.07.04.32", "2.34", "0.33"),
}
OFFICER_TITLE = ("Chuyên viên", "Chuyên viên", "01.003", "2.34", "0.33")

# -- names and identities (demo data) --------------------------------------------------------

FAMILY_NAMES = tuple(
    "Nguyễn Trần Lê Phạm Hoàng Huỳnh Phan Vũ Võ Đặng Bùi Đỗ Hồ Ngô Dương Lý Đinh "
    "Trương Lâm Mai".split()
)
MIDDLE_NAMES = {
    False: tuple("Văn Minh Quốc Gia Đức Hoàng Thanh Nhật Anh Hữu".split()),
    True: tuple("Thị Ngọc Thu Bảo Khánh Phương Minh Thanh Mai Diệu".split()),
}
GIVEN_NAMES = {
    False: tuple(
        "An Bảo Khang Phúc Huy Khoa Minh Nam Quân Tuấn Đạt Duy Hải Hiếu Long Phong Thịnh "
        "Trí Vinh Sơn".split()
    ),
    True: tuple(
        "Anh Chi Hà Hân Linh Lan My Ngân Ngọc Nhi Như Quỳnh Thảo Trâm Trang Uyên Vy Yến "
        "Diệp Hương".split()
    ),
}
#: Birth-registration province -> its 3-digit code in số định danh (pre-2025 codes, which stay
#: historical, DOMAIN.md §7.1), weighted towards the school's own city.
BIRTH_PROVINCES = (
    ("Thành phố Hồ Chí Minh", "079", 12),
    ("Hà Nội", "001", 1),
    ("Đồng Nai", "075", 2),
    ("Bình Dương", "074", 2),
    ("Long An", "080", 1),
    ("Tiền Giang", "082", 1),
    ("Cần Thơ", "092", 1),
    ("Bến Tre", "083", 1),
    ("Đà Nẵng", "048", 1),
    ("Nghệ An", "040", 1),
    ("Thanh Hóa", "038", 1),
    ("Quảng Ngãi", "051", 1),
)
WARDS = tuple(
    f"phường {w}"
    for w in "Sài Gòn|Bến Thành|Tân Định|Bàn Cờ|Xuân Hòa|Chợ Lớn|Gia Định|Bình Thạnh".split("|")
)
STREETS = tuple(
    "Nguyễn Trãi|Lê Lợi|Hai Bà Trưng|Pasteur|Võ Văn Tần|Điện Biên Phủ|Cách Mạng Tháng Tám|"
    "Trần Hưng Đạo".split("|")
)
CONDUCT_WEIGHTS = ((Level.GOOD, 60), (Level.FAIR, 30), (Level.PASS, 10))
SUBJECT_REMARKS = (
    "Tiếp thu bài nhanh, trình bày bài làm rõ ràng.",
    "Có tiến bộ rõ trong học kì II; cần rèn thêm kĩ năng trình bày.",
    "Tích cực phát biểu xây dựng bài; đôi khi còn chủ quan khi làm bài kiểm tra.",
)
HOMEROOM_REMARKS = {
    "good": "Chăm ngoan, học tập tích cực, hòa đồng với bạn bè; là tấm gương tốt của lớp.",
    "fair": "Ngoan, có ý thức học tập; cần mạnh dạn hơn trong các hoạt động tập thể.",
    "pass": "Có cố gắng trong học tập; cần chăm chỉ hơn và làm bài đầy đủ trước khi đến lớp.",
    "resit": "Cần cố gắng nhiều hơn ở môn Toán và Khoa học tự nhiên; đã ôn tập trong hè.",
    "summer": "Cần chấp hành tốt nội quy lớp học; đã có chuyển biến sau đợt rèn luyện hè.",
}


def _rng(*parts: object) -> random.Random:
    """A generator seeded by ``parts``: the same code gives the same person and scores."""
    return random.Random("socai-demo/" + "/".join(str(p) for p in parts))  # noqa: S311 - demo


def _weighted(rng: random.Random, choices: Sequence[tuple[Any, int]]) -> Any:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


def personal_number(rng: random.Random, province_code: str, born: date, female: bool) -> str:
    """A số định danh cá nhân (DOMAIN.md §7.1): province, century+gender, year, 6 random digits."""
    century = 0 if born.year < 2000 else 2 if born.year < 2100 else 4
    return f"{province_code}{century + int(female)}{born.year % 100:02d}{rng.randrange(10**6):06d}"


def _person_name(rng: random.Random, female: bool, family: str | None = None) -> str:
    family = family or rng.choice(FAMILY_NAMES)
    return f"{family} {rng.choice(MIDDLE_NAMES[female])} {rng.choice(GIVEN_NAMES[female])}"


def _address(rng: random.Random) -> str:
    street, ward = rng.choice(STREETS), rng.choice(WARDS)
    return f"Số {rng.randint(1, 250)} đường {street}, {ward}, Thành phố Hồ Chí Minh"


def student_identity(code: str, born_year: int) -> dict[str, str]:
    """The demo identity of student ``code`` (học bạ page 1 fields, DOMAIN.md §3.2)."""
    rng = _rng("student", code)
    female = rng.random() < 0.5
    born = date(born_year, 1, 1) + timedelta(days=rng.randrange(365))
    place, province_code, _ = _weighted(rng, [((p, c, w), w) for p, c, w in BIRTH_PROVINCES])
    family = rng.choice(FAMILY_NAMES)
    mother_family = rng.choice([f for f in FAMILY_NAMES if f != family])
    return {
        "ho_va_ten": _person_name(rng, female, family),
        "gioi_tinh": "Nữ" if female else "Nam",
        "ngay_sinh": born.isoformat(),
        "noi_sinh": place,
        "dan_toc": "Kinh",
        "quoc_tich": "Việt Nam",
        "so_dinh_danh_ca_nhan": personal_number(rng, province_code, born, female),
        "ho_ten_cha": _person_name(rng, False, family),
        "ho_ten_me": _person_name(rng, True, mother_family),
        "cho_o_hien_tai": _address(rng),
    }


def staff_identity(code: str, name: str, female: bool, born_text: str) -> dict[str, str]:
    """The demo identity of a staff member (sơ yếu lý lịch fields, DOMAIN.md §4.2)."""
    rng = _rng("staff", code)
    born = date.fromisoformat(born_text)
    place, province_code, _ = _weighted(rng, [((p, c, w), w) for p, c, w in BIRTH_PROVINCES])
    return {
        "ho_va_ten": name,
        "gioi_tinh": "Nữ" if female else "Nam",
        "ngay_sinh": born.isoformat(),
        "noi_sinh": place,
        "que_quan": place,
        "dan_toc": "Kinh",
        "so_dinh_danh_ca_nhan": personal_number(rng, province_code, born, female),
        "dien_thoai": f"09{rng.randrange(10**8):08d}",
        "cho_o_hien_tai": _address(rng),
    }


# -- socai init ------------------------------------------------------------------------------


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
    specs = [StaffSpec(s.code, s.name, s.title) for s in DEMO_STAFF]
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
        "staff": [
            {"code": s.code, "name": s.name, "title": s.title, "subjects": _taught_by(s.code)}
            for s in DEMO_STAFF
        ],
        **log_config,
    }
    ledger = Ledger(settings, Trust(pki.trust_roots(), pki.intermediates()))
    try:
        seal = pki.seal_signer()
        ledger.register_school(seal, school_code, school_name, province)
        principal = ledger.open_staff_file(seal, PRINCIPAL_CODE, PRINCIPAL)
        ledger.register_certificate(seal, principal, pki.staff[PRINCIPAL_CODE])
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


def _taught_by(code: str) -> list[str]:
    return [s for s, pool in SUBJECT_TEACHERS.items() if code in pool]


# -- socai demo ------------------------------------------------------------------------------


@dataclass
class _Student:
    code: str
    id: UUID
    #: "normal", "resit" (Điều 14), "summer" (Điều 13) or "transfer" (from the partner school)
    role: str
    ability: float
    offsets: dict[str, float]


@dataclass
class _Class:
    name: str
    homeroom: str
    #: subject -> staff code of its teacher
    teachers: dict[str, str]
    students: list[_Student] = field(default_factory=list)


@dataclass
class _School:
    """One school as the seeder drives it: its PKI (the signers) and its classes."""

    code: str
    pki: DemoPKI
    principal_code: str
    classes: list[_Class] = field(default_factory=list)

    def signer(self, staff_code: str) -> SoftwareSigner:
        return self.pki.signer_for(staff_code)

    @property
    def principal(self) -> SoftwareSigner:
        return self.pki.signer_for(self.principal_code)

    def staff(self, staff_code: str) -> UUID:
        return staff_id(self.code, staff_code)


def class_count(students: int) -> int:
    """Classes for ``students``: 35 a class, at least 3, never more classes than students."""
    return max(1, min(students, max(MIN_CLASSES, math.ceil(students / CLASS_SIZE))))


def _extra_homeroom(index: int) -> str:
    """Staff code of the GVCN of class ``index`` beyond :data:`HOMEROOM_TEACHERS`."""
    return f"GV{101 + index - len(HOMEROOM_TEACHERS)}"


def _all_staff(classes: int) -> list[DemoStaff]:
    """The named staff, and a homeroom teacher (GV1nn) for each class beyond them."""
    extra = []
    for i in range(len(HOMEROOM_TEACHERS), classes):
        code = _extra_homeroom(i)
        rng = _rng("extra-staff", code)
        female = rng.random() < 0.6
        born = date(rng.randint(1985, 2000), 1, 1) + timedelta(days=rng.randrange(365))
        name = _person_name(rng, female)
        extra.append(DemoStaff(code, name, TEACHER, female, born.isoformat(), "III"))
    return [*DEMO_STAFF, *extra]


def _new_student(code: str, role: str) -> _Student:
    rng = _rng("ability", code)
    if role == "resit":
        ability = 6.2
    elif role == "summer":
        ability = rng.uniform(6.0, 7.5)
    else:
        ability = rng.triangular(6.2, 9.6, 7.8)
    offsets = {s: rng.uniform(-0.8, 0.8) for s in THCS_PLAN}
    return _Student(code, student_id(code), role, ability, offsets)


def _layout(school_code: str, students: int) -> tuple[list[_Class], _Student | None]:
    """The classes with their students for ``students`` in all, and the one transferred in.

    The re-sit student is the first of 6A1, the summer-training one the first of the last
    class, and the last place of 6A2 is kept for the student who arrives after term I.
    """
    count = class_count(students)
    sizes = [students // count + (1 if i < students % count else 0) for i in range(count)]
    classes: list[_Class] = []
    for i in range(count):
        homeroom = HOMEROOM_TEACHERS[i] if i < len(HOMEROOM_TEACHERS) else _extra_homeroom(i)
        teachers = {
            subject: pool[i % len(pool)] if pool else homeroom
            for subject, pool in SUBJECT_TEACHERS.items()
        }
        classes.append(_Class(f"6A{i + 1}", homeroom, teachers))
    transfer_class = min(1, count - 1)
    summer = (count - 1, 0) if count > 1 else (0, 1)
    number = 0
    transferred = None
    for i, klass in enumerate(classes):
        for j in range(sizes[i]):
            if students >= 2 and i == transfer_class and j == sizes[i] - 1:
                transferred = _new_student(f"HS{PARTNER_CODE}0001", "transfer")
                klass.students.append(transferred)
                continue
            number += 1
            role = "resit" if (i, j) == (0, 0) else "summer" if (i, j) == summer else "normal"
            klass.students.append(_new_student(f"HS{school_code}{number:04d}", role))
    return classes, transferred


def _score(student: _Student, subject: str, term: int, kind: str, k: int) -> str:
    rng = _rng("score", student.code, subject, term, kind, k)
    if student.role == "resit" and subject in RESIT_SCORED:
        value = min(3.4, max(0.5, rng.gauss(2.6, 0.6)))  # ĐTBmcn below 3.5: Chưa đạt
    else:
        mean = student.ability + student.offsets[subject] + (0.15 if term == 2 else 0.0)
        floor = 5.0 if student.role == "resit" else 3.0
        value = min(10.0, max(floor, rng.gauss(mean, 0.8 if kind == "tx" else 0.6)))
    if kind == "tx":
        value = round(value * 2) / 2  # regular assessments: whole or half points
    return f"{value:.1f}"


def _comment(student: _Student, subject: str, term: int, kind: str, k: int) -> bool:
    if student.role == "resit" and subject == RESIT_COMMENTED and term == 2 and kind == "tx":
        return k != 0  # one Chưa đạt in term II: the subject's year is Chưa đạt
    if term == 1 and kind == "tx":
        return _rng("comment", student.code, subject, term, k).random() >= 0.03
    return True


def _conduct(student: _Student, term: int) -> str:
    if student.role == "summer":
        level = Level.PASS if term == 1 else Level.NOT_PASSED  # the year: Chưa đạt
    elif student.role == "resit":
        level = Level.FAIR
    else:
        level = _weighted(_rng("conduct", student.code, term), CONDUCT_WEIGHTS)
    return str(level.value)


def _absences(student: _Student, term: int) -> int:
    rng = _rng("absences", student.code, term)
    roll = rng.random()
    return 0 if roll < 0.5 else rng.randint(1, 3) if roll < 0.9 else rng.randint(4, 8)


def _regular_count(periods: int, assessed: str) -> int:
    """ĐĐGtx (or regular comment assessments) per term (TT 22/2021 Điều 6)."""
    return comment_regular_count() if assessed == COMMENTED else regular_score_count(periods)


def _find_entry(record: StudentRecord, subject: str, term: int, kind: str) -> tuple[int, Decimal]:
    """Version and score of the first ``kind`` score of ``subject`` in ``term``."""
    wanted = (subject, term, kind)
    for version, entry in sorted(record.entries.items()):
        if (entry.subject, entry.term, entry.kind) == wanted and entry.score is not None:
            return version, entry.score
    raise InvalidInput(f"no {kind} score of {subject} in term {term}")


class _Seeder:
    """Drives the demo school year through the ledger's commands and counts what it did."""

    def __init__(self, ledger: Ledger, pki: DemoPKI, settings: Settings) -> None:
        self.ledger = ledger
        self.settings = settings
        config = json.loads((settings.data_dir / "socai.json").read_text("utf-8"))
        self.province: str = config["school"]["province"]
        self.home = _School(config["school"]["code"], pki, PRINCIPAL_CODE)
        self.now = datetime.now(UTC)
        self.examples: dict[str, str] = {}
        self.counts = dict.fromkeys(
            ("scores", "comments", "remarks", "corrections", "resits", "summer_training"), 0
        )
        # The principal's file and certificate come from `socai init`.
        self.counts.update(staff_files=1, certificates=1)

    # -- staff files ----------------------------------------------------------------------------

    def staff(self, everyone: list[DemoStaff]) -> None:
        """Open the staff files, register certificates, appoint; titles and salary steps."""
        home = self.home
        principal = home.principal
        # The principal opens the staff officer's file and appoints them (DESIGN.md §1)...
        officer = next(s for s in everyone if s.code == STAFF_OFFICER_CODE)
        self._open_staff(home, principal, officer)
        self.ledger.appoint(
            principal,
            home.staff(STAFF_OFFICER_CODE),
            STAFF_OFFICER,
            "Quyết định số 12/QĐ-THCSND ngày 15/8/2025",
        )
        # ...who opens the other files; certificates and appointments stay the principal's.
        clerk = home.signer(STAFF_OFFICER_CODE)
        head = next(s for s in everyone if s.code == PRINCIPAL_CODE)
        self.ledger.record_staff_identity(clerk, home.staff(head.code), _identity_of(head))
        for spec in everyone:
            if spec.code in (PRINCIPAL_CODE, STAFF_OFFICER_CODE):
                continue
            if spec.code not in home.pki.staff:  # a GVCN for a class beyond the named ones
                home.pki.issue_staff(StaffSpec(spec.code, spec.name, spec.title), self.now)
            self._open_staff(home, clerk, spec, registrar=principal)
        self.ledger.appoint(
            principal, home.staff(DEPUTY_CODE), DEPUTY, "Quyết định số 98/QĐ-UBND ngày 20/8/2025"
        )
        for spec in everyone:
            self._title_and_salary(clerk, spec)

    def _open_staff(
        self,
        school: _School,
        actor: SoftwareSigner,
        spec: DemoStaff,
        registrar: SoftwareSigner | None = None,
    ) -> None:
        staff = self.ledger.open_staff_file(actor, spec.code, spec.title, _identity_of(spec))
        self.ledger.register_certificate(registrar or actor, staff, school.pki.staff[spec.code])
        if school is self.home:
            self.counts["staff_files"] += 1
            self.counts["certificates"] += 1

    def _title_and_salary(self, clerk: SoftwareSigner, spec: DemoStaff) -> None:
        """Chức danh, hạng, mã số (NĐ 93/2026, codes [U]) and the salary step from 1/9/2025."""
        staff = self.home.staff(spec.code)
        title, rank, code, base, increment = RANKS[spec.rank] if spec.rank else OFFICER_TITLE
        decision = "Quyết định số 45/QĐ-UBND ngày 01/9/2025"
        self.ledger.appoint_title(clerk, staff, title, rank, code, decision)
        years = 2025 - date.fromisoformat(spec.born).year - 23  # in service since about 23
        step = max(1, min(8, 1 + years // 3))
        coefficient = Decimal(base) + Decimal(increment) * (step - 1)
        self.ledger.raise_salary_step(
            clerk, staff, step, coefficient, "2025-09-01", "Quyết định số 51/QĐ-THCSND"
        )

    def hr_year(self, everyone: list[DemoStaff]) -> None:
        """Trainings, awards, one discipline, the evaluations (NĐ 233/2026), one transfer."""
        ledger, home = self.ledger, self.home
        clerk = home.signer(STAFF_OFFICER_CODE)
        for spec in everyone:
            subjects = _taught_by(spec.code)
            course = (
                f"Bồi dưỡng thường xuyên: dạy học môn {subjects[0]} theo CTGDPT 2018"
                if subjects
                else "Bồi dưỡng thường xuyên năm học 2025-2026"
            )
            ledger.record_training(
                clerk,
                home.staff(spec.code),
                course,
                f"Sở GD&ĐT {self.province}",
                "Giấy chứng nhận hoàn thành bồi dưỡng",
                "2026-01-20",
            )
        ledger.impose_discipline(
            clerk,
            home.staff(DISCIPLINED_STAFF),
            "Khiển trách",
            "Quyết định số 77/QĐ-THCSND ngày 10/3/2026",
            SCHOOL_YEAR,
        )
        for i, spec in enumerate(everyone):
            if i % 4 == 0:
                award = (
                    "Chiến sĩ thi đua cơ sở"
                    if spec.code == PRINCIPAL_CODE
                    else "Giáo viên dạy giỏi cấp trường"
                )
                decision = "Quyết định số 88/QĐ-THCSND ngày 25/5/2026"
                ledger.grant_staff_award(clerk, home.staff(spec.code), award, decision, SCHOOL_YEAR)
            rng = _rng("evaluation", spec.code)
            general = rng.randint(24, 30)
            performance = rng.randint(62, 70) if i % 5 == 0 else rng.randint(50, 68)
            ledger.record_evaluation(
                clerk, home.staff(spec.code), SCHOOL_YEAR, general, performance
            )
        ledger.transfer_staff(
            home.principal,
            home.staff(TRANSFERRED_STAFF),
            PARTNER_CODE,
            "Quyết định điều động số 118/QĐ-SGDĐT ngày 15/7/2026",
        )

    # -- the school year ----------------------------------------------------------------------

    def open_year(self, school: _School) -> None:
        """Open the year, its classes with the THCS plan, assignments and GVCNs."""
        ledger, principal = self.ledger, school.principal
        ledger.open_school_year(principal, SCHOOL_YEAR, "THCS")
        for klass in school.classes:
            ledger.open_class(principal, SCHOOL_YEAR, klass.name, GRADE)
            ledger.plan_subjects(principal, SCHOOL_YEAR, klass.name, THCS_PLAN)
        by_teacher: dict[str, list[tuple[str, str]]] = {}
        for klass in school.classes:
            for subject, teacher in klass.teachers.items():
                by_teacher.setdefault(teacher, []).append((klass.name, subject))
        for teacher, pairs in by_teacher.items():
            ledger.assign_teachings(principal, school.staff(teacher), SCHOOL_YEAR, pairs)
        for klass in school.classes:
            ledger.assign_homeroom(principal, school.staff(klass.homeroom), SCHOOL_YEAR, klass.name)

    def enrol(self, school: _School, klass: _Class, students: list[_Student]) -> None:
        for student in students:
            self.ledger.enrol_student(
                school.principal,
                student.code,
                SCHOOL_YEAR,
                GRADE,
                klass.name,
                identity=student_identity(student.code, BIRTH_YEAR),
            )

    def record_term(
        self, school: _School, klass: _Class, students: list[_Student], term: int
    ) -> None:
        """A term: assessments (one save per teacher, subject and kind), conduct, absences."""
        ledger = self.ledger
        if not students:
            return
        for kind in ("tx", "gk", "ck"):
            for subject, (periods, assessed) in THCS_PLAN.items():
                teacher = school.signer(klass.teachers[subject])
                count = _regular_count(periods, assessed) if kind == "tx" else 1
                if assessed == SCORED:
                    scores: list[tuple[UUID, str, int, str, object]] = [
                        (s.id, subject, term, kind, _score(s, subject, term, kind, k))
                        for k in range(count)
                        for s in students
                    ]
                    self.counts["scores"] += ledger.record_scores(teacher, scores)
                else:
                    comments: list[tuple[UUID, str, int, str, object]] = [
                        (s.id, subject, term, kind, _comment(s, subject, term, kind, k))
                        for k in range(count)
                        for s in students
                    ]
                    self.counts["comments"] += ledger.assess_comments(teacher, comments)
        gvcn = school.signer(klass.homeroom)
        for s in students:
            ledger.assess_conduct(gvcn, s.id, term, _conduct(s, term))
            ledger.record_absences(gvcn, s.id, term, _absences(s, term))

    def close_term(self, school: _School, term: int) -> None:
        for klass in school.classes:
            self.ledger.close_term(school.principal, SCHOOL_YEAR, klass.name, term)

    def _corrected_student(self) -> _Student:
        klass = self.home.classes[0]
        return next((s for s in klass.students if s.role == "normal"), klass.students[0])

    def direct_correction(self) -> None:
        """The teacher corrects their own entry while the term is open: no countersignature."""
        klass, student = self.home.classes[0], self._corrected_student()
        record = self.ledger.load(student.id, StudentRecord)
        version, score = _find_entry(record, "Ngữ văn", 1, "tx")
        self.ledger.correct_score(
            self.home.signer(klass.teachers["Ngữ văn"]),
            student.id,
            version,
            score + 1 if score < 9 else score - 1,
            "Nhập nhầm điểm khi chép từ bài kiểm tra thường xuyên",
        )
        self.counts["corrections"] += 1
        self.examples["corrected"] = student.code

    def approved_correction(self) -> None:
        """After the close the teacher proposes, the principal countersigns (DOMAIN.md §3.4)."""
        klass, student = self.home.classes[0], self._corrected_student()
        record = self.ledger.load(student.id, StudentRecord)
        version, score = _find_entry(record, "Toán", 1, "ck")
        proposal = self.ledger.propose_correction(
            self.home.signer(klass.teachers["Toán"]),
            student.id,
            version,
            score + HALF if score < TEN else score - HALF,
            "Phúc khảo bài kiểm tra cuối kì I: cộng sót 0,5 điểm câu 4",
        )
        self.ledger.approve_correction(self.home.principal, student.id, proposal)
        self.counts["corrections"] += 1

    def remarks(self, klass: _Class) -> None:
        """A few subject teachers' remarks, and the GVCN's year remark for everyone."""
        home = self.home
        for i, student in enumerate(klass.students[:2]):
            for subject in ("Toán", "Ngữ văn"):
                text = SUBJECT_REMARKS[(i + len(subject)) % len(SUBJECT_REMARKS)]
                teacher = home.signer(klass.teachers[subject])
                self.ledger.record_remark(teacher, student.id, subject, text)
                self.counts["remarks"] += 1
        gvcn = home.signer(klass.homeroom)
        for student in klass.students:
            if student.role in HOMEROOM_REMARKS:
                text = HOMEROOM_REMARKS[student.role]
            else:
                ability = student.ability
                text = HOMEROOM_REMARKS[
                    "good" if ability >= 8 else "fair" if ability >= 7 else "pass"
                ]
            self.ledger.record_remark(gvcn, student.id, "", text)
            self.counts["remarks"] += 1

    def year_results(self, klass: _Class) -> None:
        """The GVCN records each student's year result (TT 22/2021 Điều 8, 9, 12)."""
        gvcn = self.home.signer(klass.homeroom)
        for student in klass.students:
            self.ledger.record_year_result(gvcn, student.id)

    def summer(self, klass: _Class) -> None:
        """The summer steps where they are due, then the result after them (Điều 13, 14)."""
        ledger, home = self.ledger, self.home
        gvcn = home.signer(klass.homeroom)
        for student in klass.students:
            result = ledger.load(student.id, StudentRecord).results[SCHOOL_YEAR]
            if result["promotion"] == Promotion.SUMMER_TRAINING_REQUIRED.value:
                # Điều 13: tasks set by the GVCN over the summer, then re-evaluated.
                ledger.reassess_conduct(gvcn, student.id, Level.PASS.value)
                self.counts["summer_training"] += 1
                self.examples.setdefault("summer_training", student.code)
            elif result["promotion"] != Promotion.REASSESSMENT_REQUIRED.value:
                continue
            if result["learning"] == Level.NOT_PASSED.value:
                # Điều 14: each subject below 5.0 or Chưa đạt is re-assessed by its teacher.
                for subject, row in result["subjects"].items():
                    if row["assessed"] == COMMENTED:
                        due, default = row["year"] == Level.NOT_PASSED.value, Level.PASS.value
                    else:
                        due, default = Decimal(row["year"]) < 5, "5.5"
                    if due:
                        teacher = home.signer(klass.teachers[subject])
                        value = RESIT_RESULTS.get(subject, default)
                        ledger.reassess_subject(teacher, student.id, subject, value)
                self.counts["resits"] += 1
                self.examples.setdefault("resit", student.code)
            ledger.record_summer_result(gvcn, student.id)

    def student_award(self) -> None:
        """A commendation beyond the Điều 15 titles, decided by the principal."""
        student = self.home.classes[-1].students[-1]
        self.ledger.grant_student_award(
            self.home.principal,
            student.id,
            "Giải Nhì Hội khỏe Phù Đổng cấp phường, môn cờ vua",
            "Quyết định số 90/QĐ-THCSND ngày 28/5/2026",
        )

    # -- the partner school and the transfer ------------------------------------------------------

    def partner_school(self) -> _School:
        """The sending school: its PKI (a school CA under the demo Sở), genesis and staff."""
        home_pki = self.home.pki
        directory = home_pki.directory / "partners" / PARTNER_CODE
        if (directory / "seal" / "cert.pem").is_file():
            pki = DemoPKI.load(directory, home_pki.passphrase)
        else:
            pki = _create_partner_pki(home_pki, directory, self.now)
        # Its CA is an intermediate of this data directory's trust (docs/trust.md).
        intermediates = trust_dir(self.settings.data_dir) / INTERMEDIATES_FILE
        known = intermediates.read_bytes() if intermediates.is_file() else b""
        if pki.school.public_bytes(Encoding.PEM) not in known:
            append_certificates(intermediates, [pki.school])
        trust = self.ledger.trust
        if trust is not None and pki.school not in trust.intermediates:
            self.ledger.trust = Trust(trust.roots, [*trust.intermediates, pki.school], trust.policy)

        head, gvcn = PARTNER_STAFF[0], PARTNER_STAFF[1]
        school = _School(PARTNER_CODE, pki, head.code)
        seal = pki.seal_signer()
        self.ledger.register_school(seal, PARTNER_CODE, PARTNER_NAME, self.province)
        self._open_staff(school, seal, head)
        for spec in PARTNER_STAFF[1:]:
            self._open_staff(school, school.principal, spec)
        school.classes = [_Class(PARTNER_CLASS, gvcn.code, dict(PARTNER_TEACHING))]
        return school

    def transfer(self, partner: _School, student: _Student, target: _Class) -> None:
        """The partner school releases the record; this school receives it into ``target``."""
        self.ledger.transfer_out(
            partner.principal,
            student.id,
            self.home.code,
            "Gia đình chuyển nơi cư trú; chuyển trường sau học kì I",
        )
        self.ledger.transfer_in(self.home.principal, student.id, SCHOOL_YEAR, GRADE, target.name)
        self.examples["transferred"] = student.code


def _identity_of(spec: DemoStaff) -> dict[str, str]:
    return staff_identity(spec.code, spec.name, spec.female, spec.born)


def _create_partner_pki(home: DemoPKI, directory: Path, now: datetime) -> DemoPKI:
    """A second school's CA under the demo Sở, its seal and staff, laid out like ``DATA/pki``."""
    passphrase = home.passphrase
    start = now - timedelta(days=1)
    ca_key = generate_private_key("ec-p256")
    ca = issue_ca(
        x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, home.province),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, PARTNER_NAME),
                x509.NameAttribute(NameOID.COMMON_NAME, f"{PARTNER_NAME} CA (demo)"),
            ]
        ),
        ca_key.public_key(),
        home.so,
        load_private_key(home.ca_key_path("so"), passphrase),
        not_before=start,
        not_after=start + timedelta(days=10 * 365),
        path_length=0,
        crl_url=home.crl_url("so"),
        ocsp_url=home.ocsp_url("so"),
    )
    seal_key = generate_private_key("ec-p256")
    seal = issue_organisation_certificate(
        seal_key.public_key(),
        school_name=PARTNER_NAME,
        school_code=PARTNER_CODE,
        province=home.province,
        issuer_cert=ca,
        issuer_key=ca_key,
        not_before=start,
        not_after=start + timedelta(days=3 * 365),
    )
    for sub in ("ca", "seal", "staff"):
        (directory / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
    for name, cert in (("root", home.root), ("so", home.so), ("school", ca)):
        _write_pem(directory / "ca" / f"{name}.pem", cert)
    save_private_key(directory / "ca" / "school.key.pem", ca_key, passphrase)
    save_private_key(directory / "seal" / "key.pem", seal_key, passphrase)
    _write_pem(directory / "seal" / "cert.pem", seal)
    # The Sở CA's database lists what it issued, so its CRL and OCSP answer for this CA too.
    with home.authority("so") as so_ca:
        so_ca.record_issued(ca)
    pki = DemoPKI.load(directory, passphrase)
    for spec in PARTNER_STAFF:
        pki.issue_staff(StaffSpec(spec.code, spec.name, spec.title), now)
    return pki


def _write_pem(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(Encoding.PEM))
    path.chmod(0o644)


def seed(ledger: Ledger, pki: DemoPKI, settings: Settings, *, students: int) -> dict[str, Any]:
    """Seed the demo school year (see the module docstring) and return what it did.

    ``students`` counts the demo school's students at the end of the year, the one
    transferred in included. The counts of scores, comments and remarks are of the whole run
    (the partner school's term I included). Refuses (:class:`AlreadyExists`) when the year is
    already seeded.
    """
    if isinstance(students, bool) or not isinstance(students, int):
        raise InvalidInput("--students must be a whole number")
    if not 1 <= students <= MAX_STUDENTS:
        raise InvalidInput(f"--students must be between 1 and {MAX_STUDENTS}")
    # Loads return the cached objects themselves: any failure ends the run (see Ledger.cached).
    with ledger.cached(2 * students + 200, copy=False):
        return _seed(ledger, pki, settings, students)


def _seed(ledger: Ledger, pki: DemoPKI, settings: Settings, students: int) -> dict[str, Any]:
    started = time.perf_counter()
    seeder = _Seeder(ledger, pki, settings)
    home = seeder.home
    if ledger.exists(school_year_id(school_id(home.code), SCHOOL_YEAR)) or ledger.exists(
        home.staff(STAFF_OFFICER_CODE)
    ):
        raise AlreadyExists(
            f"the demo school year {SCHOOL_YEAR} is already seeded in {settings.data_dir}"
        )
    home.classes, transferred = _layout(home.code, students)
    everyone = _all_staff(len(home.classes))

    # Before the year: staff files, the year's plan and assignments, enrolments.
    seeder.staff(everyone)
    seeder.open_year(home)
    for klass in home.classes:
        seeder.enrol(home, klass, [s for s in klass.students if s is not transferred])
    partner = None
    if transferred is not None:
        partner = seeder.partner_school()
        others = [
            _new_student(f"HS{PARTNER_CODE}{n:04d}", "normal")
            for n in range(2, PARTNER_STUDENTS + 1)
        ]
        partner.classes[0].students = [transferred, *others]
        seeder.open_year(partner)
        seeder.enrol(partner, partner.classes[0], partner.classes[0].students)

    # Term I: every assessment, a correction while it is open, the close, a late correction.
    for klass in home.classes:
        seeder.record_term(home, klass, [s for s in klass.students if s is not transferred], 1)
    seeder.direct_correction()
    seeder.close_term(home, 1)
    seeder.approved_correction()
    if partner is not None and transferred is not None:
        # The partner school's term I, then the transfer at the start of term II.
        seeder.record_term(partner, partner.classes[0], partner.classes[0].students, 1)
        seeder.close_term(partner, 1)
        target = next(k for k in home.classes if transferred in k.students)
        seeder.transfer(partner, transferred, target)

    # Term II, remarks, the close, the year results; the staff's year; the summer.
    for klass in home.classes:
        seeder.record_term(home, klass, klass.students, 2)
        seeder.remarks(klass)
    seeder.close_term(home, 2)
    for klass in home.classes:
        seeder.year_results(klass)
    seeder.student_award()
    seeder.hr_year(everyone)
    # The summer (Điều 13, 14): the school year's last events, on the students concerned.
    for klass in home.classes:
        seeder.summer(klass)

    counts = seeder.counts
    return {
        "school": {"code": home.code, "name": pki.school_name},
        "school_year": SCHOOL_YEAR,
        "classes": len(home.classes),
        "class_names": [k.name for k in home.classes],
        "students": sum(len(k.students) for k in home.classes),
        "staff": counts["staff_files"],
        "certificates": counts["certificates"],
        "events": ledger.recorder.max_notification_id() or 0,
        "scores": counts["scores"],
        "comments": counts["comments"],
        "remarks": counts["remarks"],
        "corrections": counts["corrections"],
        "resits": counts["resits"],
        "summer_training": counts["summer_training"],
        "transfers": {"students_in": int(transferred is not None), "staff_out": 1},
        "partner_school": None
        if partner is None
        else {"code": PARTNER_CODE, "name": PARTNER_NAME, "students": PARTNER_STUDENTS},
        "examples": seeder.examples,
        "example_student": seeder.examples.get("transferred", home.classes[0].students[0].code),
        "seconds": time.perf_counter() - started,
    }
