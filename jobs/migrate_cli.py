"""`python -m jobs migrate --to postgresql://…`: move a single-user data folder into the team setup.

Copies the ledger (with boards), the review and library databases and prefs.json into PostgreSQL, and with
`--clips s3://bucket/prefix` every clip, thumbnail and blind review copy into the bucket under the same key.
Safe to run again: what is already there is left as it is and counted.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, TextIO

from jobs import settings
from jobs.clipstore import thumb_key_for
from jobs.prefs import PREFS_DOCUMENT, load_prefs_report, prefs_json, prefs_path
from jobs.store.db import is_postgres_url, redact_url


def add_parser(sub: Any) -> None:
    p = sub.add_parser("migrate", help="copy this data folder (ledger, boards, reviews, library, settings) into "
                                       "the team's PostgreSQL, and the clips into a bucket; safe to repeat")
    p.add_argument("--to", required=True, metavar="POSTGRESQL_URL",
                   help="the team database, e.g. postgresql://dailies@db.internal:5432/dailies")
    p.add_argument("--from", dest="source", type=Path, default=None, metavar="DATA_DIR",
                   help="the single-user data folder (default: $DAILIES_DATA_DIR or data/)")
    p.add_argument("--clips", default=None, metavar="s3://BUCKET/PREFIX",
                   help="also copy the clips folder into this bucket (AWS_* variables as for DAILIES_CLIP_STORE)")
    p.add_argument("--clips-dir", type=Path, default=None,
                   help="the local clips folder (default: $DAILIES_CLIPS_DIR or static/clips)")


def run_migrate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if not is_postgres_url(args.to):
        print("error: --to: must be a postgresql:// URL, e.g. postgresql://dailies@db.internal:5432/dailies",
              file=err)
        return 2
    source: Path = args.source or settings.data_dir()
    if not (source / settings.LEDGER_FILENAME).exists():
        print(f"error: --from: no {settings.LEDGER_FILENAME} in {source}", file=err)
        return 2
    from jobs.ledger import Ledger
    from jobs.store.boards import Boards
    from jobs.store.documents import Documents
    from jobs.store.transfer import copy_data_dir
    from library.prompts import PromptLibrary
    from review.bestworst import BestWorstStore
    from review.store import ReviewStore

    # Opening each store upgrades the source files in place and creates the target's tables.
    for store in (Ledger(source / settings.LEDGER_FILENAME), Boards(source / settings.LEDGER_FILENAME)):
        store.close()
    for cls, name in ((ReviewStore, "review.sqlite3"), (BestWorstStore, "review.sqlite3"),
                      (PromptLibrary, "library.sqlite3")):
        if (source / name).exists():
            cls(source / name).close()
    target = Ledger(args.to)
    opened = [Boards(target.database), ReviewStore(args.to), BestWorstStore(args.to), PromptLibrary(args.to)]
    docs = Documents(target.database)
    rewrite = None
    try:
        if args.clips:
            rewrite = _copy_clips(args, source, out)
        print(f"copying {source} into {redact_url(args.to)}", file=out, flush=True)
        report = copy_data_dir(source, target.database, rewrite_job=rewrite)
        prefs, problems = load_prefs_report(prefs_path(source))
        for problem in problems:
            print(f"warning: {problem}", file=err)
        stored = docs.put(PREFS_DOCUMENT, prefs_json(prefs), only_if_missing=True)
        for line in report.lines():
            print(f"  {line}", file=out)
        print(f"  settings: {'copied' if stored else 'already there (kept the team’s)'}", file=out)
    finally:
        for store in opened:
            store.close()
        docs.close()
        target.close()
    print("done: set DAILIES_DATABASE_URL" + (" and DAILIES_CLIP_STORE" if args.clips else "") +
          " on the app and the workers", file=out)
    return 0


def _copy_clips(args: argparse.Namespace, source: Path, out: TextIO):  # noqa: ANN202 - the job rewriter
    from jobs.clipstore_s3 import s3_store_from_env

    folder: Path = args.clips_dir or settings.clips_dir()
    store = s3_store_from_env(args.clips, source / "clip-staging")
    copied = had = 0
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.endswith(".part")):
        key = path.relative_to(folder).as_posix()
        if store.exists(key):
            had += 1
            continue
        store.import_file(path, key)
        copied += 1
    print(f"  clips: {copied} copied, {had} already there ({store.describe()})", file=out, flush=True)

    def rewrite(job: dict[str, Any]) -> dict[str, Any]:
        key = job.get("clip_path")
        if key and not Path(key).is_absolute():
            if job.get("clip_url"):
                job["clip_url"] = store.stable_url(key)
            if job.get("thumb_url"):
                job["thumb_url"] = store.stable_url(thumb_key_for(key))
        return job

    return rewrite
