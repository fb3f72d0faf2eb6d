"""Shared fixtures: the sandbox (a real CometAPI simulator on loopback) comes from sandbox/pytest_plugin.py;
PostgreSQL (a real server, tests/pg_helpers.py) from the fixtures below."""

import os
from collections.abc import Iterator

import pytest

pytest_plugins = ["sandbox.pytest_plugin"]

# The app reads CometAPI's public listing at start: off in tests (some point the app at the real API's URL, and
# nothing may call it); the catalog-check tests switch it back on against the sandbox's listing.
os.environ.setdefault("DAILIES_CATALOG_CHECK", "off")

E2E_PREFIX = "tests/e2e/"


@pytest.hookimpl(tryfirst=True, optionalhook=True)  # before xdist's own; optional: plain pytest has no such hook
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """`make test` runs two pytest processes (pytest-xdist, `--dist loadscope`): whole modules go to whichever
    process is free, and the browser tests (tests/e2e) are one unit. One process runs them all, in file order,
    one at a time, as a single process did, while the other takes the rest: two Streamlit apps and two Chromiums
    at once on 2 cores would race their timeouts. (xdist's own `loadgroup` cannot do this on pytest 9.2: it
    renames items through `Item._nodeid`, which pytest no longer reads, and silently stops grouping;
    pytest-xdist issue 1386.)"""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class BrowserAsOneUnit(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return E2E_PREFIX if nodeid.startswith(E2E_PREFIX) else super()._split_scope(nodeid)

    return BrowserAsOneUnit(config, log)


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """The PostgreSQL server's base URL (DAILIES_TEST_PG_URL, else scripts/ensure-postgres.sh); fails, never
    skips, when there is none. At the end of the session every database the run created is dropped."""
    from tests import pg_helpers

    try:
        base = pg_helpers.server_url()
    except pg_helpers.PgUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    pg_helpers.sweep_stale(base)  # what runs killed more than a day ago left behind
    try:
        yield base
    finally:
        pg_helpers.drop_created()


@pytest.fixture
def pg_url(pg_server_url: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, empty database for this test: `postgresql://postgres@host:port/dailies_t_<test name>_...`,
    dropped after it (connections the test left open are closed)."""
    from tests import pg_helpers

    url = pg_helpers.create_database(request.node.name, base=pg_server_url)
    try:
        yield url
    finally:
        pg_helpers.drop_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_target(request: pytest.FixtureRequest, tmp_path) -> str | os.PathLike:
    """Where a store contract test keeps its tables: a SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return tmp_path / "ledger.sqlite3"
    return request.getfixturevalue("pg_url")
