"""A data folder written by the build before versioned migrations (tests/fixtures/legacy_data_dir, made at
f552c0e): opened by today's code everything in it shows, and `jobs migrate` copies all of it into PostgreSQL
(and its clips into a bucket), the same the second time."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from jobs.cli import main
from jobs.ledger import Ledger
from jobs.prefs import load_deployment_prefs, load_prefs_report, prefs_path
from jobs.store.boards import Boards
from library.prompts import ModelVariant, PromptLibrary
from providers.recipe import Recipe
from review.bestworst import BestWorstStore
from review.store import ReviewStore
from tests.s3_helpers import moto_endpoint, objects, s3_env, s3_store

__all__ = ["moto_endpoint", "s3_env"]  # fixtures

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_data_dir"
EXPECTED = json.loads((FIXTURE / "expected.json").read_text())


@pytest.fixture
def legacy(tmp_path: Path) -> Path:
    """A copy: opening the folder upgrades it in place."""
    return Path(shutil.copytree(FIXTURE, tmp_path / "legacy"))


def assert_everything_shows(ledger_target, review_target, library_target) -> None:
    ledger = Ledger(ledger_target)
    boards = Boards(ledger.database)
    try:
        jobs = {j.id: j for j in ledger.list_jobs()}
        assert set(jobs) == set(EXPECTED["jobs"])
        for job_id, want in EXPECTED["jobs"].items():
            job = jobs[job_id]
            for name in ("state", "model_id", "run_id", "take", "task_id", "backend", "parent_job_id", "link_kind",
                         "clip_path", "clip_sha256", "flags_json"):
                assert str(getattr(job, name)) == str(want[name]), (job_id, name)
            assert job.recipe.get("prompt") == want["prompt"]
            assert len(ledger.events(job_id)) == want["events"], job_id
        for backend, amount in EXPECTED["spend"].items():
            assert ledger.spend_total(backend) == pytest.approx(amount)
        boards.sync_runs()  # the deleted run board stays deleted; nothing new appears
        shown = {b.name: list(b.job_ids) for b in boards.list()}
        assert shown == {b["name"]: b["job_ids"] for b in EXPECTED["boards"]}
    finally:
        boards.close()
        ledger.close()
    reviews = ReviewStore(review_target)
    ballots = BestWorstStore(review_target)
    library = PromptLibrary(library_target)
    try:
        got = [(r.name, [list(p) for p in r.pairs], list(r.tags), len(reviews.votes(review_id=r.id)))
               for r in reviews.list_reviews()]
        assert got == [(r["name"], r["pairs"], r["tags"], r["votes"]) for r in EXPECTED["reviews"]]
        assert len(ballots.ballots()) == EXPECTED["best_worst_ballots"]
        saved = {s.name: (sorted(s.tags), library.runs(s.id)) for s in library.list()}
        assert saved == {e["name"]: (sorted(e["tags"]), e["runs"]) for e in EXPECTED["library"]}
    finally:
        reviews.close()
        ballots.close()
        library.close()


def test_todays_code_opens_the_old_folder_and_everything_in_it_shows(legacy: Path) -> None:
    data = legacy / "data"
    assert_everything_shows(data / "ledger.sqlite3", data / "review.sqlite3", data / "library.sqlite3")
    prefs, problems = load_prefs_report(prefs_path(data))
    assert problems == [] and prefs.budget_usd == EXPECTED["prefs"]["budget_usd"]
    # and a second open (now versioned) changes nothing
    assert_everything_shows(data / "ledger.sqlite3", data / "review.sqlite3", data / "library.sqlite3")


def migrate(*args: str) -> str:
    out = io.StringIO()
    assert main(["migrate", *args], out=out) == 0
    return out.getvalue()


def test_jobs_migrate_copies_the_folder_into_postgresql_once(legacy: Path, pg_url: str, monkeypatch) -> None:
    first = migrate("--to", pg_url, "--from", str(legacy / "data"))
    assert f"jobs: {len(EXPECTED['jobs'])} copied, 0 already there" in first
    assert_everything_shows(pg_url, pg_url, pg_url)
    monkeypatch.setenv("DAILIES_DATABASE_URL", pg_url)
    prefs, problems = load_deployment_prefs(legacy / "data")
    assert problems == [] and prefs.budget_period == EXPECTED["prefs"]["budget_period"]
    assert prefs.model_overrides == EXPECTED["prefs"]["model_overrides"]
    again = migrate("--to", pg_url, "--from", str(legacy / "data"))
    assert f"jobs: 0 copied, {len(EXPECTED['jobs'])} already there" in again
    assert "events: 0 copied" in again and "votes: 0 copied" in again
    assert_everything_shows(pg_url, pg_url, pg_url)


def test_jobs_migrate_moves_the_clips_into_the_bucket_under_their_keys(legacy: Path, pg_url: str,
                                                                       moto_endpoint: str, s3_env: str) -> None:
    out = migrate("--to", pg_url, "--from", str(legacy / "data"), "--clips", f"s3://{s3_env}/team",
                  "--clips-dir", str(legacy / "clips"))
    files = sorted(p.relative_to(legacy / "clips").as_posix() for p in (legacy / "clips").rglob("*") if p.is_file())
    assert f"clips: {len(files)} copied" in out
    store = s3_store(moto_endpoint, s3_env, legacy / "staging", prefix="team")
    assert objects(store) == sorted(f"team/{f}" for f in files)
    ledger = Ledger(pg_url)
    try:
        for job in ledger.list_jobs(states=["downloaded"]):
            assert job.clip_url == f"s3://{s3_env}/team/{job.clip_path}"
            with store.open(job.clip_path) as f:
                assert f.read() == (legacy / "clips" / job.clip_path).read_bytes()
    finally:
        ledger.close()
    assert "clips: 0 copied" in migrate("--to", pg_url, "--from", str(legacy / "data"), "--clips",
                                        f"s3://{s3_env}/team", "--clips-dir", str(legacy / "clips"))


def test_migrate_refuses_a_target_that_is_not_postgresql(legacy: Path, capsys) -> None:
    assert main(["migrate", "--to", "mysql://x/y", "--from", str(legacy / "data")]) == 2
    assert "--to: must be a postgresql:// URL" in capsys.readouterr().err


def test_jobs_migrate_copies_who_did_what_and_the_activity_table_once(legacy: Path, pg_url: str) -> None:
    """The folder, upgraded by today's code and used with sign-in on: an owned run (its board takes the run's
    owner), a picked board, a saved recipe and a best–worst ballot with their people, and Activity rows (a
    settings change with no sign-in has no `who`). All of it arrives once, and a second migrate adds nothing."""
    data = legacy / "data"
    ledger = Ledger(data / "ledger.sqlite3")
    boards = Boards(ledger.database)
    library = PromptLibrary(data / "library.sqlite3")
    ballots = BestWorstStore(data / "review.sqlite3")
    try:
        ledger.create_jobs([{"run_id": "run-ana", "model_id": "kling-v1-6", "family": "kling", "backend": "live",
                             "base_url": "http://127.0.0.1:1", "recipe_json": '{"prompt": "ana\'s kite"}',
                             "state": "failed", "est_high_usd": 1.25, "owner": "ana@example.com"}],
                           person_limit_usd=20.0)
        boards.sync_runs()
        boards.create("Ben's picks", [], created_by="ben@example.com")
        library.save("Ben's harbour", Recipe(prompt="a harbour at noon"), variants=[ModelVariant("veo3.1")],
                     created_by="ben@example.com")
        ballots.add(["j1", "j2", "j3"], ["veo3.1", "kling-v1-6", "gen4_turbo"], 0, 2, voter="cy@example.com")
        ledger.record_activity("boss@example.com", "settings changed", "budget_usd: 25.0 → 30.0")
        ledger.record_activity(None, "sandbox fault", "faults cleared")
    finally:
        for store in (ballots, library, boards, ledger):
            store.close()

    first = migrate("--to", pg_url, "--from", str(data))
    assert "activity: 2 copied, 0 already there" in first, first
    again = migrate("--to", pg_url, "--from", str(data))
    assert "activity: 0 copied, 2 already there" in again, again

    team = Ledger(pg_url)
    team_boards = Boards(team.database)
    try:
        (job,) = team.list_jobs(owner="ana@example.com")
        assert job.person_limit_usd == 20.0
        assert team.spend_total("live", owner="ana@example.com") == pytest.approx(1.25)
        owners = {b.name: b.created_by for b in team_boards.list()}
        assert owners["Ben's picks"] == "ben@example.com"
        (anas,) = team_boards.list(created_by="ana@example.com")
        assert anas.run_id == "run-ana"  # a run's board is its owner's
        changes = [(r["who"], r["action"], r["detail"]) for r in team.activity() if "take" not in r["action"]]
        assert sorted(changes, key=str) == sorted([("boss@example.com", "settings changed",
                                                    "budget_usd: 25.0 → 30.0"),
                                                   (None, "sandbox fault", "faults cleared")], key=str)
    finally:
        team_boards.close()
        team.close()
    team_library, team_ballots = PromptLibrary(pg_url), BestWorstStore(pg_url)
    try:
        assert [s.name for s in team_library.list(created_by="ben@example.com")] == ["Ben's harbour"]
        assert [b.voter for b in team_ballots.ballots() if b.voter] == ["cy@example.com"]
    finally:
        team_library.close()
        team_ballots.close()
