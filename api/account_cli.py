"""``socai account ...``: accounts of the web pages and the HTTP API, and the demo's accounts.

A staff account takes the member's key from the data directory's PKI (``pki/staff/CODE``,
or ``pki/partners/SCHOOL/staff/CODE`` for another school of the demo) and seals it under
the account's password (:mod:`api.accounts`): from then on the server can sign for that
person only while they are logged in.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import secrets
import sys
from pathlib import Path
from typing import Any
from uuid import UUID

from cryptography.x509.oid import NameOID

from api.accounts import Account, AccountStore, open_accounts
from ledger.application import Settings
from ledger.domain import school_id, staff_id
from ledger.errors import InvalidInput
from signing.keys import load_private_key, resolve_passphrase, write_private_file
from signing.pki import DemoPKI

#: Demo accounts: user name -> (school code or None for home, staff code) or inspector schools.
DEMO_STAFF_ACCOUNTS = {
    "ht001": (None, "HT001"),
    "pht001": (None, "PHT001"),
    "cb001": (None, "CB001"),
    "gv001": (None, "GV001"),
    "gv002": (None, "GV002"),
    "gv003": (None, "GV003"),
    "ht201": ("partner", "HT201"),
    "gv201": ("partner", "GV201"),
}
DEMO_PASSWORD_ENV = "SOCAI_DEMO_PASSWORD"  # noqa: S105 - the name of a variable


def _pki_of(data_dir: Path, school_code: str | None) -> tuple[DemoPKI, str]:
    """The PKI directory holding ``school_code``'s staff keys, and the school's code."""
    passphrase = resolve_passphrase(data_dir, create=False)
    home = DemoPKI.load(data_dir / "pki", passphrase)
    if school_code is None or school_code == home.school_code:
        return home, home.school_code
    directory = data_dir / "pki" / "partners" / school_code
    if not directory.is_dir():
        raise InvalidInput(f"no PKI for school {school_code} under {data_dir / 'pki'}")
    return DemoPKI.load(directory, passphrase), school_code


def add_staff_account(
    store: AccountStore,
    data_dir: Path,
    username: str,
    password: str,
    staff_code: str,
    school_code: str | None = None,
) -> Account:
    pki, code = _pki_of(data_dir, school_code)
    if staff_code not in pki.staff:
        raise InvalidInput(f"no certificate for staff code {staff_code} of school {code}")
    cert = pki.staff[staff_code]
    key = load_private_key(pki.staff_key_path(staff_code), pki.passphrase)
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return store.add(
        username,
        password,
        kind="staff",
        display_name=str(names[0].value) if names else staff_code,
        staff=staff_id(code, staff_code),
        key=key,
        certificate=cert,
    )


def add_inspector_account(
    store: AccountStore, username: str, password: str, school_codes: list[str], name: str
) -> Account:
    if not school_codes:
        raise InvalidInput("an inspector account names at least one school (--school CODE)")
    return store.add(
        username,
        password,
        kind="inspector",
        display_name=name,
        schools=[school_id(c) for c in school_codes],
    )


def demo_password(data_dir: Path) -> str:
    """``$SOCAI_DEMO_PASSWORD``, else a new random one kept in ``secrets/demo-password``."""
    given = os.environ.get(DEMO_PASSWORD_ENV, "")
    if given:
        return given
    path = data_dir / "secrets" / "demo-password"
    if path.is_file():
        return path.read_text("utf-8").strip()
    password = secrets.token_urlsafe(12)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_private_file(path, password.encode("ascii"))
    return password


def demo_accounts(settings: Settings, partner_code: str | None) -> dict[str, Any]:
    """Accounts for the demo's staff and two inspectors, all with the demo password."""
    data_dir = Path(settings.data_dir)
    password = demo_password(data_dir)
    home = json.loads((data_dir / "socai.json").read_text("utf-8"))["school"]["code"]
    store = open_accounts(settings)
    made = []
    try:
        for username, (school, code) in DEMO_STAFF_ACCOUNTS.items():
            if store.find(username) is not None:
                continue
            if school == "partner":
                if partner_code is None:
                    continue
                school = partner_code
            add_staff_account(store, data_dir, username, password, code, school)
            made.append(username)
        inspectors = {"thanhtra": [home]}
        if partner_code is not None:
            inspectors["thanhtra201"] = [partner_code]
        for username, codes in inspectors.items():
            if store.find(username) is None:
                add_inspector_account(store, username, password, codes, "Thanh tra Sở (demo)")
                made.append(username)
    finally:
        store.close()
    where = (
        f"${DEMO_PASSWORD_ENV}"
        if os.environ.get(DEMO_PASSWORD_ENV)
        else str(data_dir / "secrets" / "demo-password")
    )
    return {"accounts": made, "password_in": where}


# -- the command -------------------------------------------------------------------------------


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Mật khẩu mới: ")
    if getpass.getpass("Nhập lại: ") != first:
        raise InvalidInput("the two passwords differ")
    return first


def _row(a: Account) -> dict[str, Any]:
    return {
        "username": a.username,
        "kind": a.kind,
        "name": a.display_name,
        "staff": str(a.staff) if a.staff else None,
        "schools": [str(s) for s in a.schools],
        "totp": a.totp,
        "disabled": a.disabled,
        "signs": a.has_key,
    }


def run(args: argparse.Namespace, settings: Settings) -> dict[str, Any] | list[Any]:
    """Carry out ``socai account <action>``; return what to print."""
    store = open_accounts(settings)
    try:
        action = args.account_action
        if action == "add":
            password = _read_password(args)
            if args.inspector:
                account = add_inspector_account(
                    store, args.username, password, args.school or [], args.name or args.username
                )
            else:
                if not args.staff:
                    raise InvalidInput("give --staff CODE (or --inspector --school CODE)")
                school = args.school[0] if args.school else None
                account = add_staff_account(
                    store, Path(settings.data_dir), args.username, password, args.staff, school
                )
            return _row(account)
        if action == "list":
            return [_row(a) for a in store.all()]
        if action in ("disable", "enable"):
            store.set_disabled(args.username, action == "disable")
            return {"username": args.username, "disabled": action == "disable"}
        if action == "totp":
            return {"username": args.username, "otpauth": store.enrol_totp(args.username)}
        if action == "reads":
            record = UUID(args.record) if args.record else None
            return store.reads(object=record, limit=args.limit)
        raise InvalidInput(f"unknown action {action}")
    finally:
        store.close()


def add_parser(sub: Any) -> None:
    p = sub.add_parser("account", help="accounts of the web pages and the HTTP API")
    a = p.add_subparsers(dest="account_action", required=True)
    add = a.add_parser("add", help="create an account (password asked twice, or --password-stdin)")
    add.add_argument("username")
    add.add_argument("--staff", metavar="CODE", help="staff code (the key is taken from the PKI)")
    add.add_argument("--inspector", action="store_true", help="a read-only inspector account")
    add.add_argument(
        "--school", metavar="CODE", action="append", help="school code (repeat for inspectors)"
    )
    add.add_argument("--name", help="display name of an inspector")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.add_argument("--json", action="store_true")
    lst = a.add_parser("list", help="list the accounts")
    lst.add_argument("--json", action="store_true")
    for name, text in (
        ("disable", "disable an account (its sessions end)"),
        ("enable", "enable an account again"),
        ("totp", "enrol TOTP (prints the otpauth:// address once)"),
    ):
        x = a.add_parser(name, help=text)
        x.add_argument("username")
        x.add_argument("--json", action="store_true")
    reads = a.add_parser("reads", help="the read log (who read which record)")
    reads.add_argument("--record", metavar="ID")
    reads.add_argument("--limit", type=int, default=100)
    reads.add_argument("--json", action="store_true")
