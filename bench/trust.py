"""``socai bench trust``: the embedded trust services and PKCS#11 signing.

Each figure is paired with a baseline measured in the same run:

- OCSP responses/s and time-stamps/s over HTTP on loopback (a real ``socai
  serve`` process, one keep-alive client, then 4 concurrent clients), against
  the same operation called in-process (the HTTP and server overhead);
- signatures/s through a PKCS#11 token (SoftHSM2) against a software key of
  the same type.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp

from bench.serve import free_port, serving
from ledger.application import Settings
from signing import algorithms
from signing.keys import generate_private_key, resolve_passphrase
from signing.pki import DemoPKI
from signing.tsa import load_demo_tsa, request_for


def _rate(fn: Callable[[], object], n: int) -> float:
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return n / (time.perf_counter() - t)


def _concurrent_rate(make: Callable[[], Callable[[], object]], n: int, threads: int) -> float:
    per = n // threads
    calls = [make() for _ in range(threads)]
    start = threading.Barrier(threads + 1)

    def run(call: Callable[[], object]) -> None:
        start.wait()
        for _ in range(per):
            call()

    workers = [threading.Thread(target=run, args=(c,)) for c in calls]
    for w in workers:
        w.start()
    start.wait()
    t = time.perf_counter()
    for w in workers:
        w.join()
    return per * threads / (time.perf_counter() - t)


def _median(fn: Callable[[], float], rounds: int) -> float:
    return statistics.median(fn() for _ in range(rounds))


def run_trust_bench(*, quick: bool = False) -> dict[str, Any]:
    """Measure the trust services; return figures and a Markdown table."""
    from api.demo import initialise

    n = 300 if quick else 1500
    rounds = 3
    started = time.perf_counter()
    out: dict[str, Any] = {"suite": "trust", "quick": quick}
    with tempfile.TemporaryDirectory(prefix="socai-bench-trust-") as d:
        data = Path(d) / "data"
        port = free_port()
        os.environ.setdefault("SOCAI_KEY_PASSPHRASE", "socai bench passphrase")
        os.environ.pop("SOCAI_DATABASE_URL", None)
        initialise(Settings(data), public_url=f"http://127.0.0.1:{port}")
        passphrase = resolve_passphrase(data, create=False)
        pki = DemoPKI.load(data / "pki", passphrase)
        leaf = pki.staff["HT001"]
        # SHA-1 CertID: what OpenSSL and most clients send (RFC 6960 §4.1.1).
        ocsp_req = (
            ocsp.OCSPRequestBuilder()
            .add_certificate(leaf, pki.school, hashes.SHA1())  # noqa: S303
            .build()
            .public_bytes(Encoding.DER)
        )
        tsa_req, _ = request_for(b"socai bench document", nonce=False)
        ca = pki.authority("school")
        tsa = load_demo_tsa(data / "pki" / "tsa", passphrase, [pki.so])
        in_ocsp = _median(
            lambda: _rate(lambda: ca.ocsp_respond(ocsp_req, datetime.now(UTC)), n), rounds
        )
        in_tsa = _median(lambda: _rate(lambda: tsa.respond(tsa_req), n), rounds)
        with serving(
            data, port, {"SOCAI_KEY_PASSPHRASE": os.environ["SOCAI_KEY_PASSPHRASE"]}
        ) as base:

            def client(path: str, body: bytes, ctype: str) -> Callable[[], None]:
                http = httpx.Client(timeout=30)

                def call() -> None:
                    r = http.post(f"{base}{path}", content=body, headers={"content-type": ctype})
                    if r.status_code != 200:
                        raise RuntimeError(f"{path}: HTTP {r.status_code}")

                return call

            ocsp_call = client("/pki/ocsp/school", ocsp_req, "application/ocsp-request")
            tsa_call = client("/tsa", tsa_req, "application/timestamp-query")
            http_ocsp = _median(lambda: _rate(ocsp_call, n), rounds)
            http_tsa = _median(lambda: _rate(tsa_call, n), rounds)
            conc_ocsp = _median(
                lambda: _concurrent_rate(
                    lambda: client("/pki/ocsp/school", ocsp_req, "application/ocsp-request"), n, 4
                ),
                rounds,
            )
            conc_tsa = _median(
                lambda: _concurrent_rate(
                    lambda: client("/tsa", tsa_req, "application/timestamp-query"), n, 4
                ),
                rounds,
            )
        ca.close()
        out["services"] = {
            "ocsp": {
                "in_process_per_s": round(in_ocsp),
                "http_per_s": round(http_ocsp),
                "http_4_clients_per_s": round(conc_ocsp),
                "http_to_in_process": round(http_ocsp / in_ocsp, 3),
            },
            "tsa": {
                "in_process_per_s": round(in_tsa),
                "http_per_s": round(http_tsa),
                "http_4_clients_per_s": round(conc_tsa),
                "http_to_in_process": round(http_tsa / in_tsa, 3),
            },
        }
        out["pkcs11"] = _pkcs11_rates(Path(d), pki, passphrase, n, rounds)
    out["seconds"] = round(time.perf_counter() - started, 1)
    out["markdown"] = _markdown(out)
    return out


def _pkcs11_rates(
    tmp: Path, pki: DemoPKI, passphrase: bytes, n: int, rounds: int
) -> dict[str, Any]:
    from signing import softhsm
    from signing.errors import KeyUnusable
    from signing.pkcs11 import Pkcs11Token

    try:
        token_info = softhsm.create_token(
            tmp / "softhsm", label="socai-bench", pin="bench-pin", so_pin="bench-so-pin"
        )
    except KeyUnusable as e:
        return {"skipped": str(e)}
    message = b"socai/event-batch/v1\x00" + bytes(34)
    rates: dict[str, Any] = {}
    with Pkcs11Token(*token_info) as token:
        for key_type, algorithm in (
            ("ec-p256", algorithms.Algorithm.ECDSA_P256_SHA256),
            ("rsa-2048", algorithms.Algorithm.RSA_PKCS1V15_SHA256),
        ):
            label = f"bench-{key_type}"
            token.generate_key(label, key_type)  # type: ignore[arg-type]
            soft = generate_private_key(key_type)  # type: ignore[arg-type]
            soft_sign = algorithms.signing_function(soft, algorithm)

            hw_sign = token.signing_function(label, algorithm)

            def hw_call(sign: Callable[[bytes], bytes] = hw_sign) -> bytes:
                return sign(message)

            def sw_call(sign: Callable[[bytes], bytes] = soft_sign) -> bytes:
                return sign(message)

            hw = _median(lambda call=hw_call: _rate(call, n), rounds)  # type: ignore[misc]
            sw = _median(lambda call=sw_call: _rate(call, n), rounds)  # type: ignore[misc]
            rates[algorithm.label] = {
                "pkcs11_per_s": round(hw),
                "software_per_s": round(sw),
                "pkcs11_to_software": round(hw / sw, 3),
            }
    return rates


def _markdown(out: dict[str, Any]) -> str:
    lines = [
        "| service | in-process /s | HTTP, 1 client /s | HTTP, 4 clients /s | HTTP ÷ in-process |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, f in out["services"].items():
        lines.append(
            f"| {name} | {f['in_process_per_s']:,} | {f['http_per_s']:,} "
            f"| {f['http_4_clients_per_s']:,} | {f['http_to_in_process']:.2f} |"
        )
    lines += [
        "",
        "| signing | PKCS#11 (SoftHSM2) /s | software key /s | ratio |",
        "|---|---:|---:|---:|",
    ]
    p11 = out["pkcs11"]
    if "skipped" in p11:
        lines.append(f"| (skipped: {p11['skipped']}) | | | |")
    else:
        for alg, f in p11.items():
            lines.append(
                f"| {alg} | {f['pkcs11_per_s']:,} | {f['software_per_s']:,} "
                f"| {f['pkcs11_to_software']:.2f} |"
            )
    lines.append(f"\n{out['seconds']} s in all.")
    return "\n".join(lines)
