"""Everything persistent, behind one package: the only code in Dailies that speaks SQL.

* db.py — what a store sees of a database; sqlite_db.py and pg_db.py — the two backends; open.py picks one.
* migrate.py — numbered schema steps per component, recorded in `schema_versions`.
* model.py — the Job and its states; ledger.py (+ leases.py, budget.py) — the ledger's rules;
  ledger_schema.py — its tables.
* boards.py, reviews.py, bestworst.py, recipes.py — the other stores, each with its own schema steps.
"""
