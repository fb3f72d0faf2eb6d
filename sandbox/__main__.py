"""`python -m sandbox --port 8765`: run the simulator on its own, in the foreground."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import uvicorn

from .app import Sandbox
from .config import SHAPES, SandboxConfig


def main(argv: list[str] | None = None) -> None:
    default_data = Path(os.environ.get("DAILIES_DATA_DIR", "data")) / "sandbox"
    parser = argparse.ArgumentParser(prog="python -m sandbox", description="Local simulator of CometAPI's video routes")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--time-scale", type=float, default=1.0, help="real seconds per simulated second")
    parser.add_argument("--data-dir", type=Path, default=default_data)
    parser.add_argument("--api-key", default="sk-sandbox")
    parser.add_argument("--url-ttl", type=float, default=3600.0, help="lifetime of result URLs, seconds")
    parser.add_argument("--shape", action="append", default=[], metavar="FAMILY=SHAPE",
                        help="; ".join(f"{f}: {'|'.join(s)}" for f, s in SHAPES.items()))
    parser.add_argument("--prerendered-clip", type=Path, default=None)
    parser.add_argument("--runway-queue-status", choices=("PENDING", "THROTTLED"), default="PENDING",
                        help="what a queued Runway task answers (THROTTLED: waiting for an account slot)")
    parser.add_argument("--poll-after-ms", default=None,
                        help="send openai-poll-after-ms with this value on every /v1/videos poll (sent verbatim)")
    args = parser.parse_args(argv)
    shapes = {}
    for item in args.shape:
        family, _, shape = item.partition("=")
        shapes[family] = shape
    try:
        config = SandboxConfig(api_key=args.api_key, time_scale=args.time_scale, data_dir=args.data_dir, shapes=shapes,
                               url_ttl_s=args.url_ttl, prerendered_clip=args.prerendered_clip,
                               runway_queue_status=args.runway_queue_status, poll_after_ms=args.poll_after_ms)
    except ValueError as exc:
        parser.error(str(exc))
    sandbox = Sandbox(config)
    print(f"sandbox: http://{args.host}:{args.port}  key={config.api_key}  data={config.data_dir}", flush=True)
    uvicorn.run(sandbox.app, host=args.host, port=args.port, log_level="info", lifespan="off")


if __name__ == "__main__":
    main()
