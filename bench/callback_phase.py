"""The `--callbacks` phase of bench/poll_efficiency.py: the runner wired as a worker with DAILIES_PUBLIC_URL.

Callback URLs go out on the routes the catalog marks (Kling's); the sandbox, in its own process, calls back on
loopback to the same worker HTTP server `python -m jobs worker` runs. Targets (issue 13): at most 3 status
requests per task and p95 detection at most 1.5 s for the families with callbacks.
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import Callable
from typing import Any

TARGET_REQUESTS = 3.0
TARGET_P95_S = 1.5
CALLBACK_FAMILIES = ("kling",)
"""The bench workload's families whose routes take `callback_url` (catalog `"callback": true`)."""


def wire_callbacks(runner: Any, ledger: Any) -> Callable[[], None]:
    """Give a started runner callback URLs and the callback route on a loopback port; returns the teardown."""
    from jobs.callbacks import CallbackConfig, CallbackReceiver
    from jobs.worker_http import MetricsServer

    sock = socket.create_server(("127.0.0.1", 0))
    config = CallbackConfig(f"http://127.0.0.1:{sock.getsockname()[1]}", secrets.token_hex(32).encode())
    ctx = runner._ctx  # noqa: SLF001 - wired as jobs/worker.py does
    ctx.callback_url = config.url_for
    receiver = CallbackReceiver(ledger, config, wake=ctx.request_watch)
    server = MetricsServer(ledger, runner.owner, dict, running=lambda: True, routes=receiver.routes())
    server.start(sock)
    return server.stop


def callback_verdict(hooked: Any) -> list[str]:
    from bench.poll_efficiency import _quantile

    lines = []
    for family in CALLBACK_FAMILIES:
        if family not in hooked.by_family:
            continue
        requests, latencies = hooked.by_family[family]
        p95 = _quantile(latencies, 0.95)
        lines.append(f"callbacks, {family}: {requests:.1f} status requests/task (target <= {TARGET_REQUESTS:g}: "
                     f"{'met' if requests <= TARGET_REQUESTS else 'MISSED'}), p95 detection {p95:.1f} s (target "
                     f"<= {TARGET_P95_S:g}: {'met' if p95 <= TARGET_P95_S else 'MISSED'})")
    return lines
