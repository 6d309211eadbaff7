"""Child of ``test_crash.py``: append signed events until killed, acknowledging each one.

Run from the repository root::

    SOCAI_KEY_PASSPHRASE=... python -m tests.integration.crash_child \\
        --data DIR [--database-url URL] --pki DIR --students UUID,UUID... [--seed N]

(or ``python tests/integration/crash_child.py ...``). It opens a ``Ledger``
on the given storage, loads the teachers' keys from the demo PKI, prints
``READY`` and then writes forever: single ``record_score`` saves and
``record_scores`` batches of 5–20 entries across the students. Only after a
save has returned does it print, for every event of that save, one line::

    ACK <record-uuid> <version>

Each save's lines go out in one ``write(2)`` of less than ``PIPE_BUF`` bytes,
so a kill never leaves half an acknowledgement in the pipe. The child is the
only writer while it runs, so it knows every event's version; if a command
ever returns a version it did not expect, it prints ``ERROR ...`` and exits 2.

Imports are kept to what writing needs: no pytest, no test fixtures.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from ledger.application import Ledger, Settings, Trust
from ledger.domain import StudentRecord
from signing.keys import PASSPHRASE_ENV
from signing.pki import DemoPKI

SUBJECTS = ("Toán", "Ngữ văn", "Ngoại ngữ 1", "Khoa học tự nhiên", "Lịch sử và Địa lí")
KINDS = ("tx", "tx", "tx", "gk", "ck")
#: Stop on its own after this long, in case nobody kills it.
LIFETIME = 120.0


def emit(text: str) -> None:
    os.write(1, text.encode("utf-8"))


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--data", required=True, type=Path)
    p.add_argument("--database-url", default=os.environ.get("SOCAI_DATABASE_URL") or None)
    p.add_argument("--pki", required=True, type=Path)
    p.add_argument("--students", required=True, help="comma-separated record ids")
    p.add_argument("--teachers", default="GV001,GV002", help="comma-separated staff codes")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    passphrase = os.environ.get(PASSPHRASE_ENV, "").encode("utf-8")
    rng = random.Random(args.seed)
    pki = DemoPKI.load(args.pki, passphrase)
    ledger = Ledger(
        Settings(args.data, args.database_url), Trust(pki.trust_roots(), pki.intermediates())
    )
    signers = [pki.signer_for(code) for code in args.teachers.split(",")]
    students = [UUID(s) for s in args.students.split(",")]
    # The newest version of each record: this process is the only writer.
    head: dict[UUID, int] = {}
    for rid in students:
        rows = ledger.recorder.select_events(rid, desc=True, limit=1)
        head[rid] = rows[0].originator_version if rows else 0

    owners = {signer.fingerprint: ledger.actor(signer).owner for signer in signers}

    def write(signer: Any, entries: list[tuple[UUID, str, int, str, str]]) -> dict[UUID, int]:
        # Straight to the aggregates: this process writes far more entries per term than
        # TT 22/2021 Điều 6 allows a command to, and durability is what is under test.
        records: dict[UUID, StudentRecord] = {}
        for rid, subject, term, kind, value in entries:
            record = records.get(rid) or ledger.load(rid, StudentRecord)
            records[rid] = record
            record.record_score(
                subject=subject,
                term=term,
                kind=kind,
                value=Decimal(value),
                by=owners[signer.fingerprint],
            )
        ledger.save(*records.values(), signer=signer)
        return {rid: int(r.version) for rid, r in records.items()}

    def score() -> tuple[str, int, str, str]:
        value = Decimal(rng.randrange(0, 101)) / 10
        return rng.choice(SUBJECTS), rng.choice((1, 2)), rng.choice(KINDS), str(value)

    emit("READY\n")
    stop = time.monotonic() + LIFETIME
    while time.monotonic() < stop:
        signer = rng.choice(signers)
        if rng.random() < 0.5:
            rid = rng.choice(students)
            version = write(signer, [(rid, *score())])[rid]
            if version != head[rid] + 1:
                emit(f"ERROR {rid} returned version {version}, expected {head[rid] + 1}\n")
                return 2
            head[rid] = version
            emit(f"ACK {rid} {version}\n")
        else:
            entries = [(rng.choice(students), *score()) for _ in range(rng.randint(5, 20))]
            write(signer, entries)
            lines = []
            for rid, *_ in entries:
                head[rid] += 1
                lines.append(f"ACK {rid} {head[rid]}\n")
            emit("".join(lines))
    emit("TIMEOUT\n")
    return 3


if __name__ == "__main__":
    sys.exit(main())
