"""PNG plots for ``socai bench``: throughput and latency against the ledger's size.

Drawn with matplotlib's Agg backend (no display). One figure of two panels per run of the
scale suite: rates (events/s, higher is better) and costs per operation (µs or ms, lower is
better), both against the number of events on log-log axes, one line per figure and
backend, so a cost that grows with size shows as a rising line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

RATES = (
    ("generate_events_per_s", "tạo dữ liệu / generate"),
    ("append_batch_per_s", "ghi 1.000/lần / append 1,000 per save"),
    ("append_single_per_s", "ghi 1/lần / append 1 per save"),
    ("rebuild_events_per_s", "dựng lại view / view rebuild"),
    ("audit_events_per_s", "kiểm toán / audit"),
)
COSTS = (
    ("inclusion_p50_us", "inclusion proof p50 (µs)"),
    ("consistency_p50_us", "consistency proof p50 (µs)"),
    ("load_cold_p50_ms", "record load cold p50 (ms)"),
    ("load_cached_p50_ms", "record load cached p50 (ms)"),
    ("verify_p50_ms", "verification p50 (ms)"),
    ("verify_online_p50_ms", "verification, online part p50 (ms)"),
)


def plot_scale(results: dict[str, Any], out: Path) -> list[Path]:
    """Write ``scale-throughput.png`` and ``scale-latency.png`` into ``out``; their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, figures, ylabel, title in (
        ("scale-throughput.png", RATES, "sự kiện/giây (events/s)", "Thông lượng theo cỡ sổ cái"),
        ("scale-latency.png", COSTS, "µs hoặc ms mỗi thao tác", "Độ trễ theo cỡ sổ cái"),
    ):
        fig, ax = plt.subplots(figsize=(9, 5.5), dpi=110)
        for backend, data in results["backends"].items():
            rows = data["rows"]
            style = "-" if backend == "sqlite" else "--"
            for key, label in figures:
                xs = [r["events"] for r in rows if r.get(key)]
                ys = [r[key] for r in rows if r.get(key)]
                if xs:
                    ax.plot(xs, ys, style, marker="o", label=f"{label} · {backend}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("số sự kiện trong sổ cái (events in the ledger)")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="best")
        fig.tight_layout()
        path = out / name
        fig.savefig(path)
        plt.close(fig)
        written.append(path)
    return written
