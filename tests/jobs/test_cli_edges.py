"""The batch CLI's money-safe edges, against a sandbox in its own process whose request log counts the POSTs:
a batch with one bad row sends nothing, a run sends only its own jobs, --no-wait really sends, numbers
and files are checked before anything is read or written, and a refused result URL ends the job."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobs import cli
from jobs.clipstore import ClipStore
from jobs.ledger import JobState, Ledger
from jobs.runner import Runner
from providers.catalog import load_catalog
from providers.client import Backend
from providers.recipe import ModelOptions, Recipe
from tests.jobs.jobs_helpers import orphan_part
from tests.jobs.standalone import StandaloneSandbox

SCALE = "0.01"


@pytest.fixture(autouse=True)
def no_traceback(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """An expected error never prints a traceback (item 3). The engine's log records reach stderr in a real CLI
    run, but under pytest they are captured apart from it, so a "Traceback" check on stderr alone could never
    fail: every edge here must also leave no record that carries one."""
    yield
    with_tracebacks = [r.getMessage() for phase in ("setup", "call") for r in caplog.get_records(phase)
                       if r.exc_info]
    assert not with_tracebacks, with_tracebacks


@pytest.fixture
def standalone(tmp_path: Path, small_clip: Path) -> Iterator[StandaloneSandbox]:
    server = StandaloneSandbox(tmp_path / "sandbox", prerendered_clip=small_clip)
    try:
        yield server
    finally:
        server.stop()


def _point_the_cli_at(server: StandaloneSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMETAPI_BASE_URL", server.base_url)
    monkeypatch.setenv("COMETAPI_KEY", server.api_key)
    monkeypatch.setenv("DAILIES_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DAILIES_CLIPS_DIR", str(tmp_path / "clips"))


@pytest.fixture
def env(standalone: StandaloneSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StandaloneSandbox:
    _point_the_cli_at(standalone, tmp_path, monkeypatch)
    return standalone


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = cli.main([*argv], out=out)
    return code, out.getvalue()


def ledger_of(tmp_path: Path) -> Ledger:
    return Ledger(tmp_path / "data" / "ledger.sqlite3")


def jobs_in(tmp_path: Path) -> list:
    path = tmp_path / "data" / "ledger.sqlite3"
    if not path.exists():
        return []
    led = Ledger(path)
    try:
        return led.list_jobs(newest_first=False)
    finally:
        led.close()


# --- 1. all or nothing at admission -----------------------------------------------------------------------------

def test_one_bad_csv_row_refuses_the_whole_batch_with_no_post(env, tmp_path, capsys):
    rows = tmp_path / "rows.csv"
    rows.write_text("prompt,duration\na paper boat,5\na kite,10\na lantern,7\n", encoding="utf-8")
    code, _ = run("run", "--csv", str(rows), "--model", "kling-v1-6", "--time-scale", SCALE, "--timeout", "30")
    err = capsys.readouterr().err
    assert code == 2
    assert "csv line 4" in err and "duration" in err and "Traceback" not in err
    assert env.posts() == []
    assert jobs_in(tmp_path) == []  # nothing written either: no row left `waiting` for a later run to send


def test_an_unknown_model_on_a_csv_row_names_the_line(env, tmp_path, capsys):
    rows = tmp_path / "rows.csv"
    rows.write_text("prompt,model\na paper boat,kling-v1-6\na kite,no-such-model\n", encoding="utf-8")
    code, _ = run("run", "--csv", str(rows), "--model", "kling-v1-6", "--no-wait")
    err = capsys.readouterr().err
    assert code == 2 and "csv line 3" in err and "model" in err
    assert env.posts() == []


def test_a_csv_saved_by_excel_with_a_bom_is_read(env, tmp_path):
    rows = tmp_path / "rows.csv"
    rows.write_bytes("prompt,duration\r\na paper boat,5\r\n".encode("utf-8-sig"))
    code, out = run("run", "--csv", str(rows), "--model", "kling-v1-6", "--no-wait", "--time-scale", SCALE)
    assert code == 0, out
    assert len(env.posts()) == 1
    (job,) = jobs_in(tmp_path)
    assert job.recipe["prompt"] == "a paper boat" and job.recipe["duration_s"] == 5


def test_a_latin1_csv_is_a_plain_error_with_exit_2(env, tmp_path, capsys):
    rows = tmp_path / "rows.csv"
    rows.write_bytes("prompt\nun café au lait\n".encode("latin-1"))
    code, _ = run("run", "--csv", str(rows), "--model", "kling-v1-6", "--no-wait")
    err = capsys.readouterr().err
    assert code == 2 and "not UTF-8" in err and "line 2" in err and "Traceback" not in err
    assert env.posts() == []


def test_prompt_and_csv_together_are_refused(env, tmp_path, capsys):
    rows = tmp_path / "rows.csv"
    rows.write_text("prompt\na kite\n", encoding="utf-8")
    code, _ = run("run", "--csv", str(rows), "--prompt", "another", "--model", "kling-v1-6", "--no-wait")
    assert code == 2 and "not both" in capsys.readouterr().err
    assert env.posts() == []


# --- 2. a run drives what it reports ----------------------------------------------------------------------------

def _leave_a_waiting_job(tmp_path: Path, server: StandaloneSandbox) -> str:
    """An intent row an earlier process wrote and never sent (its runner never started), lease given back."""
    led = ledger_of(tmp_path)
    runner = Runner(led, ClipStore(tmp_path / "clips"), load_catalog())
    backend = Backend(server.base_url, server.api_key, sandbox=True, time_scale=float(SCALE))
    (job_id,) = runner.submit_run(Recipe(prompt="an earlier run"), [("kling-v1-6", ModelOptions())], backend)
    led.release(runner.owner)
    led.close()
    return job_id


def test_a_run_sends_only_its_own_jobs_and_names_the_leftovers(env, tmp_path):
    leftover = _leave_a_waiting_job(tmp_path, env)
    code, out = run("run", "--prompt", "another run", "--model", "kling-v1-6", "--time-scale", SCALE,
                    "--timeout", "30")
    assert code == 0, out
    assert len(env.posts()) == 1  # only this run's take; the leftover was not sent behind the user's back
    assert leftover[:8] in out and "resume" in out
    states = {j.id: j.state for j in jobs_in(tmp_path)}
    assert states[leftover] == JobState.WAITING
    code, out = run("resume", "--time-scale", SCALE, "--timeout", "30")
    assert code == 0, out
    assert len(env.posts()) == 2
    assert {j.state for j in jobs_in(tmp_path)} == {JobState.DOWNLOADED}


def test_no_wait_sends_the_posts_and_records_the_task_ids(env, tmp_path):
    code, out = run("run", "--prompt", "a paper boat", "--model", "kling-v1-6", "--model", "veo3.1-fast",
                    "--no-wait", "--time-scale", SCALE)
    assert code == 0, out
    posts = env.posts()
    assert len(posts) == 2
    jobs = jobs_in(tmp_path)
    assert all(j.task_id for j in jobs) and {j.task_id for j in jobs} == {p["task_id"] for p in posts}
    assert "sent 2 of 2" in out and all(j.task_id in out for j in jobs)
    code, _ = run("resume", "--time-scale", SCALE, "--timeout", "30")
    assert code == 0 and len(env.posts()) == 2  # resume finishes them without a second POST


# --- 5. numbers checked -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("flag", "value"), [
    ("--budget", "nan"), ("--budget", "inf"), ("--budget", "-1"),
    ("--timeout", "-1"), ("--timeout", "0"), ("--timeout", "nan"),
    ("--time-scale", "0"), ("--time-scale", "-inf"), ("--time-scale", "nan"),
    ("--concurrency", "0"), ("--workers", "0"), ("--workers", "-2"),
    ("--takes", "0"), ("--takes", "5"), ("--takes", "1.5"),
])
def test_a_meaningless_number_exits_2_naming_the_flag_and_the_range(env, tmp_path, capsys, flag, value):
    with pytest.raises(SystemExit) as exit_:
        run("run", "--prompt", "x", "--model", "kling-v1-6", "--no-wait", f"{flag}={value}")
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert flag in err and ("from" in err or "above" in err)
    assert env.posts() == [] and jobs_in(tmp_path) == []


# --- 6. files read safely ---------------------------------------------------------------------------------------

def test_a_device_file_as_image_is_an_error_not_memory_growth(env, tmp_path, capsys):
    code, _ = run("run", "--prompt", "x", "--model", "kling-v1-6", "--image", "/dev/zero", "--no-wait")
    err = capsys.readouterr().err
    assert code == 2 and "image" in err and "not a regular file" in err
    assert env.posts() == []


def test_a_huge_image_file_is_refused_by_its_size_before_it_is_read(env, tmp_path, capsys):
    huge = tmp_path / "huge.png"
    with open(huge, "wb") as f:  # sparse: 10 GB on paper, nothing on disk
        f.truncate(10 * 2**30)
    code, _ = run("run", "--prompt", "x", "--model", "kling-v1-6", "--last-image", str(huge), "--no-wait")
    err = capsys.readouterr().err
    assert code == 2 and "last_image" in err and "at most 20 MB" in err
    assert env.posts() == []


def test_an_image_given_as_plain_http_says_what_is_allowed(env, capsys):
    code, _ = run("run", "--prompt", "x", "--model", "kling-v1-6", "--image", "http://example.com/a.png",
                  "--no-wait")
    err = capsys.readouterr().err
    assert code == 2 and "a local file path or an https:// URL" in err and "No such file" not in err
    assert env.posts() == []


def test_an_https_image_url_goes_through_the_url_policy(env, capsys):
    code, _ = run("run", "--prompt", "x", "--model", "kling-v1-6", "--image", "https://127.0.0.1/a.png",
                  "--no-wait")
    err = capsys.readouterr().err
    assert code == 2 and "image" in err and "private or local" in err
    assert env.posts() == []


# --- 3. no endless loops ----------------------------------------------------------------------------------------

def test_a_result_url_the_policy_refuses_ends_the_job_and_the_cli_exits(env, tmp_path, capsys):
    # The provider hands back a plain-http URL on another host: the policy refuses it at every try.
    env.post("/_sandbox/config", {"public_base_url": "http://203.0.113.7:8080"})
    code, out = run("run", "--prompt", "x", "--model", "kling-v1-6", "--time-scale", SCALE, "--timeout", "60")
    err = capsys.readouterr().err
    assert code == 1, out
    (job,) = jobs_in(tmp_path)
    assert job.state == JobState.FAILED and job.state.terminal
    assert "http scheme is not allowed" in (job.error_message or "") and "billed" in (job.error_message or "")
    assert "Traceback" not in out + err
    downloads = [r for r in env.requests() if r.get("route") == "download"]
    assert downloads == []  # refused before any request left for the other host


# --- 4. self-hosted gateways over plain http --------------------------------------------------------------------

def _gateway_url(server: StandaloneSandbox) -> str:
    """The sandbox under a name that is not loopback by spelling (this host's name), as a gateway on the LAN."""
    import socket

    host = socket.gethostname()
    assert socket.gethostbyname(host), "this host's name must resolve for the gateway test"
    return f"http://{host}:{server.port}"


def test_plain_http_off_this_machine_is_refused_before_any_post_without_the_opt_in(env, monkeypatch, capsys):
    monkeypatch.setenv("COMETAPI_BASE_URL", _gateway_url(env))
    code, _ = run("run", "--sandbox", "--prompt", "x", "--model", "kling-v1-6", "--no-wait")
    err = capsys.readouterr().err
    assert code == 2 and "clear text" in err and "--allow-http" in err
    assert env.posts() == []


@pytest.mark.parametrize("opt_in", ["flag", "env", "settings"])
def test_with_the_opt_in_a_gateway_over_plain_http_runs_to_a_clip(env, tmp_path, monkeypatch, capsys, opt_in):
    import socket

    monkeypatch.setenv("COMETAPI_BASE_URL", _gateway_url(env))
    extra = ["--allow-http"] if opt_in == "flag" else []
    if opt_in == "env":
        monkeypatch.setenv("DAILIES_ALLOW_HTTP", "1")
    if opt_in == "settings":  # the switch the app's Settings saves
        _save_prefs(tmp_path, {"allow_http": True})
    code, out = run("run", "--sandbox", "--prompt", "x", "--model", "kling-v1-6", "--time-scale", SCALE,
                    "--timeout", "30", *extra)
    err = capsys.readouterr().err
    assert code == 0, out + err
    assert f"plain http to {socket.gethostname()}" in err  # the warning names the host
    (job,) = jobs_in(tmp_path)
    assert job.state == JobState.DOWNLOADED and len(env.posts()) == 1


def test_with_the_opt_in_plain_http_elsewhere_is_still_refused(env, tmp_path, monkeypatch):
    monkeypatch.setenv("COMETAPI_BASE_URL", _gateway_url(env))
    env.post("/_sandbox/config", {"public_base_url": "http://203.0.113.7:8080"})
    code, out = run("run", "--sandbox", "--allow-http", "--prompt", "x", "--model", "kling-v1-6",
                    "--time-scale", SCALE, "--timeout", "30")
    assert code == 1, out
    (job,) = jobs_in(tmp_path)
    assert job.state == JobState.FAILED and "203.0.113.7" in (job.error_message or "")


# --- 7 / 8b. one source of settings, never reset wholesale ------------------------------------------------------

def _save_prefs(tmp_path: Path, prefs: dict) -> None:
    import json

    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    (data / "prefs.json").write_text(json.dumps(prefs))


@pytest.fixture
def live(tmp_path: Path, small_clip: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[StandaloneSandbox]:
    """The sandbox under a key that is not the sandbox's: the CLI's run is live, so budgets bind."""
    server = StandaloneSandbox(tmp_path / "live", api_key="sk-a-key-of-its-own", prerendered_clip=small_clip)
    _point_the_cli_at(server, tmp_path, monkeypatch)
    try:
        yield server
    finally:
        server.stop()


def test_a_flag_overrides_the_saved_budget_for_one_run_only(live, tmp_path, capsys):
    _save_prefs(tmp_path, {"budget_usd": 0.1, "budget_period": "month"})
    argv = ("run", "--prompt", "x", "--model", "veo3.1-fast", "--no-wait")
    code, _ = run(*argv)
    assert code == 2 and "budget" in capsys.readouterr().err.lower()  # Settings' $0.10 binds the CLI
    assert live.posts() == []
    code, out = run(*argv, "--budget", "5")
    assert code == 0, out + capsys.readouterr().err
    assert len(live.posts()) == 1
    code, _ = run(*argv)  # the flag was for that run: Settings' budget holds again
    assert code == 2 and len(live.posts()) == 1


def test_a_csv_batch_over_the_budget_is_refused_whole_with_no_post(live, tmp_path, capsys):
    rows = tmp_path / "rows.csv"
    rows.write_text("prompt\n" + "".join(f"shot {i}\n" for i in range(3)), encoding="utf-8")
    _save_prefs(tmp_path, {"budget_usd": 0.5, "budget_period": "month"})  # one veo3.1-fast clip fits, three do not
    code, _ = run("run", "--csv", str(rows), "--model", "veo3.1-fast", "--no-wait")
    assert code == 2 and "budget" in capsys.readouterr().err.lower()
    assert live.posts() == [] and jobs_in(tmp_path) == []  # admitted whole or not at all


def test_a_model_off_upstream_runs_live_once_switched_back_on_in_settings(live, tmp_path, capsys):
    argv = ("run", "--prompt", "x", "--model", "sora-2", "--no-wait")
    code, _ = run(*argv)
    assert code == 2 and "Settings" in capsys.readouterr().err  # the message points to Settings...
    assert live.posts() == []
    _save_prefs(tmp_path, {"model_overrides": {"sora-2": {"available": True}}})
    code, out = run(*argv)  # ...and what Settings saves is what the CLI applies
    assert code == 0, out + capsys.readouterr().err
    assert len(live.posts()) == 1


def test_a_model_switched_off_in_settings_is_off_for_the_cli(env, tmp_path, capsys):
    _save_prefs(tmp_path, {"model_overrides": {"kling-v1-6": {"available": False}}})
    code, _ = run("run", "--prompt", "x", "--model", "kling-v1-6", "--no-wait")
    err = capsys.readouterr().err
    assert code == 2 and "Settings" in err
    assert env.posts() == []


def test_a_cli_start_sweeps_the_part_of_a_download_killed_mid_way(env, tmp_path):
    part = orphan_part(tmp_path / "clips")
    code, out = run("run", "--prompt", "x", "--model", "veo3.1-fast", "--no-wait", "--time-scale", SCALE)
    assert code == 0, out
    assert not part.exists()


def test_a_saved_override_for_a_retired_model_is_named_and_the_run_goes_ahead(env, tmp_path, capsys):
    price = {"kind": "per_second", "usd_per_second": 0.5, "source": "override in Settings", "as_of": "2026-12-01"}
    _save_prefs(tmp_path, {"model_overrides": {"veo3.1-fast": {"price": price}, "retired-model": {"available": True},
                                               "veo3.1": {"price": {"kind": "per_task", "usd": "NaN"}}}})
    code, out = run("run", "--prompt", "x", "--model", "veo3.1-fast", "--duration", "8", "--no-wait",
                    "--time-scale", SCALE)
    err = capsys.readouterr().err
    assert code == 0, out + err
    assert "retired-model" in err and "veo3.1:" in err and "Traceback" not in out + err
    (job,) = jobs_in(tmp_path)
    assert job.est_high_usd == pytest.approx(0.5 * 8)  # the good override next to them still applies


def test_settings_prices_apply_and_a_bad_field_is_named_not_a_reset(env, tmp_path, capsys):
    price = {"kind": "per_second", "usd_per_second": 0.5, "source": "override in Settings", "as_of": "2026-12-01"}
    _save_prefs(tmp_path, {"model_overrides": {"veo3.1-fast": {"price": price}}, "budget_usd": "lots",
                           "concurrency_cap": 1})
    code, out = run("run", "--prompt", "x", "--model", "veo3.1-fast", "--duration", "8", "--no-wait",
                    "--time-scale", SCALE)
    err = capsys.readouterr().err
    assert code == 0, out + err
    assert "budget_usd" in err and "ignored" in err  # the bad field is named...
    (job,) = jobs_in(tmp_path)
    assert job.est_high_usd == pytest.approx(0.5 * 8)  # ...and the rate card saved next to it still applies
