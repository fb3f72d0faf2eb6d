"""`python -m jobs worker`: the job engine headless, one of any number sharing the ledger through its leases.

Each worker drives the jobs it holds a lease on (one driver per job): it sends the POSTs, polls and downloads
into the configured clip store. A worker killed outright leaves its leases to expire (on this host its dead pid
is seen at the next rescan); SIGTERM or Ctrl-C lets in-flight HTTP finish, then gives every lease back so the
other workers take those jobs at once. The key comes from the environment (COMETAPI_KEY, COMETAPI_BASE_URL):
a browser session's key never reaches a worker.

Every provider request carries `X-Dailies-Worker: <worker id>`, so "one worker per task" can be checked from
the provider side (the sandbox logs it). One log line per state change, on stdout. `GET /healthz` and
`GET /metrics` (Prometheus text: jobs by state, this worker's polls, submits and errors) on --port.

With DAILIES_PUBLIC_URL (and DAILIES_CALLBACK_SECRET, the same on every worker) the same port also takes
provider callbacks, and submits on the routes that document `callback_url` carry one (jobs/callbacks.py):
a callback makes the job's lease holder poll at once, wherever it runs.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
import threading
import time
from typing import Any

from jobs import settings
from jobs.callbacks import CallbackConfig, CallbackReceiver, config_from_env
from jobs.clipstore import ClipStore, open_clip_store
from jobs.engine import leases
from jobs.keys import backend_from_env, mask, plain_http_warning
from jobs.ledger import Job, JobState, Ledger
from jobs.prefs import Prefs, headless_catalog, load_deployment_prefs
from jobs.runner import Runner
from jobs.worker_http import MetricsServer
from providers.client import Backend, CometClient
from providers.errors import DailiesError
from providers.status import TaskStatus
from providers.submission import Submission

WORKER_HEADER = "X-Dailies-Worker"
LEASE_ENV = "DAILIES_LEASE_TTL_S"
DEFAULT_LEASE_S = 60.0
STOP_TIMEOUT_S = 30.0
"""SIGTERM waits at most this long for HTTP calls in flight before giving the leases back."""
CALLBACK_WATCH_S = 0.5
"""With callbacks on, how often a worker reads the ledger's change counter (one single-row read): a callback
taken by another worker reaches this job's holder within it."""

log = logging.getLogger("dailies.worker")


class Counters:
    """This worker's provider requests, for /metrics. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.values = {"polls": 0, "submits": 0, "errors": 0, "state_changes": 0}

    def add(self, name: str) -> None:
        with self._lock:
            self.values[name] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.values)


COUNTERS = Counters()


class MeteredClient(CometClient):
    """The engine's client, counting what this worker asked of the provider."""

    def submit(self, sub: Submission) -> TaskStatus:
        COUNTERS.add("submits")
        try:
            return super().submit(sub)
        except DailiesError:
            COUNTERS.add("errors")
            raise

    def poll(self, family: str, poll_path: str) -> TaskStatus:
        COUNTERS.add("polls")
        try:
            return super().poll(family, poll_path)
        except DailiesError:
            COUNTERS.add("errors")
            raise


def add_parser(sub: Any) -> None:
    """The `worker` subcommand (jobs/cli.py registers it)."""
    p = sub.add_parser("worker", help="run the engine headless: send, poll and download the ledger's jobs "
                                      "(any number of workers share it through leases)")
    p.add_argument("--host", default="127.0.0.1", help="address for /healthz and /metrics (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port for /healthz and /metrics (default: any free one)")
    p.add_argument("--lease-ttl", type=float, default=None, metavar="SECONDS",
                   help=f"lease length: a killed worker's jobs are taken over after it (default ${LEASE_ENV} "
                        f"or {DEFAULT_LEASE_S:.0f})")
    p.add_argument("--time-scale", type=float, default=1.0,
                   help="sandbox clock, as the jobs were admitted with (real s per simulated s; default 1.0)")
    p.add_argument("--threads", type=int, default=4, help="HTTP threads (default 4)")
    p.add_argument("--concurrency", type=int, default=None,
                   help="tasks in flight per account across all workers (default: Settings' cap)")
    p.add_argument("--claim-batch", type=int, default=8, metavar="N",
                   help="jobs taken per rescan (every lease-ttl/3 s), so several workers split a burst (default 8)")
    p.add_argument("--no-checks", action="store_true",
                   help="leave the technical clip checks to another process")


def lease_ttl(arg: float | None) -> float:
    raw = arg if arg is not None else float(os.environ.get(LEASE_ENV) or DEFAULT_LEASE_S)
    if not 0.5 <= raw <= 3600:
        raise DailiesError(f"lease-ttl: {raw:g} s is out of range; allowed: 0.5 to 3600 seconds")
    return raw


def _backend(args: argparse.Namespace, prefs: Prefs) -> Backend:
    """The key from the environment; the base URL and the plain-http switch as for the app and the CLI (the
    environment's first, else what Settings saved)."""
    backend = backend_from_env(time_scale=args.time_scale, base_url=prefs.base_url, allow_http=prefs.allow_http)
    if backend is None:
        raise DailiesError("COMETAPI_KEY: not set. A worker takes its key from its environment (the server's "
                           "secrets), never from a browser session: export COMETAPI_KEY and COMETAPI_BASE_URL.")
    CometClient.check_base_url(backend)
    return backend


def _state_line(worker: str, job: Job) -> str:
    task = f" task {job.task_id}" if job.task_id else ""
    failed = job.error_kind and job.state in (JobState.FAILED, JobState.SUBMIT_UNKNOWN)
    error = f" [{job.error_kind}]" if failed else ""
    return (f"{time.strftime('%H:%M:%S')} worker {worker} job {job.id[:8]} {job.model_id} -> "
            f"{job.state.value}{task}{error}")


def run_worker(args: argparse.Namespace, out: Any = None) -> int:
    out = out or sys.stdout
    prefs, problems = load_deployment_prefs(settings.data_dir())
    for problem in problems:
        print(f"settings: {problem}", file=sys.stderr, flush=True)
    try:
        ttl = lease_ttl(args.lease_ttl)
        backend = _backend(args, prefs)
        hooks: CallbackConfig | None = config_from_env()
    except DailiesError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    warning = plain_http_warning(backend)
    if warning:
        print(f"warning: {warning}", file=sys.stderr, flush=True)
    ledger = Ledger(args.ledger or settings.ledger_target())
    clips = (ClipStore(args.clips) if args.clips else
             open_clip_store(settings.clips_dir(), settings.clips_url_prefix(),
                                  settings.data_dir() / "clip-staging"))
    clips.sweep_partials()  # a worker killed mid-download leaves its .part: gone with its pid, swept here
    owner = leases.owner_id()
    runner = Runner(ledger, clips, headless_catalog(prefs, sandbox=backend.sandbox), owner=owner, workers=args.threads,
                    concurrency_cap=args.concurrency or prefs.concurrency_cap, lease_ttl_s=ttl,
                    rescan_interval_s=min(30.0, max(0.5, ttl / 3)), check_clips=not args.no_checks,
                    client_type=MeteredClient, client_headers={WORKER_HEADER: owner},
                    **({"watch_interval_s": CALLBACK_WATCH_S} if hooks else {}))

    def on_change(job: Job) -> None:
        COUNTERS.add("state_changes")
        print(_state_line(owner, job), file=out, flush=True)

    ctx = runner._ctx  # noqa: SLF001 - the worker is the engine's own front end
    ctx.on_change = on_change
    ctx.claim_batch = args.claim_batch
    routes = []
    if hooks is not None:
        ctx.callback_url = hooks.url_for
        routes = CallbackReceiver(ledger, hooks, wake=ctx.request_watch).routes()
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    server = MetricsServer(ledger, owner, COUNTERS.snapshot, running=lambda: not stop.is_set(), routes=routes)
    try:
        sock = socket.create_server((args.host, args.port))
    except OSError as exc:
        print(f"error: port {args.port}: {exc}", file=sys.stderr)
        return 2
    server.start(sock)
    runner.set_key(backend)
    runner.start()
    callbacks = f"; callbacks at {hooks.public_url}/callbacks/<job>" if hooks else "; no callbacks (polling)"
    print(f"worker {owner} up: backend {backend.base_url} key {mask(backend.api_key)}; ledger {ledger.describe()}; "
          f"lease {ttl:g} s{callbacks}; http://{args.host}:{sock.getsockname()[1]}/healthz /metrics",
          file=out, flush=True)
    try:
        while not stop.wait(0.5):
            pass
        print(f"worker {owner} stopping: finishing requests in flight, then giving the leases back",
              file=out, flush=True)
        runner.stop(timeout=STOP_TIMEOUT_S)
        print(f"worker {owner} stopped", file=out, flush=True)
    finally:
        server.stop()
        ledger.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
