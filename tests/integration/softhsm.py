"""A throwaway SoftHSM2 token for tests, and a signing-rate probe.

Use the session fixture from a test module::

    from tests.integration.softhsm import SoftHSMToken, softhsm_fixture  # noqa: F401

    def test_x(softhsm: SoftHSMToken) -> None:
        with Pkcs11Token(*softhsm) as token: ...

SoftHSM2 reads ``SOFTHSM2_CONF`` and scans its token directory in ``C_Initialize`` only, and
python-pkcs11 loads the module into this process and keeps it initialised (cached per path).
So the configuration must be in the environment, and the token on disk, before anything in
the process first opens the module; a token made later stays invisible until the module is
re-initialised. :func:`create_token` therefore re-initialises the module when it was already
loaded, which invalidates every open session on it; the session fixture does this once.

PKCS#11 login is per process and token: while a :class:`signing.pkcs11.Pkcs11Token` is open on
the shared token, a second one (or a raw python-pkcs11 login) is refused, so open it per test
and close it, or open raw sessions without a PIN (they share the login).

Without ``softhsm2-util`` or the module the tests skip, unless ``SOCAI_REQUIRE_SOFTHSM=1``
(set by CI), where they fail. ``SOCAI_SOFTHSM_MODULE`` names the module when it is not in one
of the usual places.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import NoReturn

import pytest

from signing import softhsm
from signing.errors import KeyUnusable
from signing.keys import Signer
from signing.softhsm import CONF_ENV, MODULE_ENV, SoftHSMToken, find_module

__all__ = [
    "CONF_ENV",
    "MODULE_ENV",
    "REQUIRE_ENV",
    "SoftHSMToken",
    "create_token",
    "find_module",
    "measure_rates",
    "softhsm_fixture",
    "unavailable",
]

REQUIRE_ENV = "SOCAI_REQUIRE_SOFTHSM"
TOKEN_LABEL = "socai-test"
USER_PIN = "1234-test-pin"  # test values, not secrets
SO_PIN = "5678-test-so-pin"


def unavailable(reason: str) -> NoReturn:
    """Skip the test, or fail it when ``SOCAI_REQUIRE_SOFTHSM=1``."""
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"SoftHSM2 is required ({REQUIRE_ENV}=1) but {reason}")
    pytest.skip(f"SoftHSM2 not available: {reason} (set {REQUIRE_ENV}=1 to make this a failure)")


def create_token(
    directory: Path,
    *,
    label: str = TOKEN_LABEL,
    pin: str = USER_PIN,
    so_pin: str = SO_PIN,
) -> SoftHSMToken:
    """:func:`signing.softhsm.create_token`, skipping (or failing in CI) without SoftHSM2."""
    try:
        return softhsm.create_token(directory, label=label, pin=pin, so_pin=so_pin)
    except KeyUnusable as e:
        unavailable(str(e))


_SHARED: list[SoftHSMToken] = []


@pytest.fixture(scope="session", name="softhsm")
def softhsm_fixture(tmp_path_factory: pytest.TempPathFactory) -> SoftHSMToken:
    """One SoftHSM2 token for the whole test session (tests use unique key labels).

    Shared across modules that import this fixture (pytest would otherwise set it up once per
    importing module, and each new token re-initialises the module under the open sessions).
    ``SOFTHSM2_CONF`` stays set for the rest of the process: the module keeps that
    configuration anyway.
    """
    if not _SHARED:
        _SHARED.append(create_token(tmp_path_factory.mktemp("softhsm")))
    return _SHARED[0]


def measure_rates(
    signers: Mapping[str, Signer],
    n: int = 200,
    message: bytes = b"socai signing-rate probe " * 8,
) -> dict[str, float]:
    """Sign ``message`` ``n`` times with each signer; return signatures per second by name.

    One warm-up signature per signer is not timed. Rates vary with the machine; print them,
    do not assert them.
    """
    rates: dict[str, float] = {}
    for name, signer in signers.items():
        signer.sign(message)
        start = time.perf_counter()
        for _ in range(n):
            signer.sign(message)
        elapsed = time.perf_counter() - start
        rates[name] = n / elapsed if elapsed > 0 else float("inf")
    return rates
