"""Provision a SoftHSM2 token: the software PKCS#11 token used by the demo, tests and bench.

SoftHSM2 reads ``SOFTHSM2_CONF`` and scans its token directory in ``C_Initialize`` only, and
python-pkcs11 loads the module into this process and keeps it initialised (cached per path).
So the configuration must be in the environment, and the token on disk, before anything in
the process first opens the module; a token made later stays invisible until the module is
re-initialised. :func:`create_token` therefore re-initialises the module when it was already
loaded, which invalidates every open session on it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import NamedTuple

from signing.errors import KeyUnusable

MODULE_ENV = "SOCAI_SOFTHSM_MODULE"
CONF_ENV = "SOFTHSM2_CONF"
MODULE_CANDIDATES = (
    "/usr/lib/softhsm/libsofthsm2.so",  # Debian, Ubuntu
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib64/pkcs11/libsofthsm2.so",  # Fedora
    "/usr/local/lib/softhsm/libsofthsm2.so",  # source builds
    "/opt/homebrew/lib/softhsm/libsofthsm2.so",  # macOS
)


class SoftHSMToken(NamedTuple):
    """What :class:`signing.pkcs11.Pkcs11Token` needs: module path, token label, user PIN."""

    module: str
    label: str
    pin: str


def find_module() -> str | None:
    """Path of libsofthsm2.so, from ``SOCAI_SOFTHSM_MODULE`` or the usual places."""
    chosen = os.environ.get(MODULE_ENV)
    if chosen:
        return chosen if Path(chosen).is_file() else None
    return next((p for p in MODULE_CANDIDATES if Path(p).is_file()), None)


def _reinitialise_if_loaded(module: str) -> None:
    # python-pkcs11 keeps loaded modules in pkcs11._loaded; a module initialised with another
    # configuration (or before the token existed) must re-read it to see the new token.
    import pkcs11

    loaded = getattr(pkcs11, "_loaded", {}).get(module)
    if loaded is not None and loaded.initialized:
        loaded.reinitialize()


def create_token(directory: Path, *, label: str, pin: str, so_pin: str) -> SoftHSMToken:
    """Initialise a fresh SoftHSM2 token under ``directory`` and point this process at it.

    Writes ``directory/softhsm2.conf`` (token directory ``directory/tokens``, file backend,
    log level ERROR), sets ``SOFTHSM2_CONF`` in ``os.environ`` (which C ``getenv`` sees) and
    runs ``softhsm2-util --init-token --free``. Raises :class:`KeyUnusable` when SoftHSM2 is
    missing or the token cannot be made. PINs never appear in messages.
    """
    util = shutil.which("softhsm2-util")
    if util is None:
        raise KeyUnusable("softhsm2-util is not on PATH (apt-get install softhsm2)")
    module = find_module()
    if module is None:
        raise KeyUnusable(
            f"libsofthsm2.so not found ({MODULE_ENV} or one of {', '.join(MODULE_CANDIDATES)})"
        )
    tokens = directory / "tokens"
    tokens.mkdir(mode=0o700, parents=True, exist_ok=True)
    conf = directory / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n",
        encoding="utf-8",
    )
    os.environ[CONF_ENV] = str(conf)
    result = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [util, "--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", so_pin],
        env={**os.environ, CONF_ENV: str(conf)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise KeyUnusable(f"softhsm2-util --init-token failed (exit {result.returncode})")
    _reinitialise_if_loaded(module)
    return SoftHSMToken(module, label, pin)
