"""SQLite persistence of sandbox tasks, so a restarted sandbox still knows the tasks a client is tracking."""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Task:
    """One generation task as the sandbox remembers it; its state is derived from the clock, not stored."""

    id: str
    family: str  # veo | sora | kling | runway
    model: str
    action: str  # videos | text2video | image2video | image_to_video | remix
    params: dict[str, Any]  # prompt, seconds, width, height, size label, image path, ...
    created_at: float  # real Unix time of the submit
    render_s: float  # simulated seconds until done
    faults: dict[str, Any] = field(default_factory=dict)  # task-level faults decided at submit
    polls: int = 0


class TaskStore:
    """Tasks and the URL-signing secret, in <data_dir>/sandbox.sqlite3."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(data_dir / "sandbox.sqlite3", check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # a simulator needs crash-consistency, not durability
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS tasks (id TEXT PRIMARY KEY, family TEXT, model TEXT, action TEXT,"
            " params TEXT, created_at REAL, render_s REAL, faults TEXT, polls INTEGER)"
        )
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")

    def secret(self) -> bytes:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key='url_secret'").fetchone()
            if row:
                return bytes.fromhex(row[0])
            value = secrets.token_bytes(32)
            self._db.execute("INSERT INTO meta VALUES ('url_secret', ?)", (value.hex(),))
            return value

    def add(self, task: Task) -> None:
        d = asdict(task)
        with self._lock:
            self._db.execute(
                "INSERT INTO tasks VALUES (?,?,?,?,?,?,?,?,?)",
                (d["id"], d["family"], d["model"], d["action"], json.dumps(d["params"]), d["created_at"],
                 d["render_s"], json.dumps(d["faults"]), d["polls"]),
            )

    def get(self, task_id: str) -> Task | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, family, model, action, params, created_at, render_s, faults, polls FROM tasks WHERE id=?",
                (task_id,),
            ).fetchone()
        if row is None:
            return None
        return Task(row[0], row[1], row[2], row[3], json.loads(row[4]), row[5], row[6], json.loads(row[7]), row[8])

    def by_external_id(self, family: str, external_id: str) -> Task | None:
        """The task a client tagged with its own id (Kling's `external_task_id`, "can be used to query")."""
        with self._lock:
            row = self._db.execute(
                "SELECT id FROM tasks WHERE family=? AND json_extract(params, '$.external_task_id')=? "
                "ORDER BY created_at LIMIT 1", (family, external_id)).fetchone()
        return self.get(row[0]) if row else None

    def by_kling_video_id(self, video_id: str) -> Task | None:
        """The Kling-dialect task whose result video has this id (`<task id minus 3 digits>v01`, dialects.py)."""
        if not video_id.endswith("v01") or len(video_id) < 4:
            return None
        with self._lock:
            row = self._db.execute(
                "SELECT id FROM tasks WHERE id LIKE ? AND length(id) = ? AND family LIKE 'kling%'",
                (video_id[:-3].replace("%", "").replace("_", "") + "%", len(video_id))).fetchone()
        return self.get(row[0]) if row else None

    def count_poll(self, task: Task) -> int:
        """Record one poll of the task and return how many polls it has had, this one included."""
        with self._lock:
            self._db.execute("UPDATE tasks SET polls = polls + 1 WHERE id=?", (task.id,))
            task.polls = self._db.execute("SELECT polls FROM tasks WHERE id=?", (task.id,)).fetchone()[0]
        return task.polls

    def close(self) -> None:
        with self._lock:
            self._db.close()
