"""The job engine: ledger, poll schedule, runner, clip store and batch CLI. Never imports Streamlit."""
