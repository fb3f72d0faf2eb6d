"""A ledger of realistic shape for bench/store_scale.py: many runs, several models, clips with keys and flags.

Rows go in through the store's own API (`Ledger.create_jobs`, 1,000 per transaction, then `Boards.sync_runs`),
so they are exactly what the app writes; a fixed seed gives the same ledger on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

from jobs.ledger import Ledger
from jobs.store.boards import Boards

MODELS = ("veo3.1-fast", "veo3.1", "sora-2", "sora-2-pro", "kling-v1-6", "kling-v2-1-master", "gen3a_turbo",
          "gen4_turbo", "doubao-seedance-2-0-fast", "grok-imagine-video")
FAMILY = {"veo": "veo", "sor": "sora", "kli": "kling", "gen": "runway", "dou": "seedance", "gro": "grok"}
# Terminal states mostly (a ledger months old); a few stale and submit-unknown ones for History's attention box.
STATES = (("downloaded", 80), ("failed", 10), ("canceled", 5), ("expired", 3), ("stale", 1), ("submit_unknown", 1))
FLAG_KINDS = ("freeze", "black", "silence", "flicker", "cut")
PROMPTS = ("a red kite over a beach at dawn", "a barista pouring latte art, close up", "city traffic at night, "
           "rain on the lens", "a fox walking through snow", "product shot of a watch turning on a plinth",
           "two dancers on a rooftop at sunset", "a paper boat in a gutter stream", "drone shot over pine forest")
CHUNK = 1000
DAY_S = 86400.0


def _state(rng: random.Random) -> str:
    return rng.choices([s for s, _ in STATES], weights=[w for _, w in STATES])[0]


def _flags(rng: random.Random) -> str:
    if rng.random() >= 0.15:
        return "[]"
    kinds = rng.sample(FLAG_KINDS, rng.randint(1, 2))
    return json.dumps([{"kind": k, "start_s": 1.0, "end_s": 2.5, "message": f"{k} from 1.0 s to 2.5 s",
                        "threshold": "bench"} for k in kinds])


def job_specs(count: int, thumbs: list[str], url_prefix: str, *, seed: int = 12, now: float | None = None,
              span_days: float = 90.0) -> list[dict[str, Any]]:
    """`count` jobs in runs of 1-3 models × 1-3 takes, spread over `span_days` (newest last)."""
    rng = random.Random(seed)
    now = time.time() if now is None else now
    specs: list[dict[str, Any]] = []
    run = 0
    while len(specs) < count:
        run += 1
        models = rng.sample(MODELS, rng.randint(1, 3))
        takes = rng.randint(1, 3)
        prompt = f"{rng.choice(PROMPTS)} (run {run})"
        backend = "live" if rng.random() < 0.7 else "sandbox"
        created = now - span_days * DAY_S * (1 - len(specs) / count)
        for model in models:
            for take in range(takes):
                if len(specs) == count:
                    break
                i = len(specs)
                state = _state(rng)
                done = state == "downloaded"
                key = f"bench/{run:05d}-{i:05d}.mp4"
                price = round(rng.choice((0.25, 0.4, 0.8, 1.2)), 2)
                spec: dict[str, Any] = {
                    "run_id": f"run-{run:05d}", "take": take, "model_id": model, "family": FAMILY[model[:3]],
                    "backend": backend, "base_url": "https://api.cometapi.com", "key_fingerprint": "bench",
                    "recipe_json": json.dumps({"prompt": prompt, "duration_s": 8, "aspect": "16:9"}),
                    "mapping_json": json.dumps({"report": [{"field": "duration", "sent": "8"}],
                                                "requested_duration_s": 8, "requested_size": [1280, 720],
                                                "has_audio": True}),
                    "state": state, "task_id": f"task-{i}", "est_low_usd": price, "est_high_usd": price,
                    "created_at": created + i * 0.001, "submitted_at": created + 1, "detected_at": created + 60,
                    "kept": rng.choice((1, 0, None, None)),
                    "note": "client liked the framing" if rng.random() < 0.03 else None,
                }
                if done:
                    spec.update(clip_path=key, clip_url=f"{url_prefix}/{key}", clip_sha256=f"{i:064x}",
                                thumb_url=thumbs[i % len(thumbs)], downloaded_at=created + 65,
                                flags_json=_flags(rng), clip_meta_json=json.dumps({"probe": {
                                    "duration_s": 8.0, "width": 1280, "height": 720, "fps": 24, "has_audio": True}}))
                elif state == "failed":
                    spec.update(error_kind="moderation", error_message="the provider refused the prompt")
                specs.append(spec)
    return specs


def seed(target: str | Path, specs: list[dict[str, Any]]) -> float:
    """Write the jobs and their run boards; returns the seconds it took."""
    start = time.perf_counter()
    ledger = Ledger(target)
    try:
        for at in range(0, len(specs), CHUNK):
            ledger.create_jobs(specs[at:at + CHUNK])
        boards = Boards(ledger.database)
        boards.sync_runs()
        boards.close()
    finally:
        ledger.close()
    return time.perf_counter() - start
