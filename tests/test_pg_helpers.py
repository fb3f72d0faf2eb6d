"""The PostgreSQL test plumbing: a fresh empty database per test, on a real server, cleaned up after the run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psycopg
import pytest

from tests import pg_helpers

ROOT = Path(__file__).resolve().parent.parent


def _exists(base: str, url: str) -> bool:
    return url.rsplit("/", 1)[1] in pg_helpers.list_test_databases(base)


def test_pg_url_is_a_fresh_empty_database_that_accepts_connections(pg_url: str, pg_server_url: str) -> None:
    assert pg_url.startswith(pg_server_url + "/dailies_t_")
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT current_database(), current_user").fetchone() == (
            pg_url.rsplit("/", 1)[1], "postgres")
        tables = conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
        assert tables.fetchone() == (0,)
        conn.execute("CREATE TABLE t (id int PRIMARY KEY, name text)")
        conn.execute("INSERT INTO t VALUES (1, 'École')")
        conn.commit()
    with psycopg.connect(pg_url) as other:  # committed data is there for a second connection
        assert other.execute("SELECT lower(name) FROM t").fetchone() == ("école",)


def test_a_database_a_test_left_connected_to_is_still_dropped(pg_server_url: str) -> None:
    url = pg_helpers.create_database("left_open", base=pg_server_url)
    conn = psycopg.connect(url)  # a pool a failing test never closed
    try:
        pg_helpers.drop_database(url)
        assert not _exists(pg_server_url, url)
        assert url not in pg_helpers.created()
    finally:
        conn.close()


def test_names_are_unique_valid_identifiers_and_carry_their_time(pg_server_url: str) -> None:
    names = {pg_helpers.new_name("Some test[with params-and a very long name that goes on and on]")
             for _ in range(50)}
    assert len(names) == 50
    for name in names:
        assert len(name) <= 63 and name.startswith("dailies_t_some_test_with_params"), name
        assert f"_{os.getpid()}_" in name
        assert pg_helpers._NAME_RE.match(name), name


def test_the_sweep_drops_only_test_databases_older_than_a_day(pg_server_url: str) -> None:
    now = time.time()
    old = pg_helpers.new_name("killed_run", at=now - 2 * 24 * 3600)
    young = pg_helpers.new_name("running_elsewhere", at=now - 3600)
    with psycopg.connect(pg_helpers.database_url(pg_server_url, "postgres"), autocommit=True) as conn:
        for name in (old, young):
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    try:
        dropped = pg_helpers.sweep_stale(pg_server_url, now=now)
        assert old in dropped and young not in dropped
        left = pg_helpers.list_test_databases(pg_server_url)
        assert old not in left and young in left
    finally:
        pg_helpers.drop_database(pg_helpers.database_url(pg_server_url, young))
        pg_helpers.drop_database(pg_helpers.database_url(pg_server_url, old))


def test_no_server_fails_loudly_naming_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pg_helpers, "_server", None)
    monkeypatch.setenv(pg_helpers.URL_ENV, "postgresql://postgres@127.0.0.1:1")
    with pytest.raises(pg_helpers.PgUnavailable, match=r"DAILIES_TEST_PG_URL=postgresql://postgres@127.0.0.1:1"):
        pg_helpers.server_url()


CHILD_TESTS = '''
import json, os
import psycopg
from tests import pg_helpers

OUT = os.environ["PG_HELPERS_OUT"]

def _record(kind, url):
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'").fetchone()[0]
        conn.execute("CREATE TABLE mark (x int)")  # each test writes to its own database
        conn.commit()
    live = pg_helpers.list_test_databases(url.rsplit("/", 1)[0])
    with open(OUT, "a") as f:
        f.write(json.dumps({"kind": kind, "url": url, "tables": tables, "live": live}) + "\\n")

def test_one(pg_url):
    _record("fixture", pg_url)

def test_two(pg_url):
    _record("fixture", pg_url)

def test_leaks_one(pg_server_url):
    # made outside the fixture and never dropped by the test: the session's cleanup must get it
    _record("leaked", pg_helpers.create_database("leaked", base=pg_server_url))
'''


def test_each_test_gets_its_own_database_and_the_run_drops_them_all(tmp_path: Path) -> None:
    """A separate pytest run, started like a plain `pytest` (no DAILIES_TEST_PG_URL: it runs the script)."""
    (tmp_path / "test_child.py").write_text(textwrap.dedent(CHILD_TESTS))
    out = tmp_path / "seen.jsonl"
    env = {k: v for k, v in os.environ.items() if k != pg_helpers.URL_ENV}
    env.update(PG_HELPERS_OUT=str(out), PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "tests.conftest", "-p", "no:cacheprovider",
                           "test_child.py"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    seen = [json.loads(line) for line in out.read_text().splitlines()]
    assert [s["kind"] for s in seen] == ["fixture", "fixture", "leaked"]
    urls = [s["url"] for s in seen]
    assert len(set(urls)) == 3, urls
    assert all(s["tables"] == 0 for s in seen), seen  # each one fresh: the other test's table is not there
    assert urls[0].rsplit("/", 1)[1] not in seen[1]["live"]  # the first test's database went with the test
    child_server = urls[0].rsplit("/", 1)[0]  # the server the child's own script found
    left = pg_helpers.list_test_databases(child_server)
    assert not [u for u in urls if u.rsplit("/", 1)[1] in left], left
