"""The verification report (DESIGN.md §5): an ETSI EN 319 102-1 verdict and named checks.

A :class:`Report` has an overall ``status`` (``TOTAL-PASSED``, ``TOTAL-FAILED`` or
``INDETERMINATE``), an ETSI sub-indication when it did not pass, and the list of
:class:`Check` results it was derived from, each with its own status and a detail in English
and Vietnamese. The overall status is the worst of the checks: any TOTAL-FAILED makes the
report TOTAL-FAILED, else any INDETERMINATE makes it INDETERMINATE, and only a report whose
checks all passed (and which has at least one) is TOTAL-PASSED. ``socai verify`` exits 0, 1
or 2 for the three statuses, and ``POST /api/v1/verify`` returns :meth:`Report.as_dict`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from signing.validation import INDETERMINATE, TOTAL_FAILED, TOTAL_PASSED, Status

__all__ = [
    "INDETERMINATE",
    "TOTAL_FAILED",
    "TOTAL_PASSED",
    "Check",
    "Report",
    "Status",
    "worst",
]

_RANK = {TOTAL_PASSED: 0, INDETERMINATE: 1, TOTAL_FAILED: 2}
Language = Literal["vi", "en"]


def worst(statuses: Iterable[Status]) -> Status:
    """The worst of ``statuses`` (TOTAL-FAILED > INDETERMINATE > TOTAL-PASSED)."""
    out: Status = TOTAL_PASSED
    for s in statuses:
        if _RANK[s] > _RANK[out]:
            out = s
    return out


@dataclass(frozen=True)
class Check:
    """One named check of a verification."""

    name: str
    """Dotted name, e.g. ``pdf.structure``, ``signature.GVCN``, ``ledger.chain``."""
    status: Status
    detail: str
    """What was found, in English."""
    detail_vi: str = ""
    """The same in Vietnamese (falls back to :attr:`detail` when empty)."""
    subindication: str | None = None
    """ETSI EN 319 102-1 sub-indication when the check did not pass."""
    facts: dict[str, Any] = field(default_factory=dict, hash=False)
    """Machine-readable details (signer, time, modification level, sizes…)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "subindication": self.subindication,
            "detail": self.detail,
            "detail_vi": self.detail_vi or self.detail,
            "facts": self.facts,
        }


@dataclass(frozen=True)
class Report:
    """A verification's verdict and every check behind it."""

    checks: tuple[Check, ...]
    document: dict[str, Any] = field(default_factory=dict, hash=False)
    """What the document claims (student code, transcript id, issue number, sha256…)."""

    @property
    def status(self) -> Status:
        if not self.checks:
            return INDETERMINATE
        return worst(c.status for c in self.checks)

    @property
    def subindication(self) -> str | None:
        """The sub-indication of the first check with the overall status, if not passed."""
        status = self.status
        if status == TOTAL_PASSED:
            return None
        for c in self.checks:
            if c.status == status:
                return c.subindication or ("GENERIC" if status == TOTAL_FAILED else "TRY_LATER")
        return "GENERIC"

    @property
    def exit_code(self) -> int:
        """``socai verify``'s exit status: 0 passed, 1 failed, 2 indeterminate."""
        return {TOTAL_PASSED: 0, TOTAL_FAILED: 1, INDETERMINATE: 2}[self.status]

    def check(self, name: str) -> Check | None:
        return next((c for c in self.checks if c.name == name), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "subindication": self.subindication,
            "document": self.document,
            "checks": [c.as_dict() for c in self.checks],
        }

    def as_text(self, language: Language = "vi") -> str:
        """A plain-text report, in Vietnamese (default) or English."""
        verdicts = {
            "vi": {
                TOTAL_PASSED: "HỢP LỆ (TOTAL-PASSED)",
                TOTAL_FAILED: "KHÔNG HỢP LỆ (TOTAL-FAILED)",
                INDETERMINATE: "CHƯA XÁC ĐỊNH ĐƯỢC (INDETERMINATE)",
            },
            "en": {
                TOTAL_PASSED: "VALID (TOTAL-PASSED)",
                TOTAL_FAILED: "NOT VALID (TOTAL-FAILED)",
                INDETERMINATE: "CANNOT BE DETERMINED (INDETERMINATE)",
            },
        }[language]
        marks = {TOTAL_PASSED: "✓", TOTAL_FAILED: "✗", INDETERMINATE: "?"}
        head = "Kết quả kiểm tra" if language == "vi" else "Verification result"
        lines = [f"{head}: {verdicts[self.status]}"]
        if self.subindication:
            lines[0] += f" — {self.subindication}"
        for key, value in self.document.items():
            lines.append(f"  {key}: {value}")
        for c in self.checks:
            detail = (c.detail_vi or c.detail) if language == "vi" else c.detail
            sub = f" [{c.subindication}]" if c.subindication else ""
            lines.append(f"{marks[c.status]} {c.name}{sub}: {detail}")
        return "\n".join(lines) + "\n"

    def as_html(self, language: Language = "vi") -> str:
        """A self-contained printable page (no script, nothing external)."""
        from html import escape

        colours = {TOTAL_PASSED: "#1e7b34", TOTAL_FAILED: "#b42318", INDETERMINATE: "#b54708"}
        head, *_ = self.as_text(language).splitlines()
        title = (
            "Báo cáo kiểm tra học bạ số" if language == "vi" else "Học bạ số verification report"
        )
        labels = (
            ("Kiểm tra", "Kết quả", "Chi tiết")
            if language == "vi"
            else (
                "Check",
                "Status",
                "Detail",
            )
        )
        rows = []
        for c in self.checks:
            detail = (c.detail_vi or c.detail) if language == "vi" else c.detail
            sub = f" ({escape(c.subindication)})" if c.subindication else ""
            rows.append(
                f"<tr><td><code>{escape(c.name)}</code></td>"
                f'<td style="color:{colours[c.status]}">{escape(c.status)}{sub}</td>'
                f"<td>{escape(detail)}</td></tr>"
            )
        facts = "".join(
            f"<tr><th>{escape(str(k))}</th><td>{escape(str(v))}</td></tr>"
            for k, v in self.document.items()
        )
        return (
            f'<!doctype html><html lang="{language}"><head><meta charset="utf-8">'
            f"<title>{escape(title)}</title><style>"
            "body{font-family:'Noto Serif',serif;margin:2em;color:#111}"
            "table{border-collapse:collapse;width:100%;margin:1em 0}"
            "td,th{border:1px solid #ccc;padding:4px 6px;text-align:left;vertical-align:top}"
            f".verdict{{font-size:1.4em;font-weight:bold;color:{colours[self.status]}}}"
            "@media print{body{margin:1cm}}</style></head><body>"
            f'<h1>{escape(title)}</h1><p class="verdict">{escape(head)}</p>'
            f"<table>{facts}</table>"
            f"<table><tr><th>{labels[0]}</th><th>{labels[1]}</th><th>{labels[2]}</th></tr>"
            + "".join(rows)
            + "</table></body></html>\n"
        )
