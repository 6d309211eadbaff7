"""The ``socai`` command line.

Exit codes: 0 success; 1 a check failed (audit found problems); 64 usage;
65 bad input data; 66 missing input (no data directory, unknown record);
73 cannot create (data directory exists); 74 I/O or storage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from uuid import UUID

from api.trust import load_trust
from ledger.application import Ledger, Settings
from ledger.audit import audit
from ledger.domain import student_id
from ledger.errors import (
    AlreadyExists,
    InvalidInput,
    LedgerError,
    RecordNotFound,
    StorageError,
)
from signing.errors import SigningError
from signing.keys import resolve_passphrase
from signing.pki import DemoPKI

EX_OK, EX_FAILED, EX_USAGE, EX_DATAERR, EX_NOINPUT, EX_CANTCREAT, EX_IOERR = (
    0,
    1,
    64,
    65,
    66,
    73,
    74,
)


class CLIError(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _json_default(value: object) -> object:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (UUID, Decimal)):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(type(value).__name__)


def _print_json(value: object) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2, default=_json_default))


def open_ledger(settings: Settings, *, need_pki: bool = True) -> tuple[Ledger, DemoPKI | None]:
    """Open the ledger of an initialised data directory, with its trust anchors."""
    if not (settings.data_dir / "socai.json").is_file():
        raise CLIError(
            f"{settings.data_dir} is not a Sổ Cái data directory; run 'socai init' first",
            EX_NOINPUT,
        )
    pki = None
    trust = None
    if need_pki:
        pki = DemoPKI.load(
            settings.data_dir / "pki", resolve_passphrase(settings.data_dir, create=False)
        )
        trust = load_trust(settings.data_dir, pki)
    return Ledger(settings, trust), pki


def _resolve_record(ledger: Ledger, text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        return student_id(text)


# -- commands ------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    from api.demo import initialise

    settings = Settings.from_env(args.data)
    summary = initialise(
        settings,
        school_code=args.school_code,
        school_name=args.school_name,
        province=args.province,
        public_url=args.public_url,
    )
    if args.json:
        _print_json(summary)
    else:
        print(f"Đã khởi tạo thư mục dữ liệu {settings.data_dir} ({settings.backend}).")
        print(f"  Trường: {summary['school']['name']} ({summary['school']['code']})")
        print(f"  Chứng thư: gốc «{summary['pki']['root']}», {len(summary['staff'])} cán bộ")
    return EX_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from api.demo import initialise, seed

    settings = Settings.from_env(args.data)
    if not (settings.data_dir / "socai.json").exists():
        initialise(settings)
    ledger, pki = open_ledger(settings)
    assert pki is not None
    summary = seed(ledger, pki, settings, students=args.students)
    if args.json:
        _print_json(summary)
    else:
        print(f"Sổ Cái demo trong {settings.data_dir} ({settings.backend}):")
        staff, certs = summary["staff_files"], summary["certificates"]
        print(f"  Hồ sơ cán bộ: {staff}, chứng thư đã đăng ký: {certs}")
        print(f"  Học sinh đã nhập học: {summary['students']} (lớp {summary['class_name']})")
        print(f"  Điểm đã ghi: {summary['scores']}, đính chính: {summary['corrections']}")
        print(f"  Sự kiện đã ký: {summary['events']} trong {summary['seconds']:.2f} s")
        print(f"  Ví dụ: socai history {summary['example_student']}")
    return EX_OK


def cmd_history(args: argparse.Namespace) -> int:
    ledger, _ = open_ledger(Settings.from_env(args.data))
    record = _resolve_record(ledger, args.record)
    entries = ledger.history(record)
    if args.json:
        _print_json({"record": str(record), "events": entries})
        return EX_OK
    print(f"Hồ sơ {record}: {len(entries)} sự kiện")
    for e in entries:
        fields = ", ".join(
            f"{k}={v}"
            for k, v in e["fields"].items()
            if k not in ("certificate", "seal_certificate")
        )
        print(f"  v{e['version']:<4} {e['timestamp']:%Y-%m-%d %H:%M:%S} {e['event']:<22} {fields}")
        print(f"        ký bởi {e['signer_name']}  hash {e['hash'][:16]}…  prev {e['prev'][:16]}…")
    return EX_OK


def cmd_audit(args: argparse.Namespace) -> int:
    ledger, _ = open_ledger(Settings.from_env(args.data))
    record = _resolve_record(ledger, args.record) if args.record else None
    report = audit(ledger, record)
    if args.json:
        _print_json(report.as_dict())
    else:
        status = "ĐẠT" if report.ok else "KHÔNG ĐẠT"
        print(
            f"Kiểm tra: {status} — {report.events} sự kiện, {report.records} hồ sơ, "
            f"{report.certificates} chứng thư, {len(report.problems)} vấn đề"
        )
        for p in report.problems:
            print(f"  hồ sơ {p.record} phiên bản {p.version}: [{p.check}] {p.detail}")
    return EX_OK if report.ok else EX_FAILED


def cmd_pki_roots(args: argparse.Namespace) -> int:
    from cryptography.hazmat.primitives.serialization import Encoding

    _, pki = open_ledger(Settings.from_env(args.data))
    assert pki is not None
    for cert in pki.trust_roots():
        sys.stdout.write(cert.public_bytes(Encoding.PEM).decode("ascii"))
    return EX_OK


def cmd_pki_revoke(args: argparse.Namespace) -> int:
    from cryptography import x509

    from ledger.application import REVOCATION_REASONS
    from ledger.domain import PRINCIPAL, staff_id
    from signing.keys import certificate_fingerprint

    settings = Settings.from_env(args.data)
    ledger, pki = open_ledger(settings)
    assert pki is not None
    if args.reason not in REVOCATION_REASONS:
        raise CLIError(f"--reason must be one of {', '.join(sorted(REVOCATION_REASONS))}", EX_USAGE)
    at = None
    if args.at:
        try:
            at = datetime.fromisoformat(args.at)
        except ValueError:
            raise CLIError("--at must be an ISO 8601 time with a timezone", EX_USAGE) from None
    cert = pki.staff.get(args.staff_code)
    if cert is None:
        raise CLIError(f"no certificate for staff code {args.staff_code}", EX_NOINPUT)
    config = json.loads((settings.data_dir / "socai.json").read_text("utf-8"))
    principal_code = next(s["code"] for s in config["staff"] if s["title"] == PRINCIPAL)
    principal = pki.signer_for(principal_code)
    staff = staff_id(config["school"]["code"], args.staff_code)
    moment = ledger.revoke_certificate(
        principal, staff, certificate_fingerprint(cert), args.reason, at
    )
    # The embedded CA publishes it (CRL, OCSP); repeating it after a failure is harmless.
    pki.authority("school").revoke(cert.serial_number, x509.ReasonFlags(args.reason), moment)
    print(f"Đã thu hồi chứng thư của {args.staff_code} từ {moment.isoformat()} ({args.reason}).")
    return EX_OK


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from api.app import create_app

    settings = Settings.from_env(args.data)
    if not (settings.data_dir / "socai.json").is_file():
        raise CLIError(f"{settings.data_dir} is not a Sổ Cái data directory", EX_NOINPUT)
    # Access logs carry request paths only (never bodies); keep them at warning
    # level so OCSP GET paths do not flood the log.
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="warning")
    return EX_OK


def cmd_bench(args: argparse.Namespace) -> int:
    from bench.ledger import run_ledger_bench
    from bench.trust import run_trust_bench

    runners = {
        "ledger": lambda: run_ledger_bench(quick=args.quick),
        "trust": lambda: run_trust_bench(quick=args.quick),
    }
    suites = args.suite or list(runners)
    unknown = [s for s in suites if s not in runners]
    if unknown:
        raise CLIError(
            f"unknown or not yet available suite(s): {', '.join(unknown)}; "
            f"available: {', '.join(runners)}",
            EX_USAGE,
        )
    results = {name: runners[name]() for name in suites}
    markdown = "\n\n".join(f"## {name}\n\n{r['markdown']}" for name, r in results.items())
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "bench-report.json").write_text(
            json.dumps(results, indent=2, ensure_ascii=False, default=_json_default), "utf-8"
        )
        (out / "bench-report.md").write_text(markdown + "\n", "utf-8")
    if args.json:
        _print_json(results)
    else:
        print(markdown)
    return EX_OK


# -- parser ------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="socai", description="Sổ Cái: sổ cái hồ sơ trường học có chữ ký số."
    )
    p.add_argument(
        "--data", default=None, help="data directory (env SOCAI_DATA, default ./socai-data)"
    )
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("init", help="create the data directory, demo PKI and school")
    s.add_argument("--school-code", default="79000701")
    s.add_argument("--school-name", default="Trường THCS Nguyễn Du (demo)")
    s.add_argument("--province", default="Thành phố Hồ Chí Minh")
    s.add_argument(
        "--public-url",
        default=None,
        help="address of `socai serve` written into certificates "
        "(env SOCAI_PUBLIC_URL, default http://127.0.0.1:8000)",
    )
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_init)

    s = sub.add_parser("pki", help="the embedded PKI: trust anchors, revocation")
    pki_sub = s.add_subparsers(dest="pki_command", required=True)
    r = pki_sub.add_parser("roots", help="print the trust anchors as PEM")
    r.set_defaults(func=cmd_pki_roots)
    r = pki_sub.add_parser("revoke", help="revoke a staff certificate (ledger event + CRL/OCSP)")
    r.add_argument("staff_code")
    r.add_argument("--reason", default="unspecified", help="RFC 5280 reason, e.g. keyCompromise")
    r.add_argument("--at", default=None, help="revocation time, ISO 8601 (default now)")
    r.set_defaults(func=cmd_pki_revoke)

    s = sub.add_parser("serve", help="serve the HTTP API, CRLs, OCSP and the TSA")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.set_defaults(func=cmd_serve)

    s = sub.add_parser("demo", help="seed a demo school year (runs init when needed)")
    s.add_argument("--students", type=int, default=30)
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_demo)

    s = sub.add_parser("history", help="show a record's signed history")
    s.add_argument("record", help="record id (UUID) or mã học sinh")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_history)

    s = sub.add_parser("audit", help="re-verify every event; exit 0 only when all holds")
    s.add_argument("--record", default=None, help="audit one record (UUID or mã học sinh)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_audit)

    s = sub.add_parser("bench", help="run benchmarks against same-run baselines")
    s.add_argument("suite", nargs="*", help="suites to run (default: ledger)")
    s.add_argument("--quick", action="store_true")
    s.add_argument("--out", default=None, help="write bench-report.json and bench-report.md here")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_bench)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except CLIError as e:
        print(f"socai: {e}", file=sys.stderr)
        return e.code
    except AlreadyExists as e:
        print(f"socai: {e}", file=sys.stderr)
        return EX_CANTCREAT
    except RecordNotFound as e:
        print(f"socai: {e}", file=sys.stderr)
        return EX_NOINPUT
    except InvalidInput as e:
        print(f"socai: {e}", file=sys.stderr)
        return EX_DATAERR
    except StorageError as e:
        print(f"socai: storage: {e}", file=sys.stderr)
        return EX_IOERR
    except (LedgerError, SigningError) as e:
        print(f"socai: {type(e).__name__}: {e}", file=sys.stderr)
        return EX_DATAERR
    except OSError as e:
        print(f"socai: {e}", file=sys.stderr)
        return EX_IOERR


if __name__ == "__main__":
    sys.exit(main())
