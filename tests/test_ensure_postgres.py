"""scripts/ensure-postgres.sh on its private-cluster path (what CI takes on a machine with no trusted server),
forced here while the system server runs: initdb, start on a spare port, reuse on the next call."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests import pg_helpers


def _run(pgdata: Path, port: int) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DAILIES_PG_FORCE_PRIVATE": "1", "DAILIES_PGDATA": str(pgdata),
           "DAILIES_PG_PORT": str(port)}
    return subprocess.run(["bash", str(pg_helpers.SCRIPT)], env=env, capture_output=True, text=True, timeout=180)


def _free_port_base() -> int:
    return 56100 + os.getpid() % 800  # a start well away from 5432/55432; the script moves on from a busy one


@pytest.fixture
def pgdata() -> Iterator[Path]:
    # Not pytest's tmp_path: its folders are closed to other users, and the server runs as `postgres`.
    parent = Path(tempfile.mkdtemp(prefix="dailies-pgdata-"))
    parent.chmod(0o755)
    folder = parent / "cluster"
    try:
        yield folder
    finally:
        if (folder / "postmaster.pid").exists():
            cmd = [str(_pg_ctl()), "-D", str(folder), "-m", "immediate", "-w", "stop"]
            if os.geteuid() == 0:
                cmd = ["runuser", "-u", "postgres", "--", *cmd]
            subprocess.run(cmd, capture_output=True, timeout=60)
        shutil.rmtree(parent, ignore_errors=True)


def _pg_ctl() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return found[-1] if found else Path(shutil.which("pg_ctl") or "pg_ctl")


def test_the_private_cluster_starts_answers_and_is_reused(pgdata: Path) -> None:
    first = _run(pgdata, _free_port_base())
    assert first.returncode == 0, first.stderr
    url = first.stdout.strip()
    assert url.startswith("postgresql://postgres@127.0.0.1:") and not url.endswith(":5432"), first.stdout
    with psycopg.connect(url + "/postgres", connect_timeout=10) as conn:
        assert conn.execute("SELECT current_setting('data_directory')").fetchone() == (str(pgdata),)
        assert conn.execute("SELECT lower('ÉCOLE')").fetchone() == ("école",)  # a UTF-8 ctype, as in production
    if os.geteuid() == 0:
        assert pgdata.stat().st_uid == int(subprocess.check_output(["id", "-u", "postgres"]))
    server_pid = (pgdata / "postmaster.pid").read_text().split()[0]

    again = _run(pgdata, _free_port_base())
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == url
    assert (pgdata / "postmaster.pid").read_text().split()[0] == server_pid  # the same server, not a second one


def test_a_folder_that_is_not_a_cluster_fails_loudly(pgdata: Path) -> None:
    pgdata.mkdir()
    (pgdata / "notes.txt").write_text("not a cluster")
    done = _run(pgdata, _free_port_base())
    assert done.returncode != 0 and done.stdout == ""
    assert f"ERROR: ensure-postgres: {pgdata} exists, is not empty and holds no cluster" in done.stderr
