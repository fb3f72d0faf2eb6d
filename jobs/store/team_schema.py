"""The tables of the team's shared work beside the ledger: reviews and votes, best–worst ballots, saved recipes.

On a single-user machine reviews and ballots live in review.sqlite3 and the library in library.sqlite3; on
a team database all of them sit in one PostgreSQL database. Each component has its own numbered steps.
"""

from __future__ import annotations

from jobs.store.migrate import Step

REVIEW_STEPS = (Step(1, "tables of the first build", sql=(
    """CREATE TABLE IF NOT EXISTS reviews (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        created_at REAL NOT NULL,
        tags_json TEXT NOT NULL DEFAULT '[]',
        pairs_json TEXT NOT NULL,
        clips_json TEXT NOT NULL,
        sources_json TEXT NOT NULL DEFAULT '[]'
    )""",
    """CREATE TABLE IF NOT EXISTS votes (
        id TEXT PRIMARY KEY,
        review_id TEXT NOT NULL,
        created_at REAL NOT NULL,
        reviewer TEXT NOT NULL DEFAULT '',
        job_a TEXT NOT NULL,
        job_b TEXT NOT NULL,
        model_a TEXT NOT NULL,
        model_b TEXT NOT NULL,
        winner TEXT NOT NULL CHECK (winner IN ('a', 'b', 'tie')),
        reasons_json TEXT NOT NULL DEFAULT '[]',
        tags_json TEXT NOT NULL DEFAULT '[]',
        prompt TEXT NOT NULL DEFAULT ''
    )""",
    "CREATE INDEX IF NOT EXISTS votes_review ON votes(review_id)",
    "CREATE INDEX IF NOT EXISTS votes_time ON votes(created_at)",
)), Step(2, "one person, one vote per pair of a review", sql=(
    # voter: the signed-in email (NULL with no sign-in); pair_key: the pair in either order, set with a voter.
    # NULLs are distinct in a unique index on SQLite and PostgreSQL alike, so anonymous votes never clash.
    "ALTER TABLE votes ADD COLUMN voter TEXT",
    "ALTER TABLE votes ADD COLUMN pair_key TEXT",
    "CREATE UNIQUE INDEX IF NOT EXISTS votes_one_per_person ON votes(review_id, voter, pair_key)",
)),)

BEST_WORST_STEPS = (Step(1, "tables of the first build", sql=(
    """CREATE TABLE IF NOT EXISTS best_worst_votes (
        id TEXT PRIMARY KEY,
        source TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL,
        reviewer TEXT NOT NULL DEFAULT '',
        jobs_json TEXT NOT NULL,
        models_json TEXT NOT NULL,
        best INTEGER NOT NULL,
        worst INTEGER NOT NULL,
        tags_json TEXT NOT NULL DEFAULT '[]',
        prompt TEXT NOT NULL DEFAULT '',
        CHECK (best != worst)
    )""",
    "CREATE INDEX IF NOT EXISTS best_worst_time ON best_worst_votes(created_at)",
)), Step(2, "who cast each ballot; one person, one ballot per set of clips", sql=(
    # voter: the signed-in email (NULL with no sign-in, and for ballots cast before); set_key: the set's clips in
    # any order, set with a voter. As for votes, NULLs never clash in the unique index.
    "ALTER TABLE best_worst_votes ADD COLUMN voter TEXT",
    "ALTER TABLE best_worst_votes ADD COLUMN set_key TEXT",
    "CREATE UNIQUE INDEX IF NOT EXISTS best_worst_one_per_person ON best_worst_votes(voter, set_key)",
)),)

LIBRARY_STEPS = (Step(1, "tables of the first build", sql=(
    """CREATE TABLE IF NOT EXISTS saved_recipes (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        tags_json TEXT NOT NULL DEFAULT '[]',
        recipe_json TEXT NOT NULL,
        variants_json TEXT NOT NULL DEFAULT '[]',
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS recipe_runs (
        recipe_id TEXT NOT NULL,
        run_id TEXT NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (recipe_id, run_id)
    )""",
    "CREATE INDEX IF NOT EXISTS recipe_runs_run ON recipe_runs(run_id)",
)), Step(2, "who saved each recipe", sql=(
    "ALTER TABLE saved_recipes ADD COLUMN created_by TEXT",  # NULL before, and with no sign-in
)),)

REVIEW_COLUMNS = {
    "reviews": ("id", "name", "created_at", "tags_json", "pairs_json", "clips_json", "sources_json"),
    "votes": ("id", "review_id", "created_at", "reviewer", "job_a", "job_b", "model_a", "model_b", "winner",
              "reasons_json", "tags_json", "prompt", "voter", "pair_key"),
}
BEST_WORST_COLUMNS = {
    "best_worst_votes": ("id", "source", "created_at", "reviewer", "jobs_json", "models_json", "best", "worst",
                         "tags_json", "prompt", "voter", "set_key"),
}
LIBRARY_COLUMNS = {
    "saved_recipes": ("id", "name", "tags_json", "recipe_json", "variants_json", "created_at", "updated_at",
                      "created_by"),
    "recipe_runs": ("recipe_id", "run_id", "created_at"),
}
