"""A demo data directory for the benchmarks: initialised in a temporary folder, on SQLite."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ledger.application import Ledger, Settings
from signing.pki import DemoPKI


@dataclass
class Demo:
    data: Path
    settings: Settings
    ledger: Ledger
    pki: DemoPKI


@contextmanager
def demo_school(prefix: str) -> Iterator[Demo]:
    """``socai init`` in a temporary folder (SQLite), with the ledger open; nothing seeded."""
    from api.demo import initialise
    from api.trust import load_trust
    from signing.keys import resolve_passphrase

    with tempfile.TemporaryDirectory(prefix=prefix) as d:
        data = Path(d) / "data"
        os.environ.setdefault("SOCAI_KEY_PASSPHRASE", "socai bench passphrase")
        os.environ.pop("SOCAI_DATABASE_URL", None)
        settings = Settings(data)
        initialise(settings)
        pki = DemoPKI.load(data / "pki", resolve_passphrase(data, create=False))
        ledger = Ledger(settings, load_trust(data, pki))
        try:
            yield Demo(data, settings, ledger, pki)
        finally:
            ledger.close()
