"""Callback hints on the jobs this engine drives: a job marked "poll now" in the ledger is polled at once.

Run from the ledger watch whenever the ledger changed (another worker's callback endpoint wrote the mark, or
this process's, which also asks for the watch at once). Only jobs sent with a callback URL are looked at: no
other job can carry a mark. The mark is cleared before the poll is queued, so a callback arriving after the
clear marks it again (one more poll at most), and one arriving before is covered by the poll still to come.
"""

from __future__ import annotations

from jobs.engine.context import EngineContext


def take_hints(ctx: EngineContext) -> int:
    """Poll now every held job whose ledger row carries a callback's mark; how many were brought forward."""
    with ctx.lock:
        ids = {job_id for job_id, track in ctx.tracks.items() if track.callback}
    if not ids:
        return 0
    taken = 0
    for job in ctx.ledger.hinted(ctx.owner):  # one indexed query, however many jobs this engine holds
        if job.id not in ids:
            continue
        ctx.ledger.update(job.id, poll_hint=None)
        if ctx.poll_now(job.id):
            taken += 1
    return taken
