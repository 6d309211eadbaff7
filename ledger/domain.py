"""The school domain, first slice: schools, staff files and student records.

Events are past-tense facts and a stored contract: their topics
(``ledger.domain:StudentRecord.ScoreRecorded``...) and fields never change
meaning. A schema change bumps ``class_version`` on the event class and adds
``upcast_vN_vN+1`` (eventsourcing's upcasting), and a move keeps the old topic
with ``eventsourcing.utils.register_topic``.

Every event that a person causes carries ``by``: the id of the record (staff
file, or the school for its seal) that owns the signing certificate. The event
store checks that ``by`` is the owner of the certificate that signs the event.

Personal identity data (names, số định danh) is not stored in this slice:
student records are keyed by the opaque mã học sinh (TT 42/2021 Điều 10).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

#: Namespace for deterministic record ids, so a record is found by its codes.
NAMESPACE = uuid5(NAMESPACE_URL, "https://socai.invalid/records")

#: Title that carries the principal's authority (DOMAIN.md §3.3).
PRINCIPAL = "Hiệu trưởng"

#: Regular (thường xuyên), mid-term (giữa kì) and end-term (cuối kì) assessments.
SCORE_KINDS = ("tx", "gk", "ck")


def school_id(school_code: str) -> UUID:
    """The record id of the school with this mã trường."""
    return uuid5(NAMESPACE, f"school/{school_code}")


def staff_id(school_code: str, staff_code: str) -> UUID:
    """The record id of a staff file (mã giáo viên within a school)."""
    return uuid5(NAMESPACE, f"staff/{school_code}/{staff_code}")


def student_id(student_code: str) -> UUID:
    """The record id of a student record (mã học sinh is national, TT 42/2021)."""
    return uuid5(NAMESPACE, f"student/{student_code}")


class School(Aggregate):
    """A school, registered by its own organisation seal certificate (the genesis)."""

    @staticmethod
    def create_id(code: str, **_: Any) -> UUID:
        return school_id(code)

    @event("Registered")
    def __init__(
        self, code: str, name: str, province: str, seal_certificate: str, seal_fingerprint: str
    ) -> None:
        self.code = code
        self.name = name
        self.province = province
        self.seal_fingerprint = seal_fingerprint


class StaffFile(Aggregate):
    """Hồ sơ cán bộ, giáo viên: opened on recruitment; holds the person's certificates."""

    @staticmethod
    def create_id(school: UUID, school_code: str, staff_code: str, **_: Any) -> UUID:
        return staff_id(school_code, staff_code)

    @event("Opened")
    def __init__(
        self, school: UUID, school_code: str, staff_code: str, title: str, by: UUID
    ) -> None:
        self.school = school
        self.school_code = school_code
        self.staff_code = staff_code
        self.title = title
        self.certificates: dict[str, str] = {}
        self.revoked: dict[str, datetime] = {}

    @event("CertificateRegistered")
    def register_certificate(self, certificate: str, fingerprint: str, by: UUID) -> None:
        self.certificates[fingerprint] = certificate

    @event("CertificateRevoked")
    def revoke_certificate(
        self, fingerprint: str, reason: str, revoked_at: datetime, by: UUID
    ) -> None:
        # What the certificate signed before ``revoked_at`` stays valid;
        # nothing it signs from then on is accepted.
        self.revoked[fingerprint] = revoked_at

    @property
    def is_principal(self) -> bool:
        return self.title == PRINCIPAL


class StudentRecord(Aggregate):
    """Học bạ: a student's record. Nothing in it is ever edited, only corrected."""

    @staticmethod
    def create_id(student_code: str, **_: Any) -> UUID:
        return student_id(student_code)

    @event("Enrolled")
    def __init__(
        self,
        student_code: str,
        school: UUID,
        school_year: str,
        grade: int,
        class_name: str,
        by: UUID,
    ) -> None:
        self.student_code = student_code
        self.school = school
        self.school_year = school_year
        self.grade = grade
        self.class_name = class_name
        #: version of each ScoreRecorded -> (subject, term, kind, value, by)
        self.scores: dict[int, tuple[str, int, str, Decimal, UUID]] = {}
        #: version of the corrected entry -> version of the latest correction
        self.corrections: dict[int, int] = {}

    @event("ScoreRecorded")
    def record_score(self, subject: str, term: int, kind: str, value: Decimal, by: UUID) -> None:
        # The event's own version is the next one; eventsourcing increments
        # it after this method runs.
        self.scores[self.version + 1] = (subject, term, kind, value, by)

    @event("ScoreCorrected")
    def correct_score(self, corrects: int, value: Decimal, reason: str, by: UUID) -> None:
        subject, term, kind, _old, owner = self.scores[corrects]
        self.scores[corrects] = (subject, term, kind, value, owner)
        self.corrections[corrects] = self.version + 1
