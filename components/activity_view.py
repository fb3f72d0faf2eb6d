"""Settings → Activity: who spent what and who changed which setting, newest first, exportable as CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import streamlit as st

from components.runtime import Runtime
from jobs import settings

COLUMNS = ("When", "Who", "What", "Detail", "Cost (USD)")


def activity_rows(rt: Runtime) -> list[dict[str, Any]]:
    zone = settings.timezone()
    return [{"When": dt.datetime.fromtimestamp(r["at"], zone).strftime("%Y-%m-%d %H:%M:%S"),
             "Who": r["who"] or "(no sign-in)", "What": r["action"], "Detail": r["detail"] or "",
             "Cost (USD)": None if r["cost_usd"] is None else round(float(r["cost_usd"]), 4)}
            for r in rt.ledger.activity()]


def activity_csv(rows: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def render_activity(rt: Runtime) -> None:
    st.subheader("Activity")
    rows = activity_rows(rt)
    if not rows:
        st.caption("No paid action or settings change yet.")
        return
    st.caption("Every take that reserved money (sandbox takes are simulated and never counted) and every settings "
               "change, with who did it. The API key never appears here.")
    # Shown as money ($2.64, $0.20); the CSV keeps plain numbers for spreadsheets.
    st.dataframe(rows, hide_index=True, width="stretch", key="activity_table",
                 column_config={"Cost (USD)": st.column_config.NumberColumn("Cost (USD)", format="$%.2f")})
    st.download_button("Download activity (CSV)", activity_csv(rows), file_name="dailies-activity.csv",
                       mime="text/csv", icon=":material/download:")
