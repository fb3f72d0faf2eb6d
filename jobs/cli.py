"""`python -m jobs`: run recipes across models headless, into the same ledger the app reads.

Examples:
  COMETAPI_KEY=sk-... python -m jobs run --model veo3.1-fast --model kling-v1-6 --prompt "a red kite at dawn"
  python -m jobs run --sandbox --model sora-2 --csv prompts.csv --takes 2
  python -m jobs resume          # finish whatever an earlier process left in the ledger
  python -m jobs list --state failed

Base URL and key come from COMETAPI_BASE_URL / COMETAPI_KEY (live or a standalone sandbox); with
no key, --sandbox starts a sandbox in this process. Exit status: 0 when every job ended with a
verified clip, 1 when any failed, expired, went stale, stayed unknown or was stopped, 2 on bad input.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from jobs import identity, limits, migrate_cli, settings, worker
from jobs.cli_inputs import batches
from jobs.clipstore import ClipStore, open_clip_store
from jobs.keys import SANDBOX_KEY, backend_from_env, mask, plain_http_warning
from jobs.ledger import BudgetExceeded, Job, JobState, Ledger
from jobs.prefs import Prefs, headless_catalog, load_deployment_prefs, period_start as prefs_period_start
from jobs.runner import Runner
from providers.client import Backend, CometClient
from providers.errors import DailiesError
from providers.recipe import ModelOptions

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DEFAULT_SANDBOX_SCALE = 0.02
SEND_WAIT_S = 120.0
"""--no-wait waits at most this long (without --timeout) for its POSTs to be sent and their task ids recorded."""


def _number(rule: limits.NumberRule) -> Callable[[str], float | int]:
    """An argparse type: NaN, infinities and out-of-range values exit 2 naming the flag and the range."""

    def parse(text: str) -> float | int:
        try:
            return rule.parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc).split(": ", 1)[-1]) from None

    parse.__name__ = rule.name
    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m jobs", description=__doc__.split("\n\n", 1)[0],
        epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ledger", default=None, metavar="FILE_OR_URL",
                        help="ledger: a SQLite file or a postgresql:// URL (default: $DAILIES_DATABASE_URL, else "
                             "$DAILIES_DATA_DIR/ledger.sqlite3)")
    parser.add_argument("--clips", type=Path, default=None,
                        help="clips folder (default: $DAILIES_CLIP_STORE, else $DAILIES_CLIPS_DIR or static/clips)")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="submit a recipe (or a CSV of prompts) to one or more models and wait")
    run.add_argument("--model", action="append", required=True, metavar="MODEL_ID",
                     help="model id, repeatable (e.g. veo3.1-fast, sora-2, kling-v1-6, gen4_turbo)")
    run.add_argument("--prompt", help="the prompt (or use --csv)")
    run.add_argument("--csv", type=Path, help="CSV with a 'prompt' column; optional negative_prompt, duration, "
                                               "ratio, seed, model columns (a row's model replaces --model)")
    run.add_argument("--negative-prompt", default="")
    run.add_argument("--image", default=None, metavar="PATH_OR_URL",
                     help="first-frame image: a PNG, JPEG or WebP file (at most 20 MB) or an https:// URL; "
                          "Runway needs one")
    run.add_argument("--last-image", default=None, metavar="PATH_OR_URL", help="last-frame image (same rules)")
    run.add_argument("--duration", type=int, default=None, help="seconds (the model's nearest allowed value)")
    run.add_argument("--ratio", default=None, help="aspect ratio, e.g. 16:9, 9:16, 1:1")
    run.add_argument("--seed", type=int, default=None)
    run.add_argument("--takes", type=_number(limits.TAKES), default=1, help="takes per model, 1 to 4 (default 1)")
    run.add_argument("--budget", type=_number(limits.BUDGET), default=None, metavar="USD",
                     help="live only: refuse the run if its upper cost estimate would take this period's spend "
                          "past USD (default: the app's budget and period from Settings)")
    run.add_argument("--fallback", default=None, metavar="MODEL_ID",
                     help="opt-in: a take stuck in queue or failed by a provider outage is sent again to this "
                          "model as a new, linked job (the budget applies)")
    run.add_argument("--no-wait", action="store_true",
                     help="send the POSTs, record their task ids and exit without waiting for the renders; "
                          "the app or `resume` finishes them")
    _engine_args(run)

    resume = sub.add_parser("resume", help="drive every unfinished job in the ledger to the end")
    _engine_args(resume)

    worker.add_parser(sub)
    migrate_cli.add_parser(sub)

    lst = sub.add_parser("list", help="print jobs from the ledger")
    lst.add_argument("--state", action="append", choices=[s.value for s in JobState])
    lst.add_argument("--model", default=None)
    lst.add_argument("--limit", type=int, default=30)
    return parser


def _engine_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sandbox", action="store_true",
                   help="use the sandbox: COMETAPI_BASE_URL if set (key sk-sandbox), else one started in-process")
    p.add_argument("--time-scale", type=_number(limits.TIME_SCALE), default=None,
                   help=f"sandbox clock (real s per simulated s; default {DEFAULT_SANDBOX_SCALE} in-process, "
                        "1.0 for an external sandbox unless given)")
    p.add_argument("--timeout", type=_number(limits.TIMEOUT), default=None,
                   help="give up waiting after this many seconds")
    p.add_argument("--concurrency", type=_number(limits.CONCURRENCY), default=None,
                   help="tasks in flight per account, 1 to 32 (default: Settings' cap, 4 unless changed)")
    p.add_argument("--allow-http", action="store_true",
                   help="opt in to a plain-http COMETAPI_BASE_URL off this machine (a self-hosted gateway): the key "
                        "travels in clear text; also DAILIES_ALLOW_HTTP=1 or the Settings switch")
    p.add_argument("--workers", type=_number(limits.WORKERS), default=4, help="HTTP threads, 1 to 32 (default 4)")
    p.add_argument("--lease-ttl", type=float, default=60.0, help=argparse.SUPPRESS)
    p.add_argument("--quiet", action="store_true", help="only the summary")


def _saved_prefs() -> Prefs:
    prefs, problems = load_deployment_prefs(settings.data_dir())
    for problem in problems:
        print(f"settings: {problem}", file=sys.stderr, flush=True)
    return prefs


class _Engine:
    """The backend, runner and (optionally) an in-process sandbox for one CLI invocation."""

    def __init__(self, args: argparse.Namespace, out: TextIO, *, run_id: str | None = None) -> None:
        self.out = out
        self.sandbox_server: Any = None
        # One source of settings: what the app saved (model switches, rate card, budget, cap, base URL,
        # the plain-http switch) applies here too; a flag overrides it for this run only.
        self.prefs = _saved_prefs()
        try:
            self.external = settings.external_engine()
        except ValueError as exc:
            raise DailiesError(str(exc)) from None
        self.backend = self._backend(args)
        CometClient.check_base_url(self.backend)  # plain http off this machine: refused before anything is sent
        warning = plain_http_warning(self.backend)
        if warning:
            print(f"warning: {warning}", file=sys.stderr, flush=True)
        self.ledger = Ledger(args.ledger or settings.ledger_target())
        self.clips = (ClipStore(args.clips) if args.clips else
                      open_clip_store(settings.clips_dir(), settings.clips_url_prefix(),
                                      settings.data_dir() / "clip-staging"))
        self.clips.sweep_partials()
        self.catalog = headless_catalog(self.prefs, sandbox=self.backend.sandbox)
        concurrency = args.concurrency if args.concurrency is not None else self.prefs.concurrency_cap
        self.runner = Runner(self.ledger, self.clips, self.catalog, workers=args.workers,
                             concurrency_cap=concurrency, lease_ttl_s=args.lease_ttl,
                             rescan_interval_s=min(30.0, max(1.0, args.lease_ttl / 2)),
                             only_runs=[run_id] if run_id else None,
                             drive=not self.external, check_clips=not self.external)

    def _backend(self, args: argparse.Namespace) -> Backend:
        env_backend = backend_from_env(sandbox=True if args.sandbox else None, time_scale=args.time_scale or 1.0,
                                       base_url=self.prefs.base_url,
                                       allow_http=args.allow_http or self.prefs.allow_http)
        if env_backend is not None:
            return env_backend
        if self.external:  # an in-process sandbox or a session key would be out of the workers' reach
            raise DailiesError("COMETAPI_KEY: not set. With DAILIES_ENGINE=external the workers send the work: "
                               "export the same COMETAPI_KEY and COMETAPI_BASE_URL the workers have.")
        if not args.sandbox:
            raise DailiesError("COMETAPI_KEY: not set. Export COMETAPI_KEY (and COMETAPI_BASE_URL for another "
                               "host), or pass --sandbox to run against a local simulator.")
        from sandbox.config import SandboxConfig
        from sandbox.server import SandboxServer
        scale = args.time_scale or DEFAULT_SANDBOX_SCALE
        data = settings.data_dir() / "sandbox"
        self.sandbox_server = SandboxServer(SandboxConfig(time_scale=scale, data_dir=data), port=0).start()
        print(f"sandbox started at {self.sandbox_server.base_url} (time scale {scale})", file=self.out, flush=True)
        return Backend(self.sandbox_server.base_url, SANDBOX_KEY, sandbox=True, time_scale=scale)

    def close(self) -> None:
        self.runner.stop()
        self.ledger.close()
        if self.sandbox_server is not None:
            self.sandbox_server.stop()


def _line(job: Job, where: Callable[[str], str] = str) -> str:
    progress = f" {job.progress}%" if job.progress is not None and job.state in (JobState.RUNNING,) else ""
    detail = ""
    if job.state == JobState.DOWNLOADED:
        detail = f"  {where(job.clip_path or '')}"
    elif job.needs_key:
        detail = "  needs attention: re-enter the key"
    elif job.error_message:
        detail = f"  [{job.error_kind}] {job.error_message}"
    stamp = time.strftime("%H:%M:%S")
    return f"[{stamp}] {job.model_id:<18} take {job.take} {job.id[:8]} {job.state.value}{progress}{detail}"


def _leftovers(engine: _Engine) -> list[Job]:
    """The unfinished jobs of this key in the ledger: what `resume` drives."""
    fp = engine.backend.key_fingerprint
    return [j for j in engine.ledger.list_jobs(states=[s.value for s in JobState if s.active], newest_first=False)
            if j.key_fingerprint == fp]


def _watch(engine: _Engine, run_id: str | None, *, timeout: float | None, quiet: bool,
           stop: threading.Event, watched: Sequence[str] = ()) -> list[Job]:
    """Print a line whenever a job changes; return the jobs once none is active (or on timeout / Ctrl-C).
    `watched`: jobs to report however soon they end (resume's leftovers, listed before its engine started)."""
    runner, out = engine.runner, engine.out
    end = None if timeout is None else time.monotonic() + timeout
    seen: dict[str, tuple[str, int | None, bool]] = {}

    def current() -> list[Job]:
        if run_id is not None:  # the run's jobs, with any fallback a failed take opened
            return engine.ledger.list_jobs(run_id=run_id, newest_first=False)
        ended = [j for j in runner.snapshot(list(dict.fromkeys([*watched, *seen]))) if not j.state.active]
        return list({j.id: j for j in [*ended, *_leftovers(engine)]}.values())  # one job once, however it moved

    while True:
        jobs = current()
        for job in jobs:
            key = (job.state.value, job.progress if job.state == JobState.RUNNING else None, job.needs_key)
            if seen.get(job.id) != key:
                seen[job.id] = key
                if not quiet:
                    print(_line(job, engine.clips.location), file=out, flush=True)
        active = [j for j in jobs if j.state.active and not j.needs_key]
        if not active or stop.is_set():
            return jobs
        if end is not None and time.monotonic() >= end:
            print(f"timed out with {len(active)} job(s) still active; `python -m jobs resume` continues them",
                  file=out, flush=True)
            return jobs
        counter = runner.change_counter
        runner.wait_for(lambda c=counter: runner.change_counter != c or stop.is_set(), 1.0)


def _summary(jobs: Sequence[Job], out: TextIO) -> int:
    counts: dict[str, int] = {}
    for job in jobs:
        counts[job.state.value] = counts.get(job.state.value, 0) + 1
    spent = sum((j.est_high_usd or 0.0) for j in jobs if j.state in (JobState.DOWNLOADED, JobState.SUCCEEDED))
    parts = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    print(f"{len(jobs)} job(s): {parts or 'none'}; up to ${spent:.2f} for the clips", file=out, flush=True)
    bad = [j for j in jobs if j.state != JobState.DOWNLOADED]
    for job in bad:
        print("  " + _line(job), file=out)
    return EXIT_OK if not bad else EXIT_FAILED


def _list(args: argparse.Namespace, out: TextIO) -> int:
    ledger = Ledger(args.ledger or settings.ledger_target())
    try:
        for job in ledger.list_jobs(states=args.state, model_id=args.model, limit=args.limit):
            cost = f"${job.est_high_usd:.2f}" if job.est_high_usd is not None else "-"
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(job.created_at or 0))
            print(f"{when}  {job.id[:8]}  {job.backend:<7} {job.model_id:<18} {job.state.value:<14} {cost:>7}  "
                  f"{(job.recipe.get('prompt') or '')[:50]}", file=out)
    finally:
        ledger.close()
    return EXIT_OK


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "list":
        return _list(args, out)
    if args.command == "worker":
        return worker.run_worker(args, out)
    if args.command == "migrate":
        return migrate_cli.run_migrate(args, out, sys.stderr)
    stop = threading.Event()
    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
    try:
        return _engine_command(args, out, stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _engine_command(args: argparse.Namespace, out: TextIO, stop: threading.Event) -> int:
    run_id = uuid.uuid4().hex if args.command == "run" else None
    try:
        engine = _Engine(args, out, run_id=run_id)
    except DailiesError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    try:
        print(f"backend {engine.backend.base_url} key {mask(engine.backend.api_key)} "
              f"({'sandbox' if engine.backend.sandbox else 'live'}); ledger {engine.ledger.describe()}", file=out,
              flush=True)
        engine.runner.set_key(engine.backend)
        if args.command == "resume":
            # Listed before the engine starts: a leftover it ends at once (a submit found unclear) is still reported.
            leftovers = [j.id for j in _leftovers(engine)]
            engine.runner.start()
            return _summary(_watch(engine, None, timeout=args.timeout, quiet=args.quiet, stop=stop,
                                   watched=leftovers), out)
        assert run_id is not None
        return _run(engine, args, run_id, out, stop)
    finally:
        engine.close()


def _admit(engine: _Engine, args: argparse.Namespace, run_id: str) -> list[str]:
    """Validate and price every row, model and take, then write the whole run in one ledger transaction:
    a bad row or a budget refusal leaves nothing written and nothing sent."""
    groups = []
    for batch in batches(args):
        choices = [(m, ModelOptions()) for m in batch.models]
        try:
            engine.runner.prepare_run(batch.recipe, choices)
            if args.fallback is not None:
                engine.catalog.get(args.fallback)
        except DailiesError as exc:
            raise DailiesError(batch.where() + exc.message, kind=exc.kind) from None
        groups.append((batch.recipe, choices))
    # The app's budget and period (Settings) bind the CLI too: one pot for every tab and process.
    prefs = engine.prefs
    live = not engine.backend.sandbox
    budget = (args.budget if args.budget is not None else prefs.budget_usd) if live else None
    period_start = prefs_period_start(prefs.budget_period) if live else None
    try:
        return engine.runner.submit_groups(groups, engine.backend, takes=args.takes, run_id=run_id,
                                           budget_limit_usd=budget, budget_period_start=period_start,
                                           fallback_model=args.fallback, owner=identity.local_user(),
                                           person_limit_usd=prefs.person_budget_usd if live else None)
    except BudgetExceeded as exc:
        raise DailiesError(str(exc)) from None


def _name_leftovers(engine: _Engine, run_id: str, out: TextIO) -> None:
    """Unfinished jobs of an earlier process are not this run's to send: say so, and who drives them."""
    left = [j for j in _leftovers(engine) if j.run_id != run_id]
    if left:
        names = ", ".join(f"{j.id[:8]} ({j.state.value})" for j in left[:5]) + (" ..." if len(left) > 5 else "")
        print(f"note: {len(left)} unfinished job(s) from an earlier run are left alone: {names}; "
              "`python -m jobs resume` drives them", file=out, flush=True)


def _run(engine: _Engine, args: argparse.Namespace, run_id: str, out: TextIO, stop: threading.Event) -> int:
    try:
        job_ids = _admit(engine, args, run_id)
    except DailiesError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    _name_leftovers(engine, run_id, out)
    engine.runner.start()
    if engine.external and args.no_wait:
        print(f"{len(job_ids)} queued for the workers", file=out, flush=True)
        return EXIT_OK
    if not args.no_wait:
        print(f"queued {len(job_ids)} job(s)", file=out, flush=True)
        return _summary(_watch(engine, run_id, timeout=args.timeout, quiet=args.quiet, stop=stop), out)
    return _send_only(engine, run_id, timeout=args.timeout or SEND_WAIT_S, out=out, stop=stop)


def _sent(job: Job) -> bool:
    return job.task_id is not None or job.state not in (JobState.WAITING, JobState.SUBMITTING)


def _send_only(engine: _Engine, run_id: str, *, timeout: float, out: TextIO, stop: threading.Event) -> int:
    """--no-wait: send every POST and record its task id, then hand the renders to `resume` or the app."""
    runner = engine.runner
    runner.wait_for(lambda: stop.is_set() or all(_sent(j) for j in engine.ledger.list_jobs(run_id=run_id)), timeout)
    jobs = engine.ledger.list_jobs(run_id=run_id, newest_first=False)
    sent = [j for j in jobs if j.task_id]
    unsent = [j for j in jobs if not _sent(j)]
    refused = [j for j in jobs if j.state.terminal and not j.task_id]
    unclear = [j for j in jobs if j.state == JobState.SUBMIT_UNKNOWN]
    print(f"sent {len(sent)} of {len(jobs)} job(s); task ids recorded: "
          f"{', '.join(f'{j.model_id} {j.task_id}' for j in sent) or 'none'}", file=out, flush=True)
    for label, group in (("not sent yet (waiting for a slot)", unsent), ("refused", refused),
                         ("sent but unclear", unclear)):
        if group:
            print(f"  {len(group)} {label}: " + ", ".join(_line(j) for j in group), file=out, flush=True)
    print("the renders go on at the provider; `python -m jobs resume` (or the app) fetches the clips",
          file=out, flush=True)
    return EXIT_OK if not (unsent or refused or unclear) else EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

