"""Plain rows in small tables (reviews, votes, best–worst ballots, saved recipes): the few verbs the review and
library modules need, so their rules stay where they are and their SQL lives here.

Table and column names are checked against the columns a component declares, never taken from a caller
as SQL; values always travel as parameters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from jobs.store.db import Database
from jobs.store.migrate import Step, migrate
from jobs.store.open import open_database


class Tables:
    def __init__(self, target: str | Path | Database, components: Sequence[tuple[str, Sequence[Step]]],
                 columns: Mapping[str, Sequence[str]]) -> None:
        self._owns_db = isinstance(target, (str, Path))
        self.db = open_database(target) if isinstance(target, (str, Path)) else target
        for component, steps in components:
            migrate(self.db, component, steps)
        self._columns = {t: tuple(c) for t, c in columns.items()}

    def close(self) -> None:
        if self._owns_db:
            self.db.close()

    def _check(self, table: str, names: Sequence[str]) -> None:
        known = self._columns.get(table)
        if known is None:
            raise ValueError(f"table: {table!r} is not one of {', '.join(self._columns)}")
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ValueError(f"{table}: unknown column(s) {', '.join(unknown)}; allowed: {', '.join(known)}")

    def _where(self, table: str, equals: Mapping[str, Any]) -> tuple[str, list[Any]]:
        self._check(table, list(equals))
        if not equals:
            return "", []
        return " WHERE " + " AND ".join(f"{c} = ?" for c in equals), list(equals.values())

    def insert(self, table: str, row: Mapping[str, Any], *, key: Sequence[str] = ("id",),
               replace: bool = False) -> bool:
        """Insert `row`; on a clash on `key`, keep the stored row (False) or, with `replace`, overwrite it."""
        names = list(row)
        self._check(table, [*names, *key])
        if replace:
            updates = ", ".join(f"{c} = excluded.{c}" for c in names if c not in key)
            conflict = f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"
        else:
            conflict = f"ON CONFLICT ({', '.join(key)}) DO NOTHING"
        sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)}) {conflict}"
        with self.db.write(table) as conn:
            return conn.execute(sql, [row[c] for c in names]).rowcount == 1

    def find(self, table: str, *, order_by: Sequence[str] = (), **equals: Any) -> list[Any]:
        """Rows with these column values, ordered by columns (a leading '-' sorts that column descending)."""
        where, params = self._where(table, equals)
        self._check(table, [c.lstrip("-") for c in order_by])
        order = (" ORDER BY " + ", ".join(f"{c.lstrip('-')} {'DESC' if c.startswith('-') else 'ASC'}"
                                          for c in order_by)) if order_by else ""
        return self.db.read().execute(f"SELECT * FROM {table}{where}{order}", params).fetchall()

    def first(self, table: str, **equals: Any) -> Any:
        rows = self.find(table, **equals)
        return rows[0] if rows else None

    def distinct(self, table: str, column: str) -> list[Any]:
        self._check(table, [column])
        return [r[0] for r in self.db.read().execute(f"SELECT DISTINCT {column} FROM {table}").fetchall()]

    def delete(self, *targets: tuple[str, Mapping[str, Any]]) -> int:
        """Delete from several tables in one transaction: (table, {column: value}) each."""
        removed = 0
        with self.db.write(targets[0][0] if targets else None) as conn:
            for table, equals in targets:
                if not equals:
                    raise ValueError(f"{table}: refusing to delete every row")
                where, params = self._where(table, equals)
                removed += conn.execute(f"DELETE FROM {table}{where}", params).rowcount
        return removed
