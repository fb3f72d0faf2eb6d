"""Reading Compare's synced players from the page, and the play-together check the S3 and team tests share."""

from __future__ import annotations

from typing import Any

READ_ALL = """() => [...document.querySelectorAll('video.sync')].map(v => (
    {paused: v.paused, readyState: v.readyState, t: v.currentTime, seeking: v.seeking, src: v.currentSrc}))"""


def play_and_check_sync(frame: Any, *, past_s: float = 1.5, drift_s: float = 0.1) -> list[dict]:
    """Press the shared play button, wait until every player is past `past_s`, and require them all playing
    within `drift_s` of each other; returns what the players reported."""
    frame.click("#sync-play")
    frame.wait_for_function("(past) => [...document.querySelectorAll('video.sync')].every(v => v.currentTime > past)",
                            arg=past_s, timeout=15_000)
    after = frame.evaluate(READ_ALL)
    assert not any(v["paused"] for v in after), after
    times = [v["t"] for v in after]
    assert max(times) - min(times) <= drift_s, times
    return after
