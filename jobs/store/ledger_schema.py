"""The ledger's tables and their numbered migrations (jobs/store/migrate.py).

Step 1 is the schema as the first build wrote it, spelled out rather than derived from the `Job`
dataclass: adding a field to `Job` is then a new numbered step here, and a ledger file from any earlier
build upgrades in place. `check_columns` refuses to run on a table that lacks a `Job` field, naming the
missing step, so a forgotten migration fails the tests instead of a user's first write.
"""

from __future__ import annotations

from jobs.store.db import Conn, Database
from jobs.store.migrate import Step
from jobs.store.model import JOB_FIELDS

COMPONENT = "ledger"

_JOBS = """CREATE TABLE IF NOT EXISTS jobs (
        id TEXT PRIMARY KEY,
        run_id TEXT NOT NULL,
        take INTEGER NOT NULL,
        model_id TEXT NOT NULL,
        family TEXT NOT NULL,
        backend TEXT NOT NULL,
        base_url TEXT NOT NULL,
        key_fingerprint TEXT,
        recipe_json TEXT NOT NULL,
        options_json TEXT,
        mapping_json TEXT,
        poll_path TEXT,
        content_path TEXT,
        task_id TEXT,
        state TEXT NOT NULL,
        progress INTEGER,
        est_low_usd REAL,
        est_high_usd REAL,
        error_kind TEXT,
        error_message TEXT,
        charged TEXT,
        raw_status_json TEXT,
        created_at REAL,
        submitted_at REAL,
        first_running_at REAL,
        provider_finished_at REAL,
        detected_at REAL,
        downloaded_at REAL,
        updated_at REAL,
        clip_path TEXT,
        clip_url TEXT,
        clip_sha256 TEXT,
        clip_meta_json TEXT,
        thumb_url TEXT,
        lease_owner TEXT,
        lease_expires_at REAL,
        deadline_at REAL,
        fallback_model TEXT,
        parent_job_id TEXT,
        link_kind TEXT,
        kept INTEGER,
        note TEXT,
        needs_key INTEGER NOT NULL DEFAULT 0,
        time_scale REAL NOT NULL DEFAULT 1.0,
        budget_limit_usd REAL,
        budget_period_start REAL,
        flags_json TEXT
    )"""

_V1_COLUMN_SQL = {line.strip().rstrip(",").split()[0]: line.strip().rstrip(",")
                  for line in _JOBS.splitlines()[1:-1]}

BASELINE = Step(1, "tables of the first build", sql=(
    _JOBS,
    "CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state)",
    "CREATE INDEX IF NOT EXISTS jobs_run ON jobs(run_id)",
    "CREATE INDEX IF NOT EXISTS jobs_created ON jobs(created_at)",
    "CREATE INDEX IF NOT EXISTS jobs_task ON jobs(task_id)",
    """CREATE TABLE IF NOT EXISTS events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        job_id TEXT NOT NULL,
        at REAL NOT NULL,
        from_state TEXT,
        to_state TEXT NOT NULL,
        detail TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS events_job ON events(job_id)",
    """CREATE TABLE IF NOT EXISTS reservations (
        job_id TEXT PRIMARY KEY,
        backend TEXT NOT NULL,
        model_id TEXT NOT NULL,
        amount_usd REAL NOT NULL,
        created_at REAL NOT NULL,
        released INTEGER NOT NULL DEFAULT 0
    )""",
    "CREATE INDEX IF NOT EXISTS reservations_time ON reservations(backend, created_at)",
))


def _columns_of_older_builds(conn: Conn, db: Database) -> None:
    """A file from a build before step 1's last columns gets them (NULL for old rows), as that build did."""
    have = {row["name"] for row in conn.execute("PRAGMA table_info(jobs)")}
    for name, column_sql in _V1_COLUMN_SQL.items():
        if name not in have:
            conn.execute(f"ALTER TABLE jobs ADD COLUMN {column_sql}")
    if "link_kind" not in have:
        # Children written before links had kinds: a remix says so in its mapping, a retry keeps the
        # model, a fallback changed it.
        conn.execute("""UPDATE jobs SET link_kind = CASE
            WHEN mapping_json LIKE '%"remix_of"%' THEN 'remix'
            WHEN model_id = (SELECT p.model_id FROM jobs p WHERE p.id = jobs.parent_job_id) THEN 'retry'
            ELSE 'fallback' END WHERE parent_job_id IS NOT NULL""")


def _add_column(conn: Conn, db: Database, column_sql: str, table: str = "jobs") -> None:
    """ALTER TABLE … ADD COLUMN, unless a build between versions already added it (SQLite has no IF NOT EXISTS
    for columns)."""
    name = column_sql.split()[0]
    if db.dialect == "sqlite":
        have = {row["name"] for row in conn.execute(f"PRAGMA table_info({table})")}
        if name in have:
            return
        conn.execute(f"ALTER TABLE {table} ADD COLUMN {column_sql}")
    else:
        conn.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column_sql}")


def _owners(conn: Conn, db: Database) -> None:
    """Who admitted a job, and whose budget a reservation counts against (NULL for everything made before)."""
    _add_column(conn, db, "owner TEXT")
    _add_column(conn, db, "owner TEXT", table="reservations")
    conn.execute("CREATE INDEX IF NOT EXISTS jobs_owner_created ON jobs(owner, created_at)")
    conn.execute("CREATE INDEX IF NOT EXISTS reservations_owner_time ON reservations(backend, owner, created_at)")


STEPS: tuple[Step, ...] = (
    BASELINE,
    Step(2, "columns an older SQLite file lacks", run=_columns_of_older_builds, dialects=("sqlite",)),
    Step(3, "History lists by time within a backend",
         sql=("CREATE INDEX IF NOT EXISTS jobs_backend_created ON jobs(backend, created_at)",)),
    Step(4, "a callback's poll-now hint", run=lambda conn, db: _add_column(conn, db, "poll_hint TEXT")),
    Step(5, "who admitted each job, whose budget each reservation counts against", run=_owners),
    Step(6, "a worker finds its leases (heartbeat, release, callback hints) by owner",
         sql=("CREATE INDEX IF NOT EXISTS jobs_lease_owner ON jobs(lease_owner)",)),
    # SQLite read every row of a state (8,000 downloaded of 10,000) to sort them for Compare's 300 newest clips:
    # 32 ms, 1.6 ms with this index (bench/store_scale.py; PostgreSQL was already fast through jobs_created).
    Step(7, "the newest jobs of a state (Compare's clips to add, History's state filter)",
         sql=("CREATE INDEX IF NOT EXISTS jobs_state_created ON jobs(state, created_at)",)),
    Step(8, "settings changes for the Activity table", sql=(
        """CREATE TABLE IF NOT EXISTS activity (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            at REAL NOT NULL,
            who TEXT,
            action TEXT NOT NULL,
            detail TEXT,
            cost_usd REAL
        )""",
        "CREATE INDEX IF NOT EXISTS activity_at ON activity(at)",
    )),
    Step(9, "the per-person limit a job was admitted under (its fallback take must fit it too)",
         run=lambda conn, db: _add_column(conn, db, "person_limit_usd REAL")),
)


def check_columns(db: Database) -> None:
    names = _column_names(db)
    missing = [f for f in JOB_FIELDS if f not in names]
    if missing:
        raise RuntimeError(f"ledger: the jobs table has no column for {', '.join(missing)}; add a numbered "
                           "step to jobs/store/ledger_schema.py STEPS that adds it")


def _column_names(db: Database) -> set[str]:
    if db.dialect == "sqlite":
        return {row["name"] for row in db.read().execute("PRAGMA table_info(jobs)")}
    rows = db.read().execute("SELECT column_name FROM information_schema.columns WHERE table_name = 'jobs' "
                             "AND table_schema = current_schema()").fetchall()
    return {r[0] for r in rows}
