"""The authorization matrix: every operation of ``/openapi.json`` × every role, on a served site.

Each operation declares who may call it (``x-socai-access``, see :func:`api.access.access`);
an operation without the declaration fails the test. Every operation is then called by each
role account below, with its path and query parameters filled with objects of the **home
school** (:mod:`tests.integration.openapi_cases`), and the answer is read against the
declaration:

* no session → 401, unless the operation is ``public``;
* the partner school's accounts → 404 for a call naming a home-school object (its existence
  is not disclosed), 403 or 404 otherwise, unless ``public`` or ``account`` (for calls that
  name no home-school object);
* a home account whose role is declared → anything but 401, 403 and 404 (a 400 or 422 for
  a minimal body is fine);
* a home account whose role is not declared → 403 or 404;
* a 5xx fails every cell.

The matrix runs on a site of its own (its writes and log-outs disturb no other test), is
printed with the test output, and ``python -m tests.integration.test_authorization_matrix
--write`` writes it to ``docs/authorization-matrix.md``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration import openapi_cases as oc
from tests.integration.served import own_site
from tests.integration.web import Site


@dataclass(frozen=True)
class Role:
    """A column of the matrix: an account (or none) and the roles it holds at home."""

    label: str
    username: str | None
    #: The ``x-socai-access`` roles this account holds for the home school's objects.
    kinds: frozenset[str]
    home: bool = True
    #: The roles it holds for writes, when fewer than for reads.
    writes: frozenset[str] | None = None

    def holds(self, method: str) -> frozenset[str]:
        if method in ("GET", "HEAD", "OPTIONS") or self.writes is None:
            return self.kinds
        return self.writes


ROLES: tuple[Role, ...] = (
    Role("anonymous", None, frozenset()),
    Role("gv003 (teacher)", "gv003", frozenset({"teacher"})),
    Role("gv002 (GVCN)", "gv002", frozenset({"homeroom"})),
    Role("ht001 (principal)", "ht001", frozenset({"principal"})),
    # A Phó hiệu trưởng reads as the principal does (api.access); writes as the ledger allows.
    Role("pht001 (deputy)", "pht001", frozenset({"principal"}), writes=frozenset()),
    Role("cb001 (staff officer)", "cb001", frozenset({"staff_officer"})),
    Role("thanhtra (inspector)", "thanhtra", frozenset({"inspector"})),
    Role("ht201 (other school)", "ht201", frozenset({"principal"}), home=False),
    Role("thanhtra201 (other school)", "thanhtra201", frozenset({"inspector"}), home=False),
)

OK = "ok"

#: Cells whose answer differs from the plain reading of the declaration, with the reason:
#: ``(METHOD, path template, role label) -> (allowed outcomes, why)``; the label ``"home"``
#: stands for every home-school account, ``"*"`` for every account.
EXCEPTIONS: dict[tuple[str, str, str], tuple[frozenset[str], str]] = {
    ("GET", "/api/v1/staff/{staff}", "gv003 (teacher)"): (
        frozenset({"403"}),
        "a teacher reads their own staff file only; the example file is GV004's",
    ),
    ("POST", "/api/v1/prepare", "home"): (
        frozenset({OK, "403"}),
        "any account may prepare its own signed write; the write's own authority decides "
        "(the example is a score of GV003's subject in 6A9)",
    ),
    ("POST", "/api/v1/submit", "*"): (
        frozenset({"404"}),
        "the example token was never prepared: 404 to every account, whatever its role",
    ),
}


def outcome(status: int) -> str:
    """What a status means for the matrix: ``401``, ``403``, ``404``, ``5xx`` or ``ok``."""
    if status >= 500:
        return "5xx"
    if status in (401, 403, 404):
        return str(status)
    return OK


def expected(op: oc.Operation, role: Role, call: oc.Call) -> frozenset[str]:
    """The outcomes the declaration allows for ``role`` calling ``op`` as ``call``."""
    exception = EXCEPTIONS.get((op.method, op.path, role.label))
    if exception is None and role.username is not None and role.home:
        exception = EXCEPTIONS.get((op.method, op.path, "home"))
    if exception is None and role.username is not None:
        exception = EXCEPTIONS.get((op.method, op.path, "*"))
    if exception is not None:
        return exception[0]
    declared = set(op.access or ())
    if "public" in declared:
        return frozenset({OK})
    if role.username is None:
        return frozenset({"401"})
    if not role.home and call.scoped:
        return frozenset({"404"})
    if "account" in declared:
        return frozenset({OK})
    # Home accounts act on the home school's objects; a partner school's account calling an
    # operation that names no home object acts on its own school.
    if role.holds(op.method) & declared:
        return frozenset({OK})
    return frozenset({"403", "404"})


@dataclass
class Cell:
    status: int
    expected: frozenset[str]

    @property
    def fine(self) -> bool:
        return outcome(self.status) in self.expected


@dataclass
class Matrix:
    operations: list[oc.Operation] = field(default_factory=list)
    cells: dict[tuple[str, str], dict[str, Cell]] = field(default_factory=dict)
    undeclared: list[str] = field(default_factory=list)
    unfilled: list[str] = field(default_factory=list)

    def failures(self) -> list[str]:
        out = []
        for op in self.operations:
            for label, cell in self.cells.get(op.key, {}).items():
                if not cell.fine:
                    out.append(
                        f"{op.label} as {label}: {cell.status}, expected "
                        f"{' or '.join(sorted(cell.expected))} (declared {op.access})"
                    )
        return out

    def table(self) -> str:
        """The matrix as a Markdown table (✗ marks a cell against the declaration)."""
        head = ["operation", "declared", *(r.label for r in ROLES)]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for op in self.operations:
            row = self.cells.get(op.key)
            if row is None:
                continue
            cells = []
            for role in ROLES:
                cell = row[role.label]
                cells.append(f"{cell.status}" + ("" if cell.fine else " ✗"))
            declared = ", ".join(op.access or ["—"])
            lines.append(f"| `{op.label}` | {declared} | " + " | ".join(cells) + " |")
        return "\n".join(lines)


def run_matrix(site: Site) -> Matrix:
    """Call every operation as every role; the matrix of answers."""
    document = httpx.get(f"{site.base}/openapi.json", timeout=30).json()
    matrix = Matrix(oc.operations(document))
    matrix.undeclared = [op.label for op in matrix.operations if op.access is None]
    tokens: dict[str, str] = {}

    def token(role: Role) -> str:
        assert role.username is not None
        if role.label not in tokens:
            tokens[role.label] = site.login(role.username)["token"]
        return tokens[role.label]

    ctx = oc.Context(site)
    with httpx.Client(base_url=site.base, timeout=120) as client:
        for op in matrix.operations:
            try:
                oc.build_call(document, op, ctx)
            except oc.MissingExample as e:
                matrix.unfilled.append(str(e))
                continue
            row: dict[str, Cell] = {}
            # The callers to be refused go first: they meet the objects as they were, so a
            # refusal is never a side effect of an allowed caller's write (a 409 "exists").
            for role in sorted(ROLES, key=lambda r: _allowed_first(op, r, ctx, document)):
                call = oc.build_call(document, op, ctx, role.username)
                headers = {}
                if role.username is not None:
                    headers["Authorization"] = f"Bearer {token(role)}"
                answer = call.send(client, headers)
                row[role.label] = Cell(answer.status_code, expected(op, role, call))
                if op.key in oc.ENDS_SESSION:
                    tokens.pop(role.label, None)
            matrix.cells[op.key] = row
    return matrix


def _allowed_first(op: oc.Operation, role: Role, ctx: oc.Context, document: Any) -> int:
    call = oc.build_call(document, op, ctx, role.username)
    return 1 if OK in expected(op, role, call) else 0


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Matrix]:
    with own_site(tmp_path_factory.mktemp("matrix")) as (site, _):
        yield run_matrix(site)


def test_every_operation_declares_who_may_call_it(matrix: Matrix) -> None:
    assert matrix.operations, "the OpenAPI document has no operations"
    assert not matrix.undeclared, (
        "operations without x-socai-access (add openapi_extra=access(...) to the route): "
        + ", ".join(matrix.undeclared)
    )


def test_every_parameter_has_an_example(matrix: Matrix) -> None:
    assert not matrix.unfilled, "\n".join(matrix.unfilled)


def test_only_the_declared_cells_succeed(
    matrix: Matrix, capsys: pytest.CaptureFixture[str]
) -> None:
    with capsys.disabled():
        print("\n\nAuthorization matrix (status per role; ✗ = against the declaration)\n")
        print(matrix.table())
    failures = matrix.failures()
    assert not failures, "\n".join(failures) + "\n\n" + matrix.table()


def test_the_matrix_covers_every_role_and_operation(matrix: Matrix) -> None:
    called = [op for op in matrix.operations if op.key in matrix.cells]
    assert len(called) == len(matrix.operations) - len(matrix.unfilled)
    for row in matrix.cells.values():
        assert set(row) == {r.label for r in ROLES}
    # The declaration is not read blindly: somewhere a role is refused, and somewhere an
    # anonymous caller is sent to log in.
    outcomes = {outcome(c.status) for row in matrix.cells.values() for c in row.values()}
    assert {"401", OK} <= outcomes


DOC = Path(__file__).resolve().parents[2] / "docs" / "authorization-matrix.md"

PREAMBLE = """# Authorization matrix

Generated by `python -m tests.integration.test_authorization_matrix --write` from the OpenAPI
document of a served demo site; `tests/integration/test_authorization_matrix.py` checks the
same matrix in CI. Every operation is called by every role with the ids of the home school's
objects (class 6A9 of 2026-2027, its records, the school, a staff file); the partner school's
accounts (ht201, thanhtra201) call with the same ids. Cells hold the HTTP status; ✗ marks a
cell against the operation's declaration (`x-socai-access`). 400 and 422 are answers to the
minimal bodies the generator sends: the caller got past the access checks.

Reading the declaration: `public` — anyone; `account` — any logged-in account (a partner
school's account gets 404 for a home-school object); otherwise a home account holding one of
the declared roles for the object passes, the others get 403 (or 404), the partner school's
accounts get 404, and no session gets 401.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"write {DOC}")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, own_site(Path(tmp)) as (site, _):
        result = run_matrix(site)
    text = PREAMBLE + "\n" + result.table() + "\n"
    if EXCEPTIONS:
        text += "\n## Cells read differently from the declaration\n\n"
        text += "\n".join(
            f"- `{method} {path}` as {role}: {' or '.join(sorted(allowed))} — {why}"
            for (method, path, role), (allowed, why) in EXCEPTIONS.items()
        )
        text += "\n"
    problems = result.failures() + result.unfilled + [f"undeclared: {u}" for u in result.undeclared]
    if problems:
        text += "\n## Problems\n\n" + "\n".join(f"- {p}" for p in problems) + "\n"
    if args.write:
        DOC.write_text(text, "utf-8")
        print(f"wrote {DOC}")
    else:
        print(text)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
