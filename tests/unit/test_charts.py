"""The inspector's SVG bar chart (:mod:`api.charts`): periods, axis, escaping, accessibility."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date

import pytest

from api.charts import bar_chart, buckets, nice_ceiling

SVG = "{http://www.w3.org/2000/svg}"


def test_days_without_events_are_zero_bars_and_a_short_span_shows_a_fortnight() -> None:
    unit, bars = buckets({"2025-09-05": 3, "2025-09-07": 1})
    assert unit == "day"
    assert len(bars) == 14 and bars[-1].start == date(2025, 9, 7)
    assert [b.count for b in bars[-3:]] == [3, 0, 1]
    assert sum(b.count for b in bars) == 4
    assert bars[-1].label == "07/09" and bars[-1].title == "07/09/2025"


def test_long_spans_go_by_iso_week_then_by_month() -> None:
    days = {"2025-09-01": 2, "2025-09-07": 3, "2025-09-08": 5, "2025-12-31": 1}
    unit, bars = buckets(days)
    assert unit == "week"
    assert bars[0].start == date(2025, 9, 1) and bars[0].count == 5  # Mon 1 to Sun 7
    assert bars[1].count == 5 and sum(b.count for b in bars) == 11
    assert all(b.start.weekday() == 0 for b in bars)
    unit, bars = buckets({"2024-01-15": 1, "2025-09-08": 4, "2025-09-30": 2})
    assert unit == "month"
    assert bars[0].label == "01/2024" and bars[-1].count == 6
    assert len(bars) == 21


def test_range_limits_and_junk_keys() -> None:
    days = {"2025-09-05": 3, "2025-09-20": 7, "not a day": 9}
    unit, bars = buckets(days, start=date(2025, 9, 1), end=date(2025, 9, 10))
    assert unit == "day" and len(bars) == 10 and sum(b.count for b in bars) == 3
    assert buckets({}) == ("day", [])


@pytest.mark.parametrize(
    ("peak", "top"),
    [
        (0, 1),
        (1, 1),
        (3, 3),
        (4, 4),
        (5, 8),
        (9, 12),
        (13, 16),
        (99, 100),
        (532, 600),
        (7000, 8000),
    ],
)
def test_the_axis_top_is_round_and_splits_in_whole_quarters(peak: int, top: int) -> None:
    assert nice_ceiling(peak) == top
    assert top >= peak and (top <= 4 or top % 4 == 0)


def test_the_svg_is_labelled_escaped_and_has_no_style_or_script() -> None:
    _, bars = buckets({"2025-09-05": 3, "2025-09-06": 6})
    markup = bar_chart(bars, title="Thay đổi <b>&", desc="6 sự kiện", chart_id="c1")
    assert "style=" not in markup and "<script" not in markup
    root = ET.fromstring(str(markup))
    assert root.get("role") == "img" and root.get("aria-labelledby") == "c1-title c1-desc"
    assert root.find(f"{SVG}title").text == "Thay đổi <b>&"  # type: ignore[union-attr]
    rects = root.findall(f"{SVG}rect")
    assert len(rects) == len(bars)
    heights = [float(r.get("height", "0")) for r in rects]
    # The tallest bar reaches the axis's top (8 for a peak of 6): 6/8 of the plot's height.
    assert max(heights) == pytest.approx(0.75 * (260 - 24 - 40))
    assert [r.find(f"{SVG}title").text for r in rects][-2:] == [  # type: ignore[union-attr]
        "05/09/2025: 3",
        "06/09/2025: 6",
    ]
    assert re.findall(r">(\d+)</text>", str(markup))[:5] == ["0", "2", "4", "6", "8"]
