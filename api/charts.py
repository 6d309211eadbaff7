"""Server-side SVG charts for the pages: changes over time as bars, no JavaScript.

The inspector's page shows how many events a school's ledger received per day, week or
month (:func:`buckets` turns the per-day counts of :class:`ledger.inspection.Summary` into
bars, filling the days without events with zeros) and :func:`bar_chart` draws them as
inline SVG markup. The markup carries no ``style`` attribute and no script, so the page's
Content-Security-Policy (``style-src 'self'``) holds: colours are presentation attributes
(``fill``) that the stylesheet may override through the classes.

Accessibility: the ``<svg>`` has ``role="img"`` and is labelled by its ``<title>`` and
``<desc>`` (the total and the busiest period); every bar has its own ``<title>`` (the period
and the count), which screen readers and a mouse hover show. Pages put the same numbers in a
table next to the chart for those who cannot see it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from markupsafe import Markup, escape

__all__ = ["Bar", "Unit", "bar_chart", "buckets", "nice_ceiling"]

Unit = Literal["day", "week", "month"]
#: Longest span (in days) drawn one bar per day, and one bar per week.
DAYS_MAX = 62
WEEKS_MAX = 7 * 80


@dataclass(frozen=True)
class Bar:
    """One period of the chart."""

    #: First day of the period.
    start: date
    #: Short label under the bar: ``25/12`` (day, week) or ``12/2025`` (month).
    label: str
    #: Long label for the bar's tooltip and the table: ``25/12/2025``, ``tuần từ 22/12/2025``…
    title: str
    count: int


def _parse(day: str) -> date | None:
    try:
        return date.fromisoformat(day[:10])
    except ValueError:
        return None


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _next_month(day: date) -> date:
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


def buckets(
    by_day: Mapping[str, int],
    *,
    unit: Unit | None = None,
    start: date | None = None,
    end: date | None = None,
    lang: str = "vi",
    min_days: int = 14,
) -> tuple[Unit, list[Bar]]:
    """Bars of the counts per day (``YYYY-MM-DD`` → count) between ``start`` and ``end``.

    Without ``unit`` the span decides: one bar per day up to :data:`DAYS_MAX` days, per ISO
    week (starting Monday) up to :data:`WEEKS_MAX` days, else per month. Days outside
    ``start``…``end`` are left out; keys that are not dates are ignored. Without ``start``,
    the bars cover at least ``min_days`` days, ending on the last day with events.
    """
    counts: dict[date, int] = {}
    for key, value in by_day.items():
        day = _parse(key)
        if day is None or (start is not None and day < start) or (end is not None and day > end):
            continue
        counts[day] = counts.get(day, 0) + int(value)
    if not counts and (start is None or end is None):
        return unit or "day", []
    first = start or min(counts)
    last = end or max(counts)
    if last < first:
        first, last = last, first
    if start is None and (last - first).days + 1 < min_days:
        # A few busy days alone would fill the width with one or two bars: show them in
        # the fortnight they ended.
        first = last - timedelta(days=min_days - 1)
    span = (last - first).days + 1
    if unit is None:
        unit = "day" if span <= DAYS_MAX else "week" if span <= WEEKS_MAX else "month"
    week = "tuần từ" if lang == "vi" else "week of"
    bars: list[Bar] = []
    if unit == "day":
        day = first
        while day <= last:
            bars.append(Bar(day, f"{day:%d/%m}", f"{day:%d/%m/%Y}", counts.get(day, 0)))
            day += timedelta(days=1)
    elif unit == "week":
        monday = first - timedelta(days=first.weekday())
        while monday <= last:
            total = sum(counts.get(monday + timedelta(days=i), 0) for i in range(7))
            bars.append(Bar(monday, f"{monday:%d/%m}", f"{week} {monday:%d/%m/%Y}", total))
            monday += timedelta(days=7)
    else:
        month = _month_start(first)
        while month <= last:
            after = _next_month(month)
            total = sum(n for d, n in counts.items() if month <= d < after)
            bars.append(Bar(month, f"{month:%m/%Y}", f"{month:%m/%Y}", total))
            month = after
    return unit, bars


def nice_ceiling(value: int) -> int:
    """The axis's top for a peak of ``value``: the value itself up to 4 (a line per unit),
    else a round number at or above it that splits in four whole quarters (8, 12, 40, 600…)."""
    if value <= 4:
        return max(1, value)
    power: int = 10 ** (len(str(value)) - 1)  # the leading digit's place
    for step in (1, 1.2, 1.6, 2, 2.4, 3.2, 4, 6, 8, 10):
        top = round(step * power)
        if top >= value and top % 4 == 0:
            return top
    return 4 * math.ceil(value / 4)  # pragma: no cover - 8 × 10ⁿ always fits


def _fmt(n: float) -> str:
    return f"{n:.1f}".rstrip("0").rstrip(".")


def bar_chart(
    bars: Sequence[Bar],
    *,
    title: str,
    desc: str,
    chart_id: str = "chart",
    width: int = 720,
    height: int = 260,
    unit_label: str = "",
    font_size: int = 11,
    css_class: str = "",
) -> Markup:
    """Inline SVG of ``bars``: safe markup (every text is escaped), labelled for screen readers."""
    left, right, top, bottom = 52, 8, 24, 40
    plot_w = width - left - right
    plot_h = height - top - bottom
    peak = max((b.count for b in bars), default=0)
    ceiling = nice_ceiling(peak)
    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {escape(css_class)}" '
        f'id="{escape(chart_id)}" '
        f'role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'preserveAspectRatio="xMidYMid meet" aria-labelledby="{escape(title_id)} '
        f'{escape(desc_id)}" font-family="sans-serif" font-size="{font_size}">',
        f'<title id="{escape(title_id)}">{escape(title)}</title>',
        f'<desc id="{escape(desc_id)}">{escape(desc)}</desc>',
    ]
    # Horizontal grid lines with the y axis's labels: one per unit up to 4, else quarters.
    lines = ceiling if ceiling <= 4 else 4
    for i in range(lines + 1):
        value = ceiling * i // lines
        y = top + plot_h - plot_h * i / lines
        out.append(
            f'<line class="chart-grid" x1="{left}" x2="{width - right}" y1="{_fmt(y)}" '
            f'y2="{_fmt(y)}" stroke="#d0d5dd" stroke-width="1"/>'
        )
        out.append(
            f'<text class="chart-axis" x="{left - 6}" y="{_fmt(y + 4)}" text-anchor="end" '
            f'fill="#475467">{value}</text>'
        )
    if unit_label:
        out.append(
            f'<text class="chart-axis" x="{left - 6}" y="{top - 8}" text-anchor="end" '
            f'fill="#475467">{escape(unit_label)}</text>'
        )
    if bars:
        slot = plot_w / len(bars)
        gap = min(slot * 0.2, 6.0)
        every = max(1, math.ceil(len(bars) / max(1, plot_w // (4 * font_size))))
        for i, b in enumerate(bars):
            h = plot_h * b.count / ceiling
            x = left + i * slot + gap / 2
            y = top + plot_h - h
            out.append(
                f'<rect class="chart-bar" x="{_fmt(x)}" y="{_fmt(y)}" '
                f'width="{_fmt(max(slot - gap, 1.0))}" height="{_fmt(h)}" fill="#1d4ed8">'
                f"<title>{escape(b.title)}: {b.count}</title></rect>"
            )
            if (len(bars) - 1 - i) % every == 0:  # the latest period always has its label
                cx = left + i * slot + slot / 2
                out.append(
                    f'<text class="chart-axis" x="{_fmt(cx)}" y="{height - bottom + 16}" '
                    f'text-anchor="middle" fill="#475467">{escape(b.label)}</text>'
                )
    out.append(
        f'<line class="chart-base" x1="{left}" x2="{width - right}" y1="{top + plot_h}" '
        f'y2="{top + plot_h}" stroke="#344054" stroke-width="1"/>'
    )
    out.append("</svg>")
    # Every text above went through escape(); the rest is numbers and fixed markup.
    return Markup("".join(out))  # noqa: S704
