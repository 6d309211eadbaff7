"""The ``socai`` command line.

Exit codes: 0 success; 1 a check failed (audit found problems); 64 usage;
65 bad input data; 66 missing input (no data directory, unknown record);
73 cannot create (data directory exists); 74 I/O or storage error.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import shutil
import sys
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from api import account_cli
from api.trust import (
    ANCHORS_FILE,
    INTERMEDIATES_FILE,
    append_certificates,
    fingerprint_text,
    load_trust,
    read_pem_certificates,
    trust_dir,
)
from ledger.application import Ledger, Settings
from ledger.audit import audit
from ledger.domain import PRINCIPAL, staff_id, student_id
from ledger.errors import (
    AlreadyExists,
    InvalidInput,
    LedgerError,
    RecordNotFound,
    StorageError,
)
from projections.errors import ProjectionError
from signing import algorithms as sig_algorithms
from signing.csr import load_csr
from signing.errors import CertificateError, CertificateNotValid, SigningError
from signing.keys import (
    import_pkcs12,
    load_certificate,
    load_private_key,
    resolve_passphrase,
    save_private_key,
)
from signing.pki import DemoPKI, issue_person_certificate, verify_certificate_path

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
    from api.demo import MAX_STUDENTS, initialise, seed

    if not 1 <= args.students <= MAX_STUDENTS:
        raise CLIError(f"--students must be between 1 and {MAX_STUDENTS}", EX_USAGE)
    settings = Settings.from_env(args.data)
    if not (settings.data_dir / "socai.json").exists():
        initialise(settings)
    ledger, pki = open_ledger(settings)
    assert pki is not None
    try:
        summary = seed(ledger, pki, settings, students=args.students)
        summary["issued"] = _demo_issue(settings, ledger, pki, args.jobs)
        # The last checkpoint covers everything, the TranscriptIssued events included.
        cp, outcome = _checkpointer(settings, ledger).checkpoint()
    finally:
        ledger.close()
    from api.account_cli import demo_accounts
    from api.demo import PARTNER_CODE

    partner = settings.data_dir / "pki" / "partners" / PARTNER_CODE
    summary["web"] = demo_accounts(settings, PARTNER_CODE if partner.is_dir() else None)
    summary["checkpoint"] = {"size": cp.size, "cosigned_by": list(cp.cosigned_by), **outcome}
    if args.json:
        _print_json(summary)
        return EX_OK
    s = summary
    print(
        f"Sổ Cái demo trong {settings.data_dir} ({settings.backend}), năm học {s['school_year']}:"
    )
    print(f"  Trường: {s['school']['name']} ({s['school']['code']})")
    print(f"  Hồ sơ cán bộ: {s['staff']}, chứng thư đã đăng ký: {s['certificates']}")
    print(f"  Lớp: {s['classes']} ({', '.join(s['class_names'])})")
    print(f"  Học sinh: {s['students']}")
    print(f"  Điểm số đã ghi: {s['scores']}, đánh giá nhận xét: {s['comments']}")
    print(f"  Đính chính: {s['corrections']} (1 khi học kì còn mở, 1 được Hiệu trưởng duyệt)")
    print(f"  Kiểm tra lại trong hè: {s['resits']}, rèn luyện trong hè: {s['summer_training']}")
    transfers = s["transfers"]
    print(
        f"  Chuyển trường: {transfers['students_in']} học sinh chuyển đến, "
        f"{transfers['staff_out']} cán bộ điều động đi"
    )
    print(f"  Sự kiện đã ký: {s['events']} trong {s['seconds']:.1f} s")
    for label, key in (
        ("chuyển trường", "transferred"),
        ("kiểm tra lại", "resit"),
        ("đính chính", "corrected"),
    ):
        if key in s["examples"]:
            print(f"  Ví dụ ({label}): socai history {s['examples'][key]}")
    print(
        f"  Điểm kiểm tra (checkpoint) của sổ nhật ký: {cp.size} sự kiện, "
        f"đồng ký bởi {', '.join(cp.cosigned_by) or 'chưa có nhân chứng'}"
    )
    issued = s["issued"]
    print(
        f"  Học bạ số đã cấp (PDF/A-3, PAdES B-LTA): {issued['issued']} trong "
        f"{issued['seconds']:.1f} s → {issued['out']}"
    )
    web = s["web"]
    print(
        f"  Tài khoản trang web (socai serve): {', '.join(web['accounts']) or 'đã có'}; "
        f"mật khẩu trong {web['password_in']}"
    )
    return EX_OK


def _demo_issue(settings: Settings, ledger: Ledger, pki: DemoPKI, jobs: int) -> dict[str, Any]:
    """Issue every demo student's học bạ số into DATA/out (the last step of ``socai demo``)."""
    from api.issuing import open_issuer, out_dir
    from projections.views import open_views

    with open_views(settings) as views:
        issuer = open_issuer(settings, ledger, pki, views)
        students = issuer.students_of(_current_school_year(ledger, pki))
        report = issuer.issue(students, jobs=jobs)
    refused = [f"{o.student_code}: {o.detail}" for o in report.outcomes if o.status == "refused"]
    if refused:
        raise CLIError("demo transcripts refused: " + "; ".join(refused), EX_DATAERR)
    return {
        "issued": report.count("issued"),
        "seconds": round(report.seconds, 2),
        "out": str(out_dir(settings)),
    }


def _checkpointer(settings: Settings, ledger: Ledger) -> Any:
    from api.logctl import open_checkpointer

    return open_checkpointer(
        settings.data_dir, ledger, resolve_passphrase(settings.data_dir, create=False)
    )


def _trusted_checkpoints(
    settings: Settings, extra: list[str], existence: list[tuple[int, datetime]] | None = None
) -> list[tuple[int, bytes, str]]:
    """Witnessed checkpoints to audit against: the log's own, and any given as files.

    Each must carry the log's signature and cosignatures of the configured quorum of
    witnesses; one that does not is a usage error, not a finding.
    """
    from api.logctl import config, witness_verifiers
    from ledger.checkpoints import CheckpointStore
    from signing.checkpoint import require_witnesses
    from signing.note import NoteVerifier

    conf = config(settings.data_dir)
    if "log" not in conf:
        return []
    log_key = NoteVerifier.from_vkey(conf["log"]["vkey"])
    verifiers, quorum = witness_verifiers(settings.data_dir)
    out = []
    store = CheckpointStore(settings.data_dir / "log" / "checkpoints.sqlite")
    pki = DemoPKI.load(
        settings.data_dir / "pki", resolve_passphrase(settings.data_dir, create=False)
    )
    try:
        for cp in store.checkpoints():
            if len(cp.cosigned_by) >= quorum:
                checked = require_witnesses(cp.note, log_key, verifiers, quorum)
                out.append((checked.size, checked.root, f"checkpoint {checked.size}"))
            if existence is not None and cp.timestamp is not None:
                # A proof of existence for the first cp.size leaves (the token covers the
                # log-signed note, which commits to them); verified against the anchors.
                from signing.tsa import verify_token

                try:
                    when = verify_token(
                        cp.timestamp,
                        cp.log_note,
                        trust_roots=pki.trust_roots(),
                        intermediates=pki.intermediates(),
                    )
                except SigningError:
                    continue
                existence.append((cp.size, when))
    finally:
        store.close()
    for name in extra:
        try:
            note = Path(name).read_bytes()
        except OSError as e:
            raise CLIError(f"cannot read {name}: {e.strerror}", EX_NOINPUT) from None
        try:
            checked = require_witnesses(note, log_key, verifiers, quorum)
        except SigningError as e:
            raise CLIError(
                f"{name}: not a checkpoint of this log with {quorum} witnesses: {e}", EX_DATAERR
            ) from None
        out.append((checked.size, checked.root, name))
    return out


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


def cmd_views(args: argparse.Namespace) -> int:
    """``socai views update|rebuild``: bring the read models up to date, or rebuild them."""
    from projections.views import open_views

    settings = Settings.from_env(args.data)
    if not (settings.database_url or settings.sqlite_path.exists()):
        raise CLIError(f"no ledger in {settings.data_dir} (run `socai init`)", EX_NOINPUT)
    with open_views(settings) as views:
        done = views.rebuild() if args.action == "rebuild" else views.catch_up()
    rows = [
        {
            "view": p.view,
            "position": p.position,
            "events": p.events,
            "seconds": round(p.seconds, 3),
            "events_per_s": round(p.events / p.seconds) if p.seconds > 0 else None,
        }
        for p in done
    ]
    if args.json:
        _print_json({"action": args.action, "views": rows})
        return EX_OK
    verb = "Dựng lại" if args.action == "rebuild" else "Cập nhật"
    for r in rows:
        rate = f", {r['events_per_s']} sự kiện/s" if r["events_per_s"] else ""
        print(f"{verb} {r['view']}: {r['events']} sự kiện đến vị trí {r['position']}{rate}")
    return EX_OK


def cmd_transcript(args: argparse.Namespace) -> int:
    """``socai transcript STUDENT``: the học bạ data of a student from the transcript view."""
    from projections.views import open_views

    settings = Settings.from_env(args.data)
    ledger, _ = open_ledger(settings, need_pki=False)
    try:
        record = _resolve_record(ledger, args.student)
        with open_views(settings) as views:
            views.runner.catch_up(views.transcripts)
            years = views.transcripts.transcripts_of(record, ledger.vault)
    finally:
        ledger.close()
    if args.year:
        years = [y for y in years if y["school_year"] == args.year]
    if not years:
        raise CLIError(f"no transcript data for {args.student}", EX_NOINPUT)
    if args.json:
        _print_json({"student": str(record), "years": years})
        return EX_OK
    first = years[0]
    identity = first.get("identity") or {}
    name = identity.get("ho_va_ten") or ("(đã xoá dữ liệu cá nhân)" if first["shredded"] else "—")
    print(f"Học bạ: {name} — mã học sinh {first['student_code']}")
    for y in years:
        print(f"\nNăm học {y['school_year']}: lớp {y['class_name']}, {y['school_name'] or ''}")
        result = y.get("result")
        if not result:
            print("  (chưa có kết quả cả năm)")
            continue
        for subject, row in result["subjects"].items():
            if "level" in row:  # primary (TT 27/2020)
                test = f", KTĐK {row['test']}" if row.get("test") else ""
                print(f"  {subject:<40} {row['level']}{test}")
                continue
            again = f" → {row['reassessed']} (kiểm tra lại)" if row.get("reassessed") else ""
            terms = f"HK I {row['term1']:<9} HK II {row['term2']:<9}"
            print(f"  {subject:<40} {terms} CN {row['year']}{again}")
        if "result" in result:
            print(f"  Kết quả: {result['result']} ({result['regulation']})")
        else:
            print(
                f"  Kết quả học tập: {result['learning']}; rèn luyện: {result['conduct']['year']}"
            )
            print(f"  Số buổi nghỉ: {result['absences']}; xét lên lớp: {result['promotion']}")
            if result.get("award"):
                print(f"  Khen thưởng: {result['award']}")
            print(f"  Quy định: {result['regulation']}")
    return EX_OK


def cmd_verify(args: argparse.Namespace) -> int:
    """``socai verify FILE.pdf``: exit 0 TOTAL-PASSED, 1 TOTAL-FAILED, 2 INDETERMINATE."""
    from projections.verify import VerifyTrust, trust_from_data_dir, verify_file

    if args.online and args.offline:
        raise CLIError("--online and --offline exclude each other", EX_USAGE)
    extra: list[x509.Certificate] = []
    for pem in args.trust or []:
        try:
            extra += x509.load_pem_x509_certificates(_read_input(pem, "trust file"))
        except ValueError:
            raise CLIError(f"{pem}: no PEM certificate", EX_DATAERR) from None
    settings = Settings.from_env(args.data)
    if (settings.data_dir / "socai.json").is_file():
        trust = trust_from_data_dir(settings.data_dir, extra)
    elif extra:
        trust = VerifyTrust(roots=tuple(extra))
    else:
        raise CLIError(
            f"no trust anchors: {settings.data_dir} is not a data directory; give --trust PEM",
            EX_USAGE,
        )
    path = Path(args.file)
    if not path.is_file():
        raise CLIError(f"{path}: no such file", EX_NOINPUT)
    # pyHanko logs what it finds in a hostile file, tracebacks included; the report says it.
    logging.getLogger("pyhanko").setLevel(logging.CRITICAL)
    report = verify_file(path, trust)
    if args.online:
        from projections.verify import verify_online

        report = verify_online(report, trust, base_url=args.issuer)
    if args.html:
        Path(args.html).write_text(report.as_html(args.lang), "utf-8")
    if args.json:
        _print_json(report.as_dict())
    else:
        print(report.as_text(args.lang), end="")
    return report.exit_code


_STATUS_VI = {"issued": "đã cấp", "up_to_date": "không đổi", "refused": "từ chối"}


def cmd_issue(args: argparse.Namespace) -> int:
    """``socai issue``: sign and issue học bạ số for students, a class or the whole school."""
    from api.issuing import Progress, open_issuer
    from projections.views import open_views

    if not (args.student or args.cls or args.all):
        raise CLIError("name --student CODE, --class NAME or --all", EX_USAGE)
    if args.jobs < 1:
        raise CLIError("--jobs must be at least 1", EX_USAGE)
    settings = Settings.from_env(args.data)
    ledger, pki = open_ledger(settings)
    assert pki is not None
    try:
        with open_views(settings) as views:
            issuer = open_issuer(settings, ledger, pki, views)
            school_year = args.year or _current_school_year(ledger, pki)
            students = [_resolve_record(ledger, code) for code in args.student or []]
            if args.cls or args.all:
                for name in args.cls or [None]:
                    students += issuer.students_of(school_year, name)
            for student in students:
                if not ledger.exists(student):
                    raise CLIError(f"no student record {student}", EX_NOINPUT)
            progress = None if args.json or args.quiet else Progress()
            report = issuer.issue(list(dict.fromkeys(students)), jobs=args.jobs, progress=progress)
    finally:
        ledger.close()
    rows = [
        {
            "student_code": o.student_code,
            "status": o.status,
            "number": o.number,
            "sha256": o.sha256,
            "path": o.path,
            "supersedes": o.supersedes,
            "detail": o.detail,
        }
        for o in report.outcomes
    ]
    summary = {
        "issued": report.count("issued"),
        "up_to_date": report.count("up_to_date"),
        "refused": report.count("refused"),
        "recovered": report.recovered,
        "discarded": report.discarded,
        "seconds": round(report.seconds, 3),
        "transcripts": rows,
    }
    if args.json:
        _print_json(summary)
    else:
        print(
            f"Học bạ số: {summary['issued']} đã cấp, {summary['up_to_date']} không đổi, "
            f"{summary['refused']} từ chối, trong {report.seconds:.1f} s"
        )
        if report.recovered or report.discarded:
            print(
                f"  Lần chạy trước bị gián đoạn: {report.recovered} tệp đã ghi sổ được đưa vào "
                f"thư mục, {report.discarded} tệp chưa ghi sổ bị xoá"
            )
        for o in report.outcomes:
            if o.status == "refused":
                print(f"  {o.student_code}: {_STATUS_VI[o.status]}: {o.detail}")
            elif o.status == "issued" and args.verbose:
                print(f"  {o.student_code}: bản {o.number} → {o.path}")
    return EX_OK if summary["refused"] == 0 else EX_DATAERR


def _current_school_year(ledger: Ledger, pki: DemoPKI) -> str:
    """The latest opened school year of the school, looking back from this year's."""
    from ledger.domain import school_id, school_year_id

    today = datetime.now(UTC)
    start = today.year if today.month >= 8 else today.year - 1
    school = school_id(pki.school_code)
    for first in range(start, start - 15, -1):
        year = f"{first}-{first + 1}"
        if ledger.exists(school_year_id(school, year)):
            return year
    raise CLIError("no school year is opened; give --year", EX_USAGE)


def _person(ledger: Ledger, school_code: str, text: str) -> UUID:
    """The record of PERSON: a record UUID, a mã học sinh, or a staff code of this school."""
    try:
        record = UUID(text)
    except ValueError:
        found = [r for r in (student_id(text), staff_id(school_code, text)) if ledger.exists(r)]
        if not found:
            raise CLIError(
                f"no student (mã học sinh) or staff member of school {school_code} "
                f"with code {text!r}",
                EX_NOINPUT,
            ) from None
        if len(found) > 1:
            raise CLIError(
                f"{text!r} is both a student code and a staff code; give the record UUID "
                f"({found[0]} or {found[1]})",
                EX_USAGE,
            ) from None
        return found[0]
    if not ledger.exists(record):
        raise CLIError(f"no record {record}", EX_NOINPUT)
    return record


#: Identity fields that name a person; a shred reason containing one is refused.
_IDENTIFYING = frozenset(
    {
        "ho_va_ten",
        "so_dinh_danh_ca_nhan",
        "ngay_sinh",
        "ho_ten_cha",
        "ho_ten_me",
        "nguoi_giam_ho",
        "cho_o_hien_tai",
        "noi_thuong_tru",
        "dien_thoai",
        "email",
    }
)


def cmd_shred(args: argparse.Namespace) -> int:
    """Crypto-shred a person's identity as the principal (DESIGN.md invariant 8)."""
    import unicodedata

    from ledger.domain import StaffFile, StudentRecord

    settings = Settings.from_env(args.data)
    ledger, pki = open_ledger(settings)
    assert pki is not None
    try:
        config = _config(settings)
        school_code = config["school"]["code"]
        record = _person(ledger, school_code, args.person)
        person: object = ledger.load(record, object)
        if isinstance(person, StudentRecord):
            kind, label, code = "student", "học sinh", person.student_code
            erased = "họ tên, số định danh, cha mẹ, địa chỉ và các nhận xét đã mã hoá"
        elif isinstance(person, StaffFile):
            kind, label, code = "staff", "cán bộ", person.staff_code
            erased = "họ tên, số định danh, địa chỉ và điện thoại trong lý lịch"
        else:
            raise CLIError(
                f"record {record} is neither a student record nor a staff file; "
                "only those hold personal data",
                EX_DATAERR,
            )
        if person.shredded:
            if ledger.vault.is_shredded(record):
                raise CLIError(
                    f"the personal data of {kind} {code} ({record}) is already shredded; "
                    "nothing was written",
                    EX_CANTCREAT,
                )
            # The erasure was recorded but the key outlived it (a crash in between):
            # finish it, as the recorded event already says.
            ledger.vault.shred(record)
            finished = True
        else:
            reason = unicodedata.normalize("NFC", args.reason).casefold()
            identity = ledger.identity_of(record) or {}
            if any(
                key in _IDENTIFYING and unicodedata.normalize("NFC", v.strip()).casefold() in reason
                for key, v in identity.items()
                if v.strip()
            ):
                raise CLIError(
                    "--reason must not contain the person's personal data: the reason is "
                    "kept in the ledger in clear; nothing was written",
                    EX_DATAERR,
                )
            principal_code = next(
                (s["code"] for s in config["staff"] if s.get("title") == PRINCIPAL), None
            )
            if principal_code is None:
                raise CLIError(f"socai.json names no {PRINCIPAL}", EX_NOINPUT)
            ledger.shred(pki.signer_for(principal_code), record, args.reason)
            finished = False
        history = ledger.history(record)
    finally:
        ledger.close()
    removed = _remove_issued_copies(settings, code) if kind == "student" else 0
    erasure = next(e for e in reversed(history) if e["event"] == "PersonalDataShredded")
    if args.json:
        _print_json(
            {
                "record": str(record),
                "kind": kind,
                "code": code,
                "event": erasure["event"],
                "version": erasure["version"],
                "signed_by": erasure["signer_name"],
                "reason": erasure["fields"]["reason"],
                "key_destroyed": True,
                "issued_copies_removed": removed,
                "completed_earlier_erasure": finished,
            }
        )
        return EX_OK
    copies = (
        f"  Đã xoá {removed} bản học bạ số đã cấp lưu tại trường (sổ cái vẫn giữ mã băm của chúng)."
        if removed
        else None
    )
    if finished:
        print(
            f"Đã hoàn tất việc xoá dữ liệu cá nhân của {label} {code} (hồ sơ {record}), "
            f"đã ghi ở phiên bản {erasure['version']}: khoá định danh đã được huỷ."
        )
        if copies:
            print(copies)
        return EX_OK
    print(f"Đã xoá dữ liệu cá nhân của {label} {code} (hồ sơ {record}):")
    print(f"  khoá định danh đã bị huỷ: {erased} không thể giải mã được nữa.")
    print(
        f"  Sự kiện {erasure['event']} (phiên bản {erasure['version']}) "
        f"ký bởi {erasure['signer_name']}; lý do: {erasure['fields']['reason']}"
    )
    if copies:
        print(copies)
    print(
        "  Kết quả học tập và lịch sử hồ sơ được giữ nguyên; mọi mã băm, chữ ký và "
        "chứng minh vẫn kiểm tra được (socai audit)."
    )
    return EX_OK


def _remove_issued_copies(settings: Settings, student_code: str) -> int:
    """Delete the school's copies of a student's issued transcripts (they show the identity).

    The student keeps theirs; the ledger keeps each issue's SHA-256, so a copy presented
    later is still recognised. Pending files of an interrupted run go too.
    """
    from api.issuing import out_dir
    from projections.issuance import PENDING

    removed = 0
    for folder in (out_dir(settings), out_dir(settings) / PENDING):
        for path in sorted(folder.glob(f"{student_code}-*.pdf")):
            path.unlink()
            removed += 1
    return removed


def cmd_audit(args: argparse.Namespace) -> int:
    settings = Settings.from_env(args.data)
    ledger, _ = open_ledger(settings)
    record = _resolve_record(ledger, args.record) if args.record else None
    existence: list[tuple[int, datetime]] = []
    checkpoints = _trusted_checkpoints(settings, args.checkpoint or [], existence)
    report = audit(ledger, record, checkpoints=checkpoints, existence=existence, jobs=args.jobs)
    if args.report:
        from api.audit_cli import run_inspection, summary_line

        inspection, written = run_inspection(ledger, args, report=report)
        print(summary_line(inspection, written), file=sys.stderr if args.json else sys.stdout)
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


# -- certificates from outside: trust anchors, CSRs, PKCS#12 ------------------------------

#: Where ``socai pki import`` keeps identities from outside CAs: DATA/pki/imported/<code>/.
#: Not DATA/pki/staff/: DemoPKI.authority("school") records every certificate found there as
#: issued by the school CA and refuses one that is not, which would break CRL/OCSP serving
#: and revocation for the whole school.
IMPORTED_DIR = "imported"

_LEAF_YEARS = 3


def _require_data_dir(settings: Settings) -> None:
    if not (settings.data_dir / "socai.json").is_file():
        raise CLIError(
            f"{settings.data_dir} is not a Sổ Cái data directory; run 'socai init' first",
            EX_NOINPUT,
        )


def _certificates_only_pki(settings: Settings) -> DemoPKI:
    """The demo PKI's certificates, without the key passphrase (no key is decrypted)."""
    _require_data_dir(settings)
    return DemoPKI.load(settings.data_dir / "pki", b"")


def _load_pki(settings: Settings) -> DemoPKI:
    _require_data_dir(settings)
    return DemoPKI.load(
        settings.data_dir / "pki", resolve_passphrase(settings.data_dir, create=False)
    )


def _read_input(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise CLIError(f"{what} {path} does not exist", EX_NOINPUT) from None
    except OSError as e:
        raise CLIError(f"cannot read {what} {path}: {e.strerror}", EX_NOINPUT) from None


def _describe(cert: x509.Certificate) -> list[str]:
    return [
        f"  subject: {cert.subject.rfc4514_string()}",
        f"  issuer:  {cert.issuer.rfc4514_string()}",
        f"  valid:   {cert.not_valid_before_utc:%Y-%m-%d} to {cert.not_valid_after_utc:%Y-%m-%d}",
        f"  SHA-256: {fingerprint_text(cert)}",
    ]


def _basic_constraints(cert: x509.Certificate) -> x509.BasicConstraints | None:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return None
    except ValueError as e:
        raise InvalidInput(f"certificate extensions cannot be parsed: {e}") from None


def _self_signed(cert: x509.Certificate) -> bool:
    if cert.issuer != cert.subject:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(Encoding.DER)


def cmd_pki_trust_add(args: argparse.Namespace) -> int:
    settings = Settings.from_env(args.data)
    pki = _certificates_only_pki(settings)
    trust = load_trust(settings.data_dir, pki)  # refuses to add to a malformed file
    data = _read_input(args.file, "certificate file")
    if b"-----BEGIN" in data:
        certs = read_pem_certificates(data, args.file)
    else:
        try:
            certs = [x509.load_der_x509_certificate(data)]
        except ValueError as e:
            raise InvalidInput(f"{args.file}: not a PEM or DER certificate: {e}") from None
    if not certs:
        raise InvalidInput(f"{args.file}: no certificate found")
    kind = "intermediate" if args.intermediate else "trust anchor"
    now = datetime.now(UTC)
    known = {_der(c): "a trust anchor" for c in trust.roots}
    known.update({_der(c): "an intermediate" for c in trust.intermediates})
    seen: set[bytes] = set()
    warnings = []
    # Every certificate is checked before anything is written: the file is added whole or not.
    for n, cert in enumerate(certs, start=1):
        name = f"{args.file}: certificate {n} ({cert.subject.rfc4514_string()})"
        constraints = _basic_constraints(cert)
        if constraints is None or not constraints.ca:
            raise InvalidInput(f"{name} is not a CA certificate (BasicConstraints cA is not true)")
        if args.intermediate and _self_signed(cert):
            raise InvalidInput(
                f"{name} is self-signed: that is a trust anchor, not an intermediate"
            )
        if not args.intermediate and not _self_signed(cert):
            raise InvalidInput(
                f"{name} is not self-signed: a trust anchor is a root certificate "
                "(add CA certificates issued by a root with --intermediate)"
            )
        fp = _der(cert)
        if fp in known:
            raise AlreadyExists(f"{name} is already configured as {known[fp]}")
        if fp in seen:
            raise AlreadyExists(f"{name} appears twice in the file")
        seen.add(fp)
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            warnings.append(
                f"{name} is not valid now; it verifies only signatures made while it was"
            )
    target = trust_dir(settings.data_dir) / (
        INTERMEDIATES_FILE if args.intermediate else ANCHORS_FILE
    )
    append_certificates(target, certs)
    print(f"Đã thêm {len(certs)} chứng thư ({kind}) vào {target}:")
    for cert in certs:
        print("\n".join(_describe(cert)))
    for warning in warnings:
        print(f"socai: warning: {warning}", file=sys.stderr)
    print(
        "So sánh dấu vân tay SHA-256 với giá trị nhận qua kênh độc lập "
        "(compare the SHA-256 fingerprints out of band, docs/trust.md §1.1)."
    )
    return EX_OK


def cmd_pki_trust_list(args: argparse.Namespace) -> int:
    settings = Settings.from_env(args.data)
    trust = load_trust(settings.data_dir, _certificates_only_pki(settings))
    for title, certs in (("Trust anchors", trust.roots), ("Intermediates", trust.intermediates)):
        print(f"{title} ({len(certs)}):")
        for cert in certs:
            print("\n".join(_describe(cert)))
    return EX_OK


def _staff_certificate_dirs(pki: DemoPKI, code: str) -> list[Path]:
    """The directories that may hold staff member ``code``'s certificate."""
    pki.staff_cert_path(code)  # validates the code (it becomes a directory name)
    return [pki.directory / "staff" / code, pki.directory / IMPORTED_DIR / code]


def _refuse_taken(pki: DemoPKI, code: str) -> None:
    """Exit 73 if staff code ``code`` already has a certificate (issued or imported)."""
    for existing in _staff_certificate_dirs(pki, code):
        if existing.exists():
            raise CLIError(
                f"staff code {code} already has a certificate ({existing})", EX_CANTCREAT
            )


def _claim_staff_code(pki: DemoPKI, code: str, directory: Path) -> None:
    """Create ``directory`` for ``code``; exit 73 if the code already has a certificate."""
    _refuse_taken(pki, code)
    try:
        directory.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        directory.mkdir(mode=0o700)  # without exist_ok: a concurrent claim fails here
    except FileExistsError:
        raise CLIError(f"staff code {code} already has a certificate", EX_CANTCREAT) from None


def _add_years(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)


def _config(settings: Settings) -> dict[str, Any]:
    config: dict[str, Any] = json.loads((settings.data_dir / "socai.json").read_text("utf-8"))
    return config


def _staff_entry(settings: Settings, code: str) -> dict[str, Any]:
    return next((s for s in _config(settings).get("staff", []) if s.get("code") == code), {})


def _checked_csr_key(csr: x509.CertificateSigningRequest, source: str) -> PublicKeyTypes:
    """The CSR's public key, once its self-signature verifies; exit 65 otherwise."""
    try:
        signature_ok = csr.is_signature_valid
    except (ValueError, TypeError, UnsupportedAlgorithm):
        signature_ok = False
    if not signature_ok:
        raise CLIError(
            f"{source}: the CSR signature does not verify (no proof that the requester holds "
            "the private key); nothing was issued",
            EX_DATAERR,
        )
    try:
        return sig_algorithms.check_public_key(csr.public_key())
    except (ValueError, UnsupportedAlgorithm, SigningError) as e:
        raise CLIError(
            f"{source}: unusable public key: {e}; nothing was issued", EX_DATAERR
        ) from None


def cmd_pki_issue(args: argparse.Namespace) -> int:
    settings = Settings.from_env(args.data)
    pki = _load_pki(settings)
    code = args.staff_code
    _refuse_taken(pki, code)
    known = _staff_entry(settings, code)
    full_name = args.name or known.get("name")
    title = args.title or known.get("title") or "Giáo viên"
    if not full_name:
        raise CLIError(f"--name is required: staff code {code} is not in socai.json", EX_USAGE)
    school_key = load_private_key(
        pki.ca_key_path("school"), resolve_passphrase(settings.data_dir, create=False)
    )
    # Everything about the request is checked before anything is written.
    queued: x509.CertificateSigningRequest | None = None
    if args.csr is not None:
        source = args.csr
        try:
            csr = load_csr(_read_input(args.csr, "CSR file"))
        except SigningError as e:
            raise CLIError(f"{args.csr}: {e}; nothing was issued", EX_DATAERR) from None
    else:
        source = f"request {args.request}"
        with pki.authority("school") as authority:
            try:
                csr = queued = authority.take_request(args.request)
            except CertificateError as e:
                raise CLIError(str(e), EX_NOINPUT) from None
    try:
        public_key = _checked_csr_key(csr, source)
        start = datetime.now(UTC) - timedelta(days=1)
        # The subject comes from the CA's records (socai.json, --name, --title), never the CSR.
        cert = issue_person_certificate(
            public_key,
            full_name=full_name,
            title=title,
            staff_code=code,
            organisation=pki.school_name,
            province=pki.province or None,
            issuer_cert=pki.school,
            issuer_key=school_key,
            not_before=start,
            not_after=_add_years(start, _LEAF_YEARS),
            crl_url=pki.crl_url("school"),
            ocsp_url=pki.ocsp_url("school"),
        )
        staff_dir = pki.directory / "staff" / code
        _claim_staff_code(pki, code, staff_dir)
        try:
            with pki.authority("school") as authority:
                authority.record_issued(cert)
            path = staff_dir / "cert.pem"
            with path.open("xb") as f:
                f.write(cert.public_bytes(Encoding.PEM))
                f.flush()
                os.fsync(f.fileno())
        except BaseException:
            shutil.rmtree(staff_dir, ignore_errors=True)  # give the staff code back
            raise
    except BaseException:
        if queued is not None:  # not issued: the request goes back to the queue
            with pki.authority("school") as authority:
                authority.submit_request(queued.public_bytes(Encoding.DER), datetime.now(UTC))
        raise
    print(f"Đã cấp chứng thư cho {code} ({full_name}, {title}): {path}")
    print(f"  serial:  {cert.serial_number:X}")
    print(f"  SHA-256: {fingerprint_text(cert)}")
    print(f"  Đăng ký vào sổ cái: socai staff register {code}")
    return EX_OK


def cmd_pki_requests(args: argparse.Namespace) -> int:
    settings = Settings.from_env(args.data)
    pki = _load_pki(settings)
    with pki.authority("school") as authority:
        pending = authority.pending_requests()
    if args.json:
        _print_json([{"request": i, "subject": s, "received_at": r} for i, s, r in pending])
        return EX_OK
    print(f"Yêu cầu cấp chứng thư đang chờ: {len(pending)}")
    for request_id, subject, received_at in pending:
        print(f"  {request_id}  {received_at}  {subject}")
    if pending:
        print("  Cấp: socai pki issue STAFF_CODE --request ID [--name ...] [--title ...]")
    return EX_OK


def cmd_pki_import(args: argparse.Namespace) -> int:
    settings = Settings.from_env(args.data)
    pki = _load_pki(settings)
    code = args.staff_code
    _refuse_taken(pki, code)
    password: bytes | None = None
    if args.password_env:
        value = os.environ.get(args.password_env)
        if value is None:
            raise CLIError(f"environment variable {args.password_env} is not set", EX_USAGE)
        password = value.encode("utf-8")
    data = _read_input(args.file, "PKCS#12 file")
    key, cert, others = import_pkcs12(data, password)
    trust = load_trust(settings.data_dir, pki)
    try:
        # The file's own CA certificates may help build the path; only configured anchors end it.
        verify_certificate_path(
            cert, [*trust.intermediates, *others], trust.roots, datetime.now(UTC)
        )
    except CertificateNotValid as e:
        raise CLIError(
            f"{args.file}: the certificate of {cert.subject.rfc4514_string()} is not trusted "
            f"({e}); add its root with 'socai pki trust add' after checking its fingerprint. "
            "Nothing was imported",
            EX_DATAERR,
        ) from None
    passphrase = resolve_passphrase(settings.data_dir, create=False)
    # The file's CA certificates that the trust configuration lacks, roots left out (a root
    # becomes an anchor only by an operator's 'trust add' after an out-of-band check).
    configured = {_der(c) for c in [*trust.roots, *trust.intermediates]}
    missing = [c for c in others if not _self_signed(c) and _der(c) not in configured]
    target = pki.directory / IMPORTED_DIR / code
    _claim_staff_code(pki, code, target)
    try:
        save_private_key(target / "key.pem", key, passphrase)
        with (target / "cert.pem").open("xb") as f:
            f.write(cert.public_bytes(Encoding.PEM))
        if missing:
            with (target / "chain.pem").open("xb") as f:
                f.write(b"".join(c.public_bytes(Encoding.PEM) for c in missing))
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    print(f"Đã nhập chứng thư và khóa (mã hóa) cho {code}: {target}")
    print("\n".join(_describe(cert)))
    if missing:
        print(
            f"  CA trung gian chưa có trong cấu hình tin cậy: {target / 'chain.pem'} "
            f"(socai pki trust add --intermediate {target / 'chain.pem'})"
        )
    print(f"  Đăng ký vào sổ cái: socai staff register {code}")
    return EX_OK


def _staff_certificate(pki: DemoPKI, code: str) -> x509.Certificate:
    for directory in _staff_certificate_dirs(pki, code):
        if (directory / "cert.pem").is_file():
            return load_certificate(directory / "cert.pem")
    raise CLIError(f"no certificate for staff code {code}", EX_NOINPUT)


def cmd_staff_register(args: argparse.Namespace) -> int:
    settings = Settings.from_env(args.data)
    ledger, pki = open_ledger(settings)
    assert pki is not None
    try:
        code = args.staff_code
        cert = _staff_certificate(pki, code)
        config = _config(settings)
        principal_code = next(
            (s["code"] for s in config["staff"] if s.get("title") == PRINCIPAL), None
        )
        if principal_code is None:
            raise CLIError(f"socai.json names no {PRINCIPAL}", EX_NOINPUT)
        principal = pki.signer_for(principal_code)
        staff = staff_id(config["school"]["code"], code)
        opened = False
        if not ledger.exists(staff):
            titles = cert.subject.get_attributes_for_oid(NameOID.TITLE)
            title = args.title or _staff_entry(settings, code).get("title")
            if not title and titles and isinstance(titles[0].value, str):
                title = titles[0].value
            if not title:
                raise CLIError(f"--title is required to open the staff file of {code}", EX_USAGE)
            ledger.open_staff_file(principal, code, title)
            opened = True
        ledger.register_certificate(principal, staff, cert)
    finally:
        ledger.close()
    action = "Đã mở hồ sơ và đăng ký" if opened else "Đã đăng ký"
    print(f"{action} chứng thư của {code} ({fingerprint_text(cert)}), ký bởi {principal_code}.")
    return EX_OK


def cmd_log_checkpoint(args: argparse.Namespace) -> int:
    settings = Settings.from_env(args.data)
    ledger, _ = open_ledger(settings)
    cp, outcome = _checkpointer(settings, ledger).checkpoint()
    if args.json:
        _print_json(
            {
                "size": cp.size,
                "note": cp.note.decode(),
                "witnesses": outcome,
                "timestamp": cp.timestamp.hex() if cp.timestamp else None,
            }
        )
    else:
        sys.stdout.write(cp.note.decode("utf-8"))
        for name, result in outcome.items():
            print(f"# {name}: {result}", file=sys.stderr)
    return EX_OK


def cmd_log_vkey(args: argparse.Namespace) -> int:
    from api.logctl import config

    print(config(Settings.from_env(args.data).data_dir)["log"]["vkey"])
    return EX_OK


def cmd_log_prove(args: argparse.Namespace) -> int:
    settings = Settings.from_env(args.data)
    ledger, _ = open_ledger(settings)
    record = _resolve_record(ledger, args.record)
    rows = ledger.recorder.select_events(record, desc=True, limit=1)
    if not rows:
        raise CLIError(f"no record {args.record}", EX_NOINPUT)
    version = args.version or rows[0].originator_version
    checkpointer = _checkpointer(settings, ledger)
    cp, _ = checkpointer.checkpoint()
    _print_json(checkpointer.prove_record(record, version, cp))
    return EX_OK


def cmd_log_consistency(args: argparse.Namespace) -> int:
    import base64

    ledger, _ = open_ledger(Settings.from_env(args.data))
    log = ledger.transparency_log
    log.catch_up()
    try:
        proof = log.consistency_proof(args.old, args.new)
        roots = (log.root(args.old), log.root(args.new))
    except LedgerError as e:
        raise CLIError(str(e), EX_DATAERR) from None
    _print_json(
        {
            "old_size": args.old,
            "new_size": args.new,
            "old_root": base64.b64encode(roots[0]).decode(),
            "new_root": base64.b64encode(roots[1]).decode(),
            "consistency_proof": [base64.b64encode(h).decode() for h in proof],
        }
    )
    return EX_OK


def cmd_witness_init(args: argparse.Namespace) -> int:
    from api.witness import init_witness

    vkey = init_witness(args.directory, args.name, _witness_passphrase(args.directory))
    print(vkey)
    return EX_OK


def cmd_witness_add_log(args: argparse.Namespace) -> int:
    from api.witness import add_log

    add_log(args.directory, args.origin, args.vkey)
    print(f"Đã thêm sổ nhật ký {args.origin}.")
    return EX_OK


def cmd_witness_serve(args: argparse.Namespace) -> int:
    from api.witness import serve_witness

    serve_witness(args.directory, args.host, args.port, _witness_passphrase(args.directory))
    return EX_OK


def _witness_passphrase(directory: str) -> bytes:
    return resolve_passphrase(Path(directory), create=True)


def _nodelay_listener(uvicorn: Any) -> None:
    """Turn Nagle's algorithm off on the listening socket uvicorn binds for its workers.

    With several workers uvicorn binds the socket itself (``socket.socket(family)``, protocol
    0), and asyncio sets ``TCP_NODELAY`` only on sockets whose protocol is TCP: every response
    then waited for the client's delayed ACK (about 40 ms). Accepted sockets inherit the
    option from the listener.
    """
    import socket

    config = uvicorn.config.Config
    if getattr(config.bind_socket, "_socai_nodelay", False):
        return
    bind = config.bind_socket

    def bind_socket(self: Any) -> socket.socket:
        sock: socket.socket = bind(self)
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    bind_socket._socai_nodelay = True  # type: ignore[attr-defined]
    config.bind_socket = bind_socket


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the HTTP API and pages with uvicorn: one worker on SQLite, several on PostgreSQL.

    Each worker builds the app from the environment (:func:`api.app.app_from_env`), so the
    data directory goes to the workers as ``SOCAI_DATA``. SIGTERM (or Ctrl-C) stops taking
    connections, lets running requests finish (up to ``--graceful-seconds``) and closes the
    stores; with several workers the supervisor does that for each.
    """
    import uvicorn

    from api.obs import exit_cleanly_on_sigterm, log_config

    settings = Settings.from_env(args.data)
    if not (settings.data_dir / "socai.json").is_file():
        raise CLIError(f"{settings.data_dir} is not a Sổ Cái data directory", EX_NOINPUT)
    postgres = settings.backend == "postgresql"
    workers = args.workers if args.workers is not None else (2 if postgres else 1)
    if workers < 1:
        raise CLIError("--workers must be at least 1", EX_USAGE)
    if workers > 1 and not postgres:
        raise CLIError(
            "SQLite has one writer: serve it with one worker (--workers 1), or set "
            "SOCAI_DATABASE_URL=postgresql://… for several",
            EX_USAGE,
        )
    os.environ["SOCAI_DATA"] = str(settings.data_dir.resolve())
    _nodelay_listener(uvicorn)
    # A requested, completed stop exits 0 (uvicorn would end by the signal again).
    exit_cleanly_on_sigterm()
    uvicorn.run(
        "api.app:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=workers,
        log_config=log_config(args.log_format, args.log_level),
        log_level=args.log_level,
        # api.middleware writes the access lines (route templates, no personal data).
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=args.graceful_seconds,
    )
    return EX_OK


def cmd_province(args: argparse.Namespace) -> int:
    from bench.province import ProvinceError, Scale, generate, progress_bar

    settings = Settings.from_env(args.data)
    try:
        if args.events is not None:
            scale = Scale.for_events(args.events, years=args.years, seed=args.seed)
        else:
            scale = Scale(
                args.schools,
                classes_per_grade=args.classes_per_grade,
                class_size=args.class_size,
                years=args.years,
                seed=args.seed,
            )
        done = generate(
            settings,
            scale,
            until_events=args.until,
            workers=args.workers,
            progress=None if args.json or args.quiet else progress_bar(),
        )
    except ProvinceError as e:
        raise CLIError(str(e), EX_USAGE) from e
    if not (args.json or args.quiet):
        print(file=sys.stderr)
    summary = {
        "data": str(settings.data_dir),
        "backend": settings.backend,
        "scale": dataclasses.asdict(scale),
        "planned_events": scale.events,
        "events": done.events,
        "written": done.written,
        "seconds": round(done.seconds, 1),
        "events_per_s": round(done.rate),
        "units_done": done.units_done,
        "units": done.units,
        "resumed_from_unit": done.resumed_from,
        "rolled_back_events": done.rolled_back,
    }
    if args.json:
        _print_json(summary)
    else:
        print(
            f"Tỉnh mẫu trong {settings.data_dir} ({settings.backend}): {scale.schools} trường × "
            f"{scale.classes} lớp × {scale.class_size} học sinh × {scale.years} năm học"
        )
        print(
            f"  {done.written:,} sự kiện mới trong {done.seconds:.1f} s = "
            f"{done.rate:,.0f} sự kiện/s; sổ cái có {done.events:,} sự kiện; "
            f"{done.units_done}/{done.units} trường-năm xong"
        )
        if done.rolled_back:
            print(f"  lần chạy trước bị dừng: đã bỏ {done.rolled_back:,} sự kiện dở dang")
    return EX_OK


def _machine() -> dict[str, Any]:
    """What the benchmarks ran on, for the report."""
    import platform
    import sqlite3

    memory = 0
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            memory = int(f.readline().split()[1]) * 1024
    except OSError:
        pass
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            cpu = next(
                (ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu
            )
    except OSError:
        pass
    try:
        distro = platform.freedesktop_os_release().get("PRETTY_NAME", "")
    except OSError:
        distro = platform.system()
    load = [round(x, 2) for x in os.getloadavg()]
    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(memory / 2**30, 1),
        "os": distro,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "load_average": load,
    }
    info["summary"] = (
        f"{info['cpus']} vCPUs ({cpu}), {info['memory_gib']} GiB, {distro}, Python "
        f"{info['python']}, SQLite {info['sqlite']}; load average at the start "
        f"{load[0]}"
    )
    return info


def cmd_bench(args: argparse.Namespace) -> int:
    from bench.api import run_api_bench
    from bench.issue import run_issue_bench
    from bench.ledger import run_ledger_bench
    from bench.log import run_log_bench
    from bench.scale import run_scale_bench
    from bench.soak import run_soak
    from bench.trust import run_trust_bench
    from bench.verify import run_verify_bench
    from bench.views import run_views_bench

    runners = {
        "ledger": lambda: run_ledger_bench(quick=args.quick),
        "log": lambda: run_log_bench(quick=args.quick),
        "trust": lambda: run_trust_bench(quick=args.quick),
        "views": lambda: run_views_bench(quick=args.quick),
        "issue": lambda: run_issue_bench(quick=args.quick),
        "verify": lambda: run_verify_bench(quick=args.quick),
        "api": lambda: run_api_bench(quick=args.quick),
        "scale": lambda: run_scale_bench(
            quick=args.quick, keep=Path(args.keep) if args.keep else None
        ),
        "soak": lambda: run_soak(
            args.minutes,
            os.environ.get("SOCAI_DATABASE_URL", ""),
            Path(args.out) if args.out else None,
            args.quick,
        ),
    }
    # The soak runs for --minutes (30 by default): only when named.
    suites = args.suite or [name for name in runners if name != "soak"]
    unknown = [s for s in suites if s not in runners]
    if unknown:
        raise CLIError(
            f"unknown or not yet available suite(s): {', '.join(unknown)}; "
            f"available: {', '.join(runners)}",
            EX_USAGE,
        )
    machine = _machine()
    started = time.perf_counter()
    results: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    for name in suites:
        t = time.perf_counter()
        results[name] = runners[name]()
        seconds[name] = round(time.perf_counter() - t, 1)
    total = time.perf_counter() - started
    summary = "\n".join(
        ["| suite | seconds |", "|---|---:|"]
        + [f"| {name} | {s:,.1f} |" for name, s in seconds.items()]
        + [f"| **all** | **{total:,.1f}** |"]
    )
    header = (
        f"# socai bench{' --quick' if args.quick else ''}: {', '.join(suites)}\n\n"
        f"Machine: {machine['summary']}. Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; "
        f"{total / 60:,.1f} min in all.\n\n{summary}"
    )
    markdown = (
        header
        + "\n\n"
        + "\n\n".join(f"## {name}\n\n{r['markdown']}" for name, r in results.items())
    )
    results["_run"] = {"machine": machine, "seconds": seconds, "total_seconds": round(total, 1)}
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        if "scale" in results:
            from bench.plots import plot_scale

            pngs = plot_scale(results["scale"], out)
            markdown += "\n\n" + "\n".join(f"![{p.stem}]({p.name})" for p in pngs)
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
    from api.audit_cli import add_report_arguments

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

    s = sub.add_parser(
        "pki", help="the embedded PKI: trust anchors, issuing from CSRs, PKCS#12, revocation"
    )
    pki_sub = s.add_subparsers(dest="pki_command", required=True)
    r = pki_sub.add_parser("roots", help="print the trust anchors as PEM")
    r.set_defaults(func=cmd_pki_roots)
    r = pki_sub.add_parser("revoke", help="revoke a staff certificate (ledger event + CRL/OCSP)")
    r.add_argument("staff_code")
    r.add_argument("--reason", default="unspecified", help="RFC 5280 reason, e.g. keyCompromise")
    r.add_argument("--at", default=None, help="revocation time, ISO 8601 (default now)")
    r.set_defaults(func=cmd_pki_revoke)
    r = pki_sub.add_parser(
        "issue", help="issue a staff certificate from a PKCS#10 CSR (the key stays in its token)"
    )
    r.add_argument("staff_code")
    source = r.add_mutually_exclusive_group(required=True)
    source.add_argument("--csr", default=None, help="the request, a PEM or DER file")
    source.add_argument(
        "--request", default=None, metavar="ID", help="a request queued by POST /pki/csr"
    )
    r.add_argument("--name", default=None, help="full name (default: from socai.json)")
    r.add_argument("--title", default=None, help="title (default: socai.json, else Giáo viên)")
    r.set_defaults(func=cmd_pki_issue)
    r = pki_sub.add_parser("requests", help="certificate requests waiting for the operator")
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=cmd_pki_requests)
    r = pki_sub.add_parser(
        "import", help="import a key and certificate from an outside CA (PKCS#12)"
    )
    r.add_argument("staff_code")
    r.add_argument("file", help="the .p12/.pfx file")
    r.add_argument(
        "--password-env",
        default=None,
        metavar="VAR",
        help="environment variable holding the PKCS#12 password (never on the command line)",
    )
    r.set_defaults(func=cmd_pki_import)
    r = pki_sub.add_parser("trust", help="trust anchors and intermediates (DATA/trust/)")
    trust_sub = r.add_subparsers(dest="trust_command", required=True)
    t = trust_sub.add_parser("add", help="add root certificates (or --intermediate CAs)")
    t.add_argument("file", help="PEM (one or more certificates) or DER")
    t.add_argument("--intermediate", action="store_true", help="CA certificates, not anchors")
    t.set_defaults(func=cmd_pki_trust_add)
    t = trust_sub.add_parser("list", help="subjects and SHA-256 fingerprints of the trust")
    t.set_defaults(func=cmd_pki_trust_list)

    s = sub.add_parser("staff", help="staff files in the ledger")
    staff_sub = s.add_subparsers(dest="staff_command", required=True)
    r = staff_sub.add_parser(
        "register", help="register a staff certificate, signed by the principal"
    )
    r.add_argument("staff_code")
    r.add_argument("--title", default=None, help="title, when the staff file must be opened")
    r.set_defaults(func=cmd_staff_register)

    s = sub.add_parser("log", help="the transparency log: checkpoints and proofs")
    log_sub = s.add_subparsers(dest="log_command", required=True)
    r = log_sub.add_parser("checkpoint", help="sign a checkpoint, get it cosigned, print it")
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=cmd_log_checkpoint)
    r = log_sub.add_parser("vkey", help="print the log's verifier key (C2SP vkey)")
    r.set_defaults(func=cmd_log_vkey)
    r = log_sub.add_parser("prove", help="inclusion proof of a record's head in a checkpoint")
    r.add_argument("--record", required=True)
    r.add_argument("--version", type=int, default=None)
    r.set_defaults(func=cmd_log_prove)
    r = log_sub.add_parser("consistency", help="consistency proof between two tree sizes")
    r.add_argument("old", type=int)
    r.add_argument("new", type=int)
    r.set_defaults(func=cmd_log_consistency)

    s = sub.add_parser("witness", help="run a witness (C2SP tlog-witness) for other logs")
    w_sub = s.add_subparsers(dest="witness_command", required=True)
    r = w_sub.add_parser("init", help="create a witness directory and key; print its vkey")
    r.add_argument("directory")
    r.add_argument("--name", required=True)
    r.set_defaults(func=cmd_witness_init)
    r = w_sub.add_parser("add-log", help="trust a log: its origin and note vkey")
    r.add_argument("directory")
    r.add_argument("origin")
    r.add_argument("vkey")
    r.set_defaults(func=cmd_witness_add_log)
    r = w_sub.add_parser("serve", help="serve add-checkpoint over HTTP")
    r.add_argument("directory")
    r.add_argument("--host", default="127.0.0.1")
    r.add_argument("--port", type=int, default=8001)
    r.set_defaults(func=cmd_witness_serve)

    s = sub.add_parser("serve", help="serve the HTTP API, web pages, CRLs, OCSP and the TSA")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument(
        "--workers",
        type=int,
        default=None,
        help="worker processes (default 1 on SQLite, which allows no more; 2 on PostgreSQL)",
    )
    s.add_argument(
        "--log-format", choices=("json", "text"), default="json", help="log lines (default json)"
    )
    s.add_argument("--log-level", choices=("debug", "info", "warning", "error"), default="info")
    s.add_argument(
        "--graceful-seconds",
        type=int,
        default=20,
        help="on SIGTERM, how long running requests may take to finish (default 20)",
    )
    s.set_defaults(func=cmd_serve)

    s = sub.add_parser("demo", help="seed a demo school year (runs init when needed)")
    s.add_argument(
        "--students",
        type=int,
        default=60,
        help="students in the demo school's classes, 35 a class, at least 3 classes (default 60)",
    )
    s.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1, help="worker processes for issuing"
    )
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_demo)

    s = sub.add_parser("history", help="show a record's signed history")
    s.add_argument("record", help="record id (UUID) or mã học sinh")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_history)

    s = sub.add_parser(
        "shred",
        help="erase a person's personal data (destroy their identity key), as the principal",
        description="Crypto-shredding (DESIGN.md invariant 8): the person's identity key is "
        "destroyed and a signed PersonalDataShredded event is recorded. Names, số định danh, "
        "parents and remarks become unreadable; results and every signature stay.",
    )
    s.add_argument("person", help="mã học sinh, staff code (mã cán bộ) or record UUID")
    s.add_argument(
        "--reason",
        required=True,
        help="legal ground, e.g. a decision number; kept in clear: no personal data",
    )
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_shred)

    s = sub.add_parser("audit", help="re-verify every event; exit 0 only when all holds")
    s.add_argument("--record", default=None, help="audit one record (UUID or mã học sinh)")
    s.add_argument(
        "--checkpoint",
        action="append",
        help="a witnessed checkpoint (signed note) obtained independently, e.g. from a "
        "witness or an earlier audit; the log must be consistent with it (repeatable)",
    )
    s.add_argument("--json", action="store_true")
    s.add_argument(
        "--jobs",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="processes (2: the authority replay beside the per-event checks)",
    )
    add_report_arguments(s)
    s.set_defaults(func=cmd_audit)

    s = sub.add_parser("views", help="bring the read models up to date, or rebuild them")
    s.add_argument("action", choices=["update", "rebuild"])
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_views)

    s = sub.add_parser("transcript", help="a student's học bạ data from the transcript view")
    s.add_argument("student", help="mã học sinh or record UUID")
    s.add_argument("--year", default=None, help="one school year, e.g. 2025-2026")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_transcript)

    s = sub.add_parser(
        "issue", help="sign and issue học bạ số (PDF/A-3, PAdES B-LTA) into DATA/out"
    )
    s.add_argument("--student", action="append", help="mã học sinh or record UUID (repeatable)")
    s.add_argument("--class", dest="cls", action="append", help="a class, e.g. 6A1 (repeatable)")
    s.add_argument("--all", action="store_true", help="every class of the school year")
    s.add_argument("--year", default=None, help="school year of --class/--all (default: latest)")
    s.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.add_argument("--verbose", action="store_true", help="list every issued file")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_issue)

    s = sub.add_parser(
        "verify", help="verify an issued học bạ số: exit 0 passed, 1 failed, 2 indeterminate"
    )
    s.add_argument("file", help="the PDF file")
    s.add_argument("--json", action="store_true", help="the report as JSON")
    s.add_argument("--offline", action="store_true", help="no network (the default)")
    s.add_argument(
        "--online",
        action="store_true",
        help="also ask the issuer: is this the current issue, is its log consistent",
    )
    s.add_argument(
        "--issuer", default=None, help="the issuer's address (default: from the verify URL)"
    )
    s.add_argument("--trust", action="append", help="extra trust anchors, PEM (repeatable)")
    s.add_argument("--lang", choices=["vi", "en"], default="vi", help="language of the text")
    s.add_argument("--html", default=None, help="also write a printable HTML report here")
    s.set_defaults(func=cmd_verify)

    account_cli.add_parser(sub)
    sub.choices["account"].set_defaults(func=cmd_account)

    s = sub.add_parser(
        "province",
        help="generate a synthetic province (deterministic, signed, resumable) for benchmarks",
    )
    s.add_argument("--schools", type=int, default=4)
    s.add_argument("--classes-per-grade", type=int, default=4, help="classes per grade 6-9")
    s.add_argument("--class-size", type=int, default=40)
    s.add_argument("--years", type=int, default=3, help="school years from 2022-2023")
    s.add_argument("--seed", type=int, default=2025)
    s.add_argument(
        "--events", type=int, default=None, help="size the province for this many events instead"
    )
    s.add_argument(
        "--until", type=int, default=None, help="stop once the ledger holds this many events"
    )
    s.add_argument("--workers", type=int, default=None, help="default 1 on SQLite, 2 on PostgreSQL")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_province)

    s = sub.add_parser("bench", help="run benchmarks against same-run baselines")
    s.add_argument(
        "suite",
        nargs="*",
        help="suites to run (default: all of ledger, log, trust, views, issue, verify, api, "
        "scale; soak only by name)",
    )
    s.add_argument("--quick", action="store_true")
    s.add_argument(
        "--out",
        default=None,
        help="write bench-report.json, bench-report.md and the plots (PNG) here",
    )
    s.add_argument(
        "--keep", default=None, help="scale: keep the grown stores here (resumable), not in /tmp"
    )
    s.add_argument(
        "--minutes", type=float, default=30.0, help="soak: minutes of mixed load (default 30)"
    )
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_bench)
    return p


def cmd_account(args: argparse.Namespace) -> int:
    settings = Settings.from_env(args.data)
    if not (settings.data_dir / "socai.json").is_file():
        raise CLIError(f"{settings.data_dir} is not a Sổ Cái data directory", EX_USAGE)
    result = account_cli.run(args, settings)
    if getattr(args, "json", False):
        _print_json(result)
    elif isinstance(result, list):
        for row in result:
            print("  ".join(f"{k}={v}" for k, v in row.items()))
    else:
        for k, v in result.items():
            print(f"{k}: {v}")
    return EX_OK


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
    except (LedgerError, SigningError, ProjectionError) as e:
        print(f"socai: {type(e).__name__}: {e}", file=sys.stderr)
        return EX_DATAERR
    except OSError as e:
        print(f"socai: {e}", file=sys.stderr)
        return EX_IOERR


if __name__ == "__main__":
    sys.exit(main())
