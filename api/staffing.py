"""Staff files (hồ sơ cán bộ, giáo viên) as the API and the pages serve them: service functions.

Like :mod:`api.records`: every function takes the :class:`~api.services.Services`, the
:class:`~api.access.Caller` and plain arguments and returns a JSON-ready dict; routes
(:mod:`api.routes.staff`) and pages call the same functions.

Who reads what (DESIGN.md §1): a staff file is read by its owner, the school's principal and
deputy, its staff officer (cán bộ tổ chức) and the school's inspectors; a colleague gets
403, another school 404. The identity (sơ yếu lý lịch: name, số định danh, address...) is
opened from the vault only for the owner, the principal and the staff officer; every read
is logged. Writes follow :mod:`ledger.authority`: certificates, appointments and
assignments by the principal; opening a file and the HR history (title, salary step,
training, award, discipline, evaluation, identity) by the principal or the staff officer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

from api.readmodels import caught_up, query, view_errors
from api.records import jsonable, visible_school
from api.writes import Command, Target, execute
from ledger.errors import RecordNotFound

if TYPE_CHECKING:
    from api.access import Caller
    from api.services import Services
    from signing.keys import Signer

__all__ = [
    "appoint",
    "appoint_title",
    "assign_homeroom",
    "assign_teaching",
    "end_appointment",
    "grant_award",
    "impose_discipline",
    "open_staff_file",
    "raise_salary_step",
    "record_evaluation",
    "record_identity",
    "record_training",
    "staff_file",
    "staff_list",
    "transfer",
    "unassign_homeroom",
    "unassign_teaching",
]


# -- reads ----------------------------------------------------------------------------------------


def staff_list(
    services: Services, who: Caller, school: UUID, school_year: str | None = None
) -> dict[str, Any]:
    """The school's staff files (no identity), with the year's assignments and homerooms when
    ``school_year`` is given. Principal, deputy, staff officer and inspectors."""
    visible_school(who, school)
    who.require(who.reads_staff_files(school), "read the school's staff files")
    views = caught_up(services, lambda v: (v.staff,))
    with view_errors():
        rows = views.staff.staff_of_school(school)
        teaching = views.staff.assignments(school, school_year) if school_year else []
        homerooms = views.staff.homerooms(school, school_year) if school_year else []
    by_staff: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = dict(row)
        if school_year:
            entry["assignments"] = []
            entry["homeroom"] = None
        by_staff[row["staff"]] = entry
    for a in teaching:
        if a["staff"] in by_staff:
            by_staff[a["staff"]]["assignments"].append(
                {"class": a["class_name"], "subject": a["subject"]}
            )
    for h in homerooms:
        if h["staff"] in by_staff:
            by_staff[h["staff"]]["homeroom"] = h["class_name"]
    services.accounts().log_reads(who.account, "staff_list", list(by_staff))
    return {"school": str(school), "school_year": school_year, "staff": list(by_staff.values())}


def staff_file(services: Services, who: Caller, staff: UUID) -> dict[str, Any]:
    """A staff file: title, rank, salary, positions, assignments, homerooms, the HR history,
    and the identity for the owner, the principal and the staff officer."""
    views = caught_up(services, lambda v: (v.staff,))
    with view_errors():
        found = views.staff.staff_file(staff)
    if found is None:
        raise RecordNotFound("no staff file with this id")
    school = UUID(found["school"])
    own = staff == who.staff
    if not own and not who.in_school(school):
        raise RecordNotFound("no staff file with this id")
    who.require(own or who.reads_staff_files(school), "read this staff file")
    opens = own or (school == who.school and (who.principal or who.staff_officer))
    identity = None
    if opens and not found["shredded"]:
        rows = query(
            views, views.staff, "SELECT identity FROM staff WHERE staff = ?", (str(staff),)
        )
        ciphertext = rows[0]["identity"] if rows else None
        if isinstance(ciphertext, str):
            identity = services.ledger().vault.open(staff, ciphertext)
    found["identity"] = identity
    found["identity_shown"] = opens
    services.accounts().log_reads(who.account, "staff_file", [staff])
    return dict(jsonable(found))


# -- writes: commands -----------------------------------------------------------------------------


def _staff_command(
    name: str,
    staff: UUID,
    call: Callable[[Signer], object],
    answer: Mapping[str, Any],
    *,
    rights: bool = False,
) -> Command:
    """A command on one staff file: ``call(signer)`` runs the ledger; ``answer`` is echoed."""

    def run(signer: Signer) -> dict[str, Any]:
        result = call(signer)
        out = {"staff": str(staff), **answer}
        if result is not None:
            out["result"] = jsonable(result)
        return out

    return Command(name, Target.staff(staff), run, rights=(staff,) if rights else ())


def open_file_command(
    services: Services,
    school: UUID,
    staff_code: str,
    title: str,
    identity: Mapping[str, str] | None = None,
) -> Command:
    def run(signer: Signer) -> dict[str, Any]:
        sid = services.ledger().open_staff_file(signer, staff_code, title, identity)
        return {"staff": str(sid), "staff_code": staff_code}

    return Command("open_staff_file", Target.school(school), run)


def assign_command(
    services: Services, staff: UUID, school_year: str, assignments: Sequence[tuple[str, str]]
) -> Command:
    pairs = list(assignments)
    return _staff_command(
        "assign_teaching",
        staff,
        lambda s: services.ledger().assign_teachings(s, staff, school_year, pairs),
        {
            "school_year": school_year,
            "assigned": [{"class": c, "subject": subj} for c, subj in pairs],
        },
        rights=True,
    )


def unassign_command(
    services: Services, staff: UUID, school_year: str, class_name: str, subject: str
) -> Command:
    return _staff_command(
        "unassign_teaching",
        staff,
        lambda s: services.ledger().unassign_teaching(s, staff, school_year, class_name, subject),
        {"school_year": school_year, "unassigned": {"class": class_name, "subject": subject}},
        rights=True,
    )


def homeroom_command(services: Services, staff: UUID, school_year: str, class_name: str) -> Command:
    return _staff_command(
        "assign_homeroom",
        staff,
        lambda s: services.ledger().assign_homeroom(s, staff, school_year, class_name),
        {"school_year": school_year, "homeroom": class_name},
        rights=True,
    )


def unhomeroom_command(
    services: Services, staff: UUID, school_year: str, class_name: str
) -> Command:
    return _staff_command(
        "unassign_homeroom",
        staff,
        lambda s: services.ledger().unassign_homeroom(s, staff, school_year, class_name),
        {"school_year": school_year, "homeroom": None},
        rights=True,
    )


def appoint_command(services: Services, staff: UUID, position: str, decision: str) -> Command:
    return _staff_command(
        "appoint",
        staff,
        lambda s: services.ledger().appoint(s, staff, position, decision),
        {"appointed": position},
        rights=True,
    )


def end_appointment_command(
    services: Services, staff: UUID, position: str, decision: str
) -> Command:
    return _staff_command(
        "end_appointment",
        staff,
        lambda s: services.ledger().end_appointment(s, staff, position, decision),
        {"ended": position},
        rights=True,
    )


def identity_command(services: Services, staff: UUID, identity: Mapping[str, str]) -> Command:
    return _staff_command(
        "record_staff_identity",
        staff,
        lambda s: services.ledger().record_staff_identity(s, staff, identity),
        {"status": "recorded"},
    )


def title_command(
    services: Services, staff: UUID, title: str, rank: str, code: str, decision: str
) -> Command:
    return _staff_command(
        "appoint_title",
        staff,
        lambda s: services.ledger().appoint_title(s, staff, title, rank, code, decision),
        {"title": title, "rank": rank, "code": code},
    )


def salary_command(
    services: Services, staff: UUID, step: int, coefficient: str, effective: str, decision: str
) -> Command:
    return _staff_command(
        "raise_salary_step",
        staff,
        lambda s: services.ledger().raise_salary_step(
            s, staff, step, coefficient, effective, decision
        ),
        {"step": step, "coefficient": coefficient, "effective": effective},
    )


def training_command(
    services: Services,
    staff: UUID,
    course: str,
    institution: str,
    qualification: str,
    completed_on: str,
) -> Command:
    return _staff_command(
        "record_training",
        staff,
        lambda s: services.ledger().record_training(
            s, staff, course, institution, qualification, completed_on
        ),
        {"course": course},
    )


def award_command(
    services: Services, staff: UUID, award: str, decision: str, school_year: str
) -> Command:
    return _staff_command(
        "grant_staff_award",
        staff,
        lambda s: services.ledger().grant_staff_award(s, staff, award, decision, school_year),
        {"award": award, "school_year": school_year},
    )


def discipline_command(
    services: Services, staff: UUID, form: str, decision: str, school_year: str
) -> Command:
    return _staff_command(
        "impose_discipline",
        staff,
        lambda s: services.ledger().impose_discipline(s, staff, form, decision, school_year),
        {"form": form, "school_year": school_year},
    )


def evaluation_command(
    services: Services, staff: UUID, school_year: str, general: str, performance: str
) -> Command:
    def call(s: Signer) -> dict[str, str]:
        level = services.ledger().record_evaluation(s, staff, school_year, general, performance)
        return {"level": level}

    return _staff_command("record_evaluation", staff, call, {"school_year": school_year})


def transfer_command(
    services: Services, staff: UUID, to_school_code: str, decision: str
) -> Command:
    return _staff_command(
        "transfer_staff",
        staff,
        lambda s: services.ledger().transfer_staff(s, staff, to_school_code, decision),
        {"transferred_to": to_school_code},
        rights=True,
    )


# -- writes: with the caller's key ----------------------------------------------------------------


def open_staff_file(
    services: Services,
    who: Caller,
    school: UUID,
    staff_code: str,
    title: str,
    identity: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Open a staff file in the school (principal or staff officer); ``identity`` encrypted."""
    return execute(services, who, open_file_command(services, school, staff_code, title, identity))


def assign_teaching(
    services: Services,
    who: Caller,
    staff: UUID,
    school_year: str,
    assignments: Sequence[tuple[str, str]],
) -> dict[str, Any]:
    """The principal assigns a teacher to (class, subject) pairs of a school year."""
    return execute(services, who, assign_command(services, staff, school_year, assignments))


def unassign_teaching(
    services: Services, who: Caller, staff: UUID, school_year: str, class_name: str, subject: str
) -> dict[str, Any]:
    """The principal ends a teaching assignment."""
    command = unassign_command(services, staff, school_year, class_name, subject)
    return execute(services, who, command)


def assign_homeroom(
    services: Services, who: Caller, staff: UUID, school_year: str, class_name: str
) -> dict[str, Any]:
    """The principal makes a teacher the GVCN of a class for a school year."""
    return execute(services, who, homeroom_command(services, staff, school_year, class_name))


def unassign_homeroom(
    services: Services, who: Caller, staff: UUID, school_year: str, class_name: str
) -> dict[str, Any]:
    """The principal ends a GVCN assignment."""
    return execute(services, who, unhomeroom_command(services, staff, school_year, class_name))


def appoint(
    services: Services, who: Caller, staff: UUID, position: str, decision: str
) -> dict[str, Any]:
    """The principal appoints to a position (Hiệu trưởng, Phó hiệu trưởng, Cán bộ tổ chức)."""
    return execute(services, who, appoint_command(services, staff, position, decision))


def end_appointment(
    services: Services, who: Caller, staff: UUID, position: str, decision: str
) -> dict[str, Any]:
    """The principal ends an appointment."""
    return execute(services, who, end_appointment_command(services, staff, position, decision))


def record_identity(
    services: Services, who: Caller, staff: UUID, identity: Mapping[str, str]
) -> dict[str, Any]:
    """Record the staff member's identity (encrypted for them)."""
    return execute(services, who, identity_command(services, staff, identity))


def appoint_title(
    services: Services, who: Caller, staff: UUID, title: str, rank: str, code: str, decision: str
) -> dict[str, Any]:
    """Chức danh nghề nghiệp, hạng and mã số."""
    return execute(services, who, title_command(services, staff, title, rank, code, decision))


def raise_salary_step(
    services: Services,
    who: Caller,
    staff: UUID,
    step: int,
    coefficient: str,
    effective: str,
    decision: str,
) -> dict[str, Any]:
    """Bậc lương, hệ số and the date it takes effect."""
    command = salary_command(services, staff, step, coefficient, effective, decision)
    return execute(services, who, command)


def record_training(
    services: Services,
    who: Caller,
    staff: UUID,
    course: str,
    institution: str,
    qualification: str,
    completed_on: str,
) -> dict[str, Any]:
    """A completed training (bồi dưỡng)."""
    command = training_command(services, staff, course, institution, qualification, completed_on)
    return execute(services, who, command)


def grant_award(
    services: Services, who: Caller, staff: UUID, award: str, decision: str, school_year: str
) -> dict[str, Any]:
    """An award (khen thưởng) of a school year."""
    return execute(services, who, award_command(services, staff, award, decision, school_year))


def impose_discipline(
    services: Services, who: Caller, staff: UUID, form: str, decision: str, school_year: str
) -> dict[str, Any]:
    """A discipline (kỷ luật) of a school year."""
    command = discipline_command(services, staff, form, decision, school_year)
    return execute(services, who, command)


def record_evaluation(
    services: Services, who: Caller, staff: UUID, school_year: str, general: str, performance: str
) -> dict[str, Any]:
    """The annual evaluation (đánh giá, xếp loại); answers the level recorded."""
    command = evaluation_command(services, staff, school_year, general, performance)
    return execute(services, who, command)


def transfer(
    services: Services, who: Caller, staff: UUID, to_school_code: str, decision: str
) -> dict[str, Any]:
    """Điều động / thuyên chuyển: the person leaves; their posts and assignments end."""
    return execute(services, who, transfer_command(services, staff, to_school_code, decision))
