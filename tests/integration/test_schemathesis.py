"""Schemathesis over ``/openapi.json`` of a served site: no input gives a server error.

Every operation in the document *at the time the test runs* (routes keep being added) gets
generated requests in three runs: data that fits the schema, data that does not (negative
mode), and fitting data with the path parameters set to real objects of the home school (so
the generated bodies reach the domain code instead of stopping at "no such record"). Each
run is made anonymously, as a teacher (gv001) and as an inspector (thanhtra). The check is
schemathesis' ``not_a_server_error``; a connection the server drops counts as a failure too.
All failures are collected and reported together, each with a curl command to replay it.

The site is the test's own (its generated writes and log-outs disturb no other test), with
log-in rate limits lifted so that generated log-ins reach the code behind the limiter.
``SOCAI_SCHEMATHESIS_EXAMPLES`` sets the examples per operation and run (default 8).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from tests.integration import openapi_cases as oc
from tests.integration.served import own_site
from tests.integration.web import Site

EXAMPLES = int(os.environ.get("SOCAI_SCHEMATHESIS_EXAMPLES", "8"))
USERS = (None, "gv001", "thanhtra")
#: Operations that hash a password (argon2id, by design slow): fewer examples.
SLOW = {("POST", "/api/v1/auth/login"), ("POST", "/api/v1/auth/password")}


@dataclass
class Fuzz:
    site: Site
    schema: Any
    document: dict[str, Any]
    failures: list[str] = field(default_factory=list)
    calls: int = 0


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzz]:
    with own_site(tmp_path_factory.mktemp("schemathesis")) as (site, _):
        url = f"{site.base}/openapi.json"
        document = httpx.get(url, timeout=30).json()
        yield Fuzz(site, schemathesis.openapi.from_url(url), document)


def _real_path(fuzz: Fuzz, op: Any) -> dict[str, Any] | None:
    """The operation's path parameters set to home-school objects (None if one is unknown)."""
    ctx = oc.Context(fuzz.site)
    values = {}
    for param in op.path_parameters:
        name = param.name
        if name not in oc.EXAMPLES:
            return None
        values[name] = oc.EXAMPLES[name].value(ctx)
    return values


def _run(fuzz: Fuzz, username: str | None) -> None:
    session = requests.Session()
    tokens: dict[str, str] = {}

    def headers() -> dict[str, str]:
        if username is None:
            return {}
        if username not in tokens:
            tokens[username] = fuzz.site.login(username)["token"]
        return {"Authorization": f"Bearer {tokens[username]}"}

    for result in fuzz.schema.get_all_operations():
        op = result.ok()
        op_key = (op.method.upper(), op.path)
        runs: list[tuple[GenerationMode, dict[str, Any] | None]] = [
            (GenerationMode.POSITIVE, None),
            (GenerationMode.NEGATIVE, None),
        ]
        if op.path_parameters:
            real = _real_path(fuzz, op)
            if real is not None:
                runs.append((GenerationMode.POSITIVE, real))
        for mode, path in runs:
            strategy = op.as_strategy(generation_mode=mode, path_parameters=path)

            @given(strategy)
            @settings(
                max_examples=max(2, EXAMPLES // 3) if op_key in SLOW else EXAMPLES,
                deadline=None,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def check(case: Any) -> None:
                fuzz.calls += 1
                try:
                    response = case.call(
                        base_url=fuzz.site.base,
                        session=session,
                        headers=headers(),
                        timeout=120,
                    )
                    if op_key in oc.ENDS_SESSION and response.status_code < 300:
                        tokens.clear()  # the session ended: log in again for the next call
                except requests.RequestException as e:
                    fuzz.failures.append(
                        f"{op.label} [{mode.value}, {username}]: the server dropped the "
                        f"connection ({type(e).__name__})\n  {case.as_curl_command()}"
                    )
                    return
                try:
                    case.validate_response(response, checks=[not_a_server_error])
                except Exception as e:
                    fuzz.failures.append(
                        f"{op.label} [{mode.value}, {username}]: {response.status_code} "
                        f"{response.text[:300]!r} ({type(e).__name__})\n"
                        f"  {case.as_curl_command()}"
                    )

            try:
                check()
            except Unsatisfiable:
                pass  # nothing to generate in this mode (an operation without parameters)


@pytest.mark.parametrize("username", USERS, ids=lambda u: u or "anonymous")
def test_no_generated_request_gets_a_server_error(fuzz: Fuzz, username: str | None) -> None:
    calls, known = fuzz.calls, len(fuzz.failures)
    _run(fuzz, username)
    operations = oc.operations(fuzz.document)
    assert fuzz.calls - calls >= len(operations), "schemathesis generated too few requests"
    found = fuzz.failures[known:]
    assert not found, f"{len(found)} server errors:\n" + "\n".join(found)
