"""Wiring for transcript issuance: an :class:`~projections.issuance.Issuer` for a data directory.

Used by ``socai issue``, ``socai demo`` and the benchmark (and, with accounts, by the HTTP
API). Settings come from ``socai.json``: ``issue.seal`` (sign with the school's organisation
seal after the principal, default true) and ``issue.public_url`` (the verification address
in the QR code; default the PKI's base URL, the address of ``socai serve``).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, TextIO

from api.logctl import config, open_checkpointer
from ledger.application import Ledger, Settings
from projections.issuance import IssueOutcome, Issuer
from signing.pki import DemoPKI

DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"


def out_dir(settings: Settings) -> Path:
    """``DATA/out``: where issued transcripts go."""
    return settings.data_dir / "out"


def open_issuer(
    settings: Settings, ledger: Ledger, pki: DemoPKI, views: Any, *, out: Path | None = None
) -> Issuer:
    conf = config(settings.data_dir)
    issue_conf = conf.get("issue", {})
    public_url = issue_conf.get("public_url") or pki.base_url or DEFAULT_PUBLIC_URL
    return Issuer(
        ledger,
        views,
        open_checkpointer(settings.data_dir, ledger, pki.passphrase),
        pki,
        data_dir=settings.data_dir,
        out=out or out_dir(settings),
        log_config=conf,
        public_url=public_url,
        seal=bool(issue_conf.get("seal", True)),
    )


class Progress:
    """A one-line progress bar on a terminal (plain lines elsewhere), in Vietnamese."""

    def __init__(self, stream: TextIO = sys.stderr, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        self.started = time.perf_counter()
        self.tty = stream.isatty()

    def __call__(self, done: int, total: int, outcome: IssueOutcome) -> None:
        rate = done / max(time.perf_counter() - self.started, 1e-9)
        if self.tty:
            filled = self.width * done // max(total, 1)
            bar = "█" * filled + "·" * (self.width - filled)
            end = "\n" if done == total else ""
            self.stream.write(f"\r  [{bar}] {done}/{total}  {rate:.1f} học bạ/s{end}")
        elif outcome.status == "refused" or done == total or done % 50 == 0:
            self.stream.write(f"  {done}/{total} ({rate:.1f} học bạ/s)\n")
        self.stream.flush()
