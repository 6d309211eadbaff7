"""The witness over HTTP (c2sp.org/tlog-witness), and its directory on disk.

``POST /add-checkpoint`` takes a request body (:class:`signing.witness.AddCheckpointRequest`)
and answers 200 with the cosignature line(s), or 400, 403, 404, 409 (body: the latest
cosigned size and a newline, ``Content-Type: text/x.tlog.size`` exactly, with no charset
parameter, which strict clients refuse), 413 or 422; ``GET /<origin hash>/checkpoint`` serves
the latest cosigned checkpoint of a log (the monitoring API; 404 if none). There is no other
authentication: the protocol trusts only the log's signature on the checkpoint.

A witness directory holds:

``witness-key.pem``
    the cosigning Ed25519 key, encrypted PKCS#8 (:func:`signing.keys.save_private_key`);
``witness.json``
    ``{"version": 1, "name": <key name>, "vkey": <type-0x04 vkey>}``;
``logs.json``
    ``{"version": 1, "logs": [{"origin": <origin>, "vkeys": [<type-0x01 vkey>, ...]}]}``,
    the logs the witness cosigns for and the note keys it trusts for each (read at start);
``witness.db``
    the SQLite state (:class:`signing.witness.WitnessStore`).

:func:`init_witness`, :func:`add_log` and :func:`serve_witness` are what a ``socai witness``
command runs.
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI, Request, Response
from starlette.concurrency import run_in_threadpool

from api import errors
from api.http import read_body
from signing.checkpoint import CosignatureSigner
from signing.errors import MalformedNoteKey, OldSizeConflict, SigningError
from signing.keys import load_private_key, save_private_key
from signing.note import NoteVerifier, Verifier, is_valid_key_name
from signing.witness import Witness, WitnessStore, http_status

__all__ = [
    "DB_FILE",
    "DEFAULT_BODY_LIMIT",
    "KEY_FILE",
    "LOGS_FILE",
    "SIZE_MEDIA_TYPE",
    "WITNESS_FILE",
    "WitnessConfigError",
    "add_log",
    "create_witness_app",
    "init_witness",
    "load_logs",
    "load_witness_signer",
    "serve_witness",
]

KEY_FILE = "witness-key.pem"
WITNESS_FILE = "witness.json"
LOGS_FILE = "logs.json"
DB_FILE = "witness.db"

SIZE_MEDIA_TYPE = "text/x.tlog.size"
"""Content type of a 409 answer (c2sp.org/tlog-witness "add-checkpoint")."""

TEXT_MEDIA_TYPE = "text/plain; charset=utf-8"

DEFAULT_BODY_LIMIT = 1 << 20
"""Largest add-checkpoint body accepted (413 above): 63 proof lines and a note of up to 100
signatures, post-quantum ones included, stay well below 1 MiB."""


class WitnessConfigError(Exception):
    """The witness directory is missing, incomplete, already initialised or damaged."""


# --------------------------------------------------------------------------- HTTP


def _plain(status: int, message: str) -> Response:
    return Response(message.rstrip("\n") + "\n", status_code=status, media_type=TEXT_MEDIA_TYPE)


def create_witness_app(
    store_path: Path | str,
    witness_signer: CosignatureSigner,
    known_logs: Mapping[str, Sequence[Verifier]],
    *,
    body_limit: int = DEFAULT_BODY_LIMIT,
) -> FastAPI:
    """Build the witness app: its state in the SQLite file ``store_path``, cosigning with
    ``witness_signer`` for the logs in ``known_logs`` (origin to trusted note keys)."""
    store = WitnessStore(store_path)
    witness = Witness(witness_signer, known_logs, store)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            store.close()

    app = FastAPI(
        title="Sổ Cái witness",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.witness = witness
    errors.install(app)  # 413 for oversized bodies, 400 for a bad Content-Length.

    async def refused(_: Request, exc: Exception) -> Response:
        status = http_status(exc)
        if isinstance(exc, OldSizeConflict):
            # Set the header by hand: Starlette would append "; charset=utf-8" to a text/*
            # media type, and the spec names the bare type.
            return Response(
                f"{exc.latest_size}\n".encode("ascii"),
                status_code=409,
                headers={"content-type": SIZE_MEDIA_TYPE},
            )
        if status >= 500:  # No internals in the answer.
            return _plain(status, "witness unavailable" if status == 503 else "internal error")
        return _plain(status, str(exc))

    # Every signing error raised by the witness gets its protocol status (signing.witness
    # HTTP_STATUS); this handler is more specific than the JSON one errors.install adds.
    app.add_exception_handler(SigningError, refused)

    @app.post("/add-checkpoint", response_class=Response)
    async def add_checkpoint(request: Request) -> Response:
        """Cosign a checkpoint that extends the latest one (c2sp.org/tlog-witness)."""
        body = await read_body(request, body_limit)
        # SQLite commits with fsync: keep it off the event loop.
        lines = await run_in_threadpool(witness.add_checkpoint, body)
        return Response(lines, status_code=200, media_type=TEXT_MEDIA_TYPE)

    @app.get("/{hashed_origin}/checkpoint", response_class=Response)
    async def checkpoint(hashed_origin: str) -> Response:
        """The latest checkpoint cosigned for the log (c2sp.org/tlog-witness monitoring)."""
        note = await run_in_threadpool(witness.checkpoint_for, hashed_origin)
        return Response(note, status_code=200, media_type=TEXT_MEDIA_TYPE)

    return app


# --------------------------------------------------------------------------- the directory


def _write_json_atomically(path: Path, data: Any, *, exclusive: bool = False) -> None:
    """Write ``data`` as JSON to ``path`` via a temporary file, fsync and rename.

    With ``exclusive``, an existing file raises :class:`FileExistsError`; other I/O errors
    raise :class:`WitnessConfigError`.
    """
    text = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            if exclusive:
                _link_new(Path(tmp), path)
            else:
                os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except FileExistsError:
        raise
    except OSError as e:
        raise WitnessConfigError(f"cannot write {path}: {e.strerror or e}") from None


def _link_new(tmp: Path, path: Path) -> None:
    """Give ``tmp`` the name ``path``, failing if ``path`` exists."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise
    except OSError as e:
        if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
            raise
        # No hard links on this filesystem: check, then rename (the directory is the
        # operator's, with no concurrent initialiser to race).
        if path.exists():
            raise FileExistsError(errno.EEXIST, "file exists", str(path)) from None
        os.replace(tmp, path)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise WitnessConfigError(f"{path} is missing: run init_witness first") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise WitnessConfigError(f"cannot read {path}: {e}") from None


def init_witness(directory: Path | str, name: str, passphrase: bytes) -> str:
    """Create a witness directory: a new cosigning key for ``name``, an empty log list.

    Returns the witness's vkey (type 0x04), which the logs and their clients configure.
    Refuses to touch a directory that already has a witness (:class:`WitnessConfigError`);
    the key is written encrypted under ``passphrase``
    (:class:`signing.errors.KeyUnusable` for an empty one).
    """
    directory = Path(directory)
    if not is_valid_key_name(name):
        raise WitnessConfigError(f"invalid witness name {name!r}: no spaces, no '+'")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise WitnessConfigError(f"cannot create {directory}: {e.strerror or e}") from None
    for existing in (KEY_FILE, WITNESS_FILE, LOGS_FILE):
        if (directory / existing).exists():
            raise WitnessConfigError(f"{directory / existing} exists: refusing to overwrite")
    signer = CosignatureSigner(name, Ed25519PrivateKey.generate())
    save_private_key(directory / KEY_FILE, signer.private_key, passphrase)
    try:
        _write_json_atomically(
            directory / WITNESS_FILE,
            {"version": 1, "name": name, "vkey": signer.vkey},
            exclusive=True,
        )
        _write_json_atomically(directory / LOGS_FILE, {"version": 1, "logs": []}, exclusive=True)
    except FileExistsError:
        raise WitnessConfigError(f"{directory} was initialised concurrently") from None
    return signer.vkey


def load_witness_signer(directory: Path | str, passphrase: bytes) -> CosignatureSigner:
    """Load the cosigning key of a witness directory and check it against ``witness.json``."""
    directory = Path(directory)
    info = _read_json(directory / WITNESS_FILE)
    if not isinstance(info, dict) or info.get("version") != 1:
        raise WitnessConfigError(f"{directory / WITNESS_FILE}: unknown format")
    key = load_private_key(directory / KEY_FILE, passphrase)
    if not isinstance(key, Ed25519PrivateKey):
        raise WitnessConfigError(f"{directory / KEY_FILE} is not an Ed25519 key")
    try:
        signer = CosignatureSigner(str(info.get("name")), key)
    except MalformedNoteKey as e:
        raise WitnessConfigError(f"{directory / WITNESS_FILE}: {e}") from None
    if signer.vkey != info.get("vkey"):
        raise WitnessConfigError(f"{directory / KEY_FILE} does not match the vkey on record")
    return signer


def _read_logs(directory: Path) -> list[dict[str, Any]]:
    data = _read_json(directory / LOGS_FILE)
    if not isinstance(data, dict) or data.get("version") != 1:
        raise WitnessConfigError(f"{directory / LOGS_FILE}: unknown format")
    logs = data.get("logs")
    if not isinstance(logs, list):
        raise WitnessConfigError(f"{directory / LOGS_FILE}: 'logs' is not a list")
    for entry in logs:
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("origin"), str)
            or not isinstance(entry.get("vkeys"), list)
        ):
            raise WitnessConfigError(f"{directory / LOGS_FILE}: bad entry {entry!r}")
    return logs


def load_logs(directory: Path | str) -> dict[str, list[NoteVerifier]]:
    """Read ``logs.json``: origin to the note keys trusted for it."""
    directory = Path(directory)
    result: dict[str, list[NoteVerifier]] = {}
    for entry in _read_logs(directory):
        try:
            keys = [NoteVerifier.from_vkey(v) for v in entry["vkeys"]]
        except MalformedNoteKey as e:
            raise WitnessConfigError(f"{directory / LOGS_FILE}: {entry['origin']}: {e}") from None
        result.setdefault(entry["origin"], []).extend(keys)
    return result


def add_log(directory: Path | str, origin: str, vkey: str) -> None:
    """Trust the Ed25519 note key ``vkey`` (type 0x01) for the log ``origin``.

    A second key for an origin is added beside the first (key rotation). The running server
    reads the list at start. Raises :class:`WitnessConfigError`.
    """
    directory = Path(directory)
    if not isinstance(origin, str) or not origin or any(ord(c) < 0x20 for c in origin):
        raise WitnessConfigError("an origin is one non-empty line of text")
    try:
        NoteVerifier.from_vkey(vkey)
    except MalformedNoteKey as e:
        raise WitnessConfigError(f"not a log key (Ed25519 note vkey): {e}") from None
    logs = _read_logs(directory)
    for entry in logs:
        if entry["origin"] == origin:
            if vkey not in entry["vkeys"]:
                entry["vkeys"].append(vkey)
            break
    else:
        logs.append({"origin": origin, "vkeys": [vkey]})
    _write_json_atomically(directory / LOGS_FILE, {"version": 1, "logs": logs})


def serve_witness(directory: Path | str, host: str, port: int, passphrase: bytes) -> None:
    """Run the witness of ``directory`` with uvicorn on ``host:port`` until stopped."""
    import uvicorn

    directory = Path(directory)
    signer = load_witness_signer(directory, passphrase)
    logs = load_logs(directory)
    app = create_witness_app(directory / DB_FILE, signer, logs)
    uvicorn.run(app, host=host, port=port, log_level="warning")
