"""The data directory's transparency log: its note key, checkpoint store and witnesses.

``socai init`` creates the log's Ed25519 note key (encrypted at rest) and a local witness
(``DATA/witness``), registered as the log's one witness with a quorum of one. Independent
witnesses (run by the Sở or the Bộ with ``socai witness serve``) are added to ``socai.json``
under ``witnesses`` with their vkey and add-checkpoint URL, and ``witness_quorum`` raised.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from api import witness as witness_files
from ledger.application import Ledger
from ledger.checkpoints import Checkpointer, CheckpointStore, HttpWitness, WitnessClient
from signing.checkpoint import CosignatureVerifier
from signing.keys import load_private_key, save_private_key
from signing.note import NoteSigner
from signing.witness import Witness, WitnessStore, http_status

LOCAL = "local"


def log_dir(data: Path) -> Path:
    return data / "log"


def origin_for(public_url: str, school_code: str) -> str:
    """A schema-less URL naming this log (C2SP tlog-checkpoint origin)."""
    host = urlsplit(public_url).netloc or "socai.invalid"
    return f"{host}/socai/{school_code}"


def create_log(data: Path, origin: str, passphrase: bytes) -> dict[str, Any]:
    """Create the log's note key and a local witness that knows it; return socai.json parts."""
    key = Ed25519PrivateKey.generate()
    signer = NoteSigner(origin, key)
    directory = log_dir(data)
    directory.mkdir(mode=0o700, parents=True)
    save_private_key(directory / "log-key.pem", key, passphrase)
    witness_vkey = witness_files.init_witness(data / "witness", "socai-local-witness", passphrase)
    witness_files.add_log(data / "witness", origin, signer.vkey)
    return {
        "log": {"origin": origin, "vkey": signer.vkey},
        "witnesses": [{"name": "socai-local-witness", "vkey": witness_vkey, "url": LOCAL}],
        "witness_quorum": 1,
    }


@dataclass
class LocalWitness:
    """The data directory's own witness, called in-process (same protocol, no HTTP)."""

    name: str
    verifier: CosignatureVerifier
    witness: Witness

    def add_checkpoint(self, body: bytes) -> tuple[int, bytes]:
        try:
            return 200, self.witness.add_checkpoint(body)
        except Exception as e:
            status = http_status(e)
            latest = getattr(e, "latest_size", None)
            return status, (f"{latest}\n" if latest is not None else str(e)).encode()


def config(data: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((data / "socai.json").read_text("utf-8"))
    return loaded


def open_checkpointer(data: Path, ledger: Ledger, passphrase: bytes) -> Checkpointer:
    """The log's checkpointer with its witnesses and the embedded TSA (when present)."""
    conf = config(data)
    key = load_private_key(log_dir(data) / "log-key.pem", passphrase)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the log key is not an Ed25519 key")
    signer = NoteSigner(conf["log"]["origin"], key)
    witnesses: list[WitnessClient] = []
    for w in conf.get("witnesses", []):
        verifier = CosignatureVerifier.from_vkey(w["vkey"])
        if w["url"] == LOCAL:
            directory = data / "witness"
            witnesses.append(
                LocalWitness(
                    w["name"],
                    verifier,
                    Witness(
                        witness_files.load_witness_signer(directory, passphrase),
                        witness_files.load_logs(directory),
                        WitnessStore(directory / "witness.db"),
                    ),
                )
            )
        else:
            witnesses.append(HttpWitness(w["name"], verifier, w["url"]))
    timestamp = None
    tsa_dir = data / "pki" / "tsa"
    if (tsa_dir / "cert.pem").is_file():
        from signing.tsa import load_demo_tsa

        timestamp = load_demo_tsa(tsa_dir, passphrase).timestamp
    return Checkpointer(
        ledger.transparency_log,
        signer,
        CheckpointStore(log_dir(data) / "checkpoints.sqlite"),
        witnesses,
        timestamp=timestamp,
    )


def witness_verifiers(data: Path) -> tuple[list[CosignatureVerifier], int]:
    conf = config(data)
    return (
        [CosignatureVerifier.from_vkey(w["vkey"]) for w in conf.get("witnesses", [])],
        int(conf.get("witness_quorum", 1)),
    )


def known_witnesses(data: Path) -> Sequence[str]:
    return [w["name"] for w in config(data).get("witnesses", [])]
