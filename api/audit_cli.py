"""``socai audit --report DIR``: the inspector's reports (JSON, CSV, HTML, PDF).

``api/cli.py``'s ``audit`` command calls :func:`add_report_arguments` on its parser and, when
``--report`` is given, :func:`write_reports` after the audit (passing its
:class:`~ledger.audit.AuditReport`, so the checkpoints it was given count in the report too).
:func:`summary_line` is the one Vietnamese line to print after it.

Options:

``--report DIR``
    write the reports into DIR (created if missing).
``--format LIST``
    comma list of ``json``, ``csv``, ``html``, ``pdf`` (default ``json,csv,html``).
``--lang vi|en``
    the language of the HTML/PDF report and the CSV headers (default ``vi``).
``--school CODE``
    only the events of one school (mã trường); default every school in the ledger.
``--late-days N``, ``--late-min-entries N``, ``--many-classes N``, ``--night-events N``,
``--burst-minutes N``, ``--night-start H``, ``--night-end H``, ``--recent-events N``
    the thresholds of :class:`ledger.inspection.Thresholds` ([U]: no regulation sets them;
    docs/inspection.md explains each default).

With ``--record ID`` (the audit's own option) the report is that record's: its whole
timeline, its corrections and the anomalies that concern it.
"""

from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path
from typing import Any
from uuid import UUID

from ledger.audit import AuditReport
from ledger.domain import student_id
from ledger.inspection import Inspection, Thresholds, inspect
from projections.audit_report import TimelineCSV, write_csv, write_html, write_json, write_pdf

FORMATS = ("json", "csv", "html", "pdf")
DEFAULT_FORMATS = ("json", "csv", "html")

#: Threshold options: option name -> Thresholds field.
THRESHOLD_OPTIONS = {f"--{f.name.replace('_', '-')}": f.name for f in fields(Thresholds)}


def parse_formats(value: str) -> tuple[str, ...]:
    """``json,csv`` -> ("json", "csv"); refuses an unknown or empty format (argparse usage)."""
    chosen = tuple(dict.fromkeys(p.strip().lower() for p in value.split(",") if p.strip()))
    unknown = [p for p in chosen if p not in FORMATS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"--format takes a comma list of {', '.join(FORMATS)}; not {value!r}"
        )
    return chosen


def _count(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {value!r}")
    return number


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--report``, ``--format``, ``--lang``, ``--school`` and the thresholds."""
    group = parser.add_argument_group(
        "inspection report (báo cáo thanh tra)",
        "timeline, corrections and anomalies as JSON, CSV, HTML and PDF",
    )
    group.add_argument(
        "--report",
        metavar="DIR",
        type=Path,
        default=None,
        help="write the inspection reports into DIR",
    )
    group.add_argument(
        "--format",
        dest="report_format",
        metavar="LIST",
        type=parse_formats,
        default=DEFAULT_FORMATS,
        help=f"comma list of {', '.join(FORMATS)} (default {','.join(DEFAULT_FORMATS)})",
    )
    group.add_argument(
        "--lang",
        dest="report_lang",
        choices=("vi", "en"),
        default="vi",
        help="language of the HTML/PDF report and CSV headers (default vi)",
    )
    group.add_argument(
        "--school",
        dest="report_school",
        metavar="CODE",
        default=None,
        help="only this school (mã trường); default every school in the ledger",
    )
    defaults = Thresholds()
    for option, name in THRESHOLD_OPTIONS.items():
        group.add_argument(
            option,
            dest=f"threshold_{name}",
            metavar="N",
            type=_count,
            default=None,
            help=f"threshold [U] (default {getattr(defaults, name)}; see docs/inspection.md)",
        )


def thresholds_from_args(args: argparse.Namespace) -> Thresholds:
    """The thresholds given on the command line, the defaults for the others."""
    given: dict[str, Any] = {}
    for name in THRESHOLD_OPTIONS.values():
        value = getattr(args, f"threshold_{name}", None)
        if value is not None:
            given[name] = value
    return Thresholds(**given)


def _record(text: str | None) -> UUID | None:
    """A record id given as a UUID or a mã học sinh (as ``socai audit --record``)."""
    if not text:
        return None
    try:
        return UUID(text)
    except ValueError:
        return student_id(text)


def write_reports(
    ledger: Any,
    args: argparse.Namespace,
    *,
    report: AuditReport | None = None,
) -> list[Path]:
    """Run :func:`ledger.inspection.inspect` and write the chosen formats into ``--report``.

    ``report`` is the audit already run (with its checkpoints); without it the inspection runs
    the audit itself. A school's ``timeline.csv`` is streamed while the inspection runs, so it
    holds every event however large the ledger. Returns the files written.
    """
    inspection, written = run_inspection(ledger, args, report=report)
    del inspection
    return written


def run_inspection(
    ledger: Any,
    args: argparse.Namespace,
    *,
    report: AuditReport | None = None,
) -> tuple[Inspection, list[Path]]:
    """:func:`write_reports`, also returning the inspection (for :func:`summary_line`)."""
    directory = Path(args.report)
    directory.mkdir(parents=True, exist_ok=True)
    formats: tuple[str, ...] = tuple(getattr(args, "report_format", DEFAULT_FORMATS))
    language = str(getattr(args, "report_lang", "vi"))
    record = _record(getattr(args, "record", None))
    thresholds = thresholds_from_args(args)
    school = getattr(args, "report_school", None)
    written: list[Path] = []
    if "csv" in formats:
        with TimelineCSV(directory / "timeline.csv", language) as sink:
            inspection = inspect(
                ledger,
                record=record,
                school=school,
                thresholds=thresholds,
                report=report,
                on_event=sink,
            )
        written.append(sink.path)
        written += write_csv(inspection, directory, language=language, include_timeline=False)
    else:
        inspection = inspect(
            ledger, record=record, school=school, thresholds=thresholds, report=report
        )
    if "json" in formats:
        written.append(write_json(inspection, directory / "inspection.json"))
    if "html" in formats:
        written.append(write_html(inspection, directory / "inspection.html", language))
    if "pdf" in formats:
        written.append(write_pdf(inspection, directory / "inspection.pdf", language))
    return inspection, written


def summary_line(inspection: Inspection, written: list[Path] | None = None) -> str:
    """One Vietnamese line: events, records, anomalies (violations, questions), the files."""
    where = ""
    if written:
        where = f"; báo cáo: {written[0].parent} ({', '.join(p.name for p in written)})"
    scope = {
        "record": f"hồ sơ {inspection.record_label}",
        "school": f"trường {inspection.school}",
    }.get(inspection.scope, "toàn bộ sổ cái")
    return (
        f"Thanh tra {scope}: {inspection.summary.events} sự kiện, "
        f"{len(inspection.records)} hồ sơ, {len(inspection.corrections)} sửa chữa, "
        f"{len(inspection.anomalies)} bất thường ({len(inspection.violations)} vi phạm, "
        f"{len(inspection.questions)} cần hỏi){where}"
    )
