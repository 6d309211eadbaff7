"""Fixtures of the HTTP, page and browser tests: a served demo site per engine (see web.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import drop_postgres, postgres_url
from tests.integration.browser import browser, browser_site
from tests.integration.web import Site, build_site

# The browser tests' fixtures, defined once for every module (a module importing them
# itself would hold a second definition: a second browser and site).
__all__ = ["browser", "browser_site"]


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The demo site on SQLite, served by ``socai serve``, shared by the whole session."""
    with build_site(tmp_path_factory.mktemp("site")) as served:
        yield served


@pytest.fixture(scope="session")
def pg_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The demo site on PostgreSQL, shared by the whole session."""
    url = postgres_url()
    try:
        with build_site(tmp_path_factory.mktemp("pg-site"), database_url=url) as served:
            yield served
    finally:
        drop_postgres(url)
