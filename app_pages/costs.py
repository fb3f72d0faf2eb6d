"""Costs: what a plan would cost on every model, and what was spent, estimated against recorded, per kept clip."""

from __future__ import annotations

import dataclasses

import altair as alt
import pandas as pd
import streamlit as st

from components.data_cache import data_version, session_cached
from components.keys import current_backend
from components.runtime import get_runtime
from jobs import costs
from jobs.prefs import period_start
from providers.errors import DailiesError
from providers.model_prices import fetch_prices, merge_overrides

rt = get_runtime()
backend = current_backend(rt)
catalog = rt.catalog
st.title("Costs")

# --- calculator -----------------------------------------------------------------------------------------------
st.subheader("Calculator")
c1, c2, c3, c4, c5 = st.columns(5)
clips = int(c1.number_input("Clips", min_value=0, max_value=100000, value=10, step=1, key="calc_clips"))
duration = int(c2.number_input("Seconds each", min_value=1, max_value=20, value=8, step=1, key="calc_duration"))
ratio = c3.selectbox("Aspect ratio", ["16:9", "9:16", "1:1"], key="calc_ratio")
mode = c4.selectbox("Kling mode", ["std", "pro"], key="calc_mode")
per_day = int(c5.number_input("Videos a day (projection)", min_value=0, max_value=100000, value=20, step=1,
                              key="calc_per_day"))
rows = costs.calculate(catalog, clips=clips, duration_s=duration, ratio=ratio, mode=mode, per_day=per_day)
table = pd.DataFrame([{
    "model": r.display_name, "model_id": r.model_id, "available": r.available, "billed_s": r.duration_s,
    "size": r.size or "—", "mode": r.mode or "—", "per_clip_low": r.per_clip_low, "per_clip_high": r.per_clip_high,
    "total_low": r.total_low, "total_high": r.total_high, "monthly_low": r.monthly_low,
    "monthly_high": r.monthly_high, "exact": r.exact, "rule": r.rule, "source": r.source, "as_of": r.as_of,
} for r in rows])
money = st.column_config.NumberColumn(format="$%.2f")
st.dataframe(table, hide_index=True, width="stretch", key="calc_table", column_config={
    "per_clip_low": money, "per_clip_high": money, "total_low": money, "total_high": money,
    "monthly_low": st.column_config.NumberColumn(f"monthly_low ({per_day}/day × {costs.DAYS_PER_MONTH} d)",
                                                  format="$%.2f"),
    "monthly_high": money})
chart = alt.Chart(table).mark_bar().encode(
    y=alt.Y("model:N", sort="-x", title=None),
    x=alt.X("total_high:Q", title=f"{clips} clips × {duration} s (USD, upper end)"),
    x2="total_low:Q",
    color=alt.Color("exact:N", title="exact price"),
    tooltip=["model", "rule", "source", "as_of", alt.Tooltip("total_low:Q", format="$.2f"),
             alt.Tooltip("total_high:Q", format="$.2f")],
) + alt.Chart(table).mark_tick(color="white", thickness=2).encode(y=alt.Y("model:N", sort="-x"), x="total_low:Q")
st.altair_chart(chart, width="stretch")
st.caption("A bar from low to high is a price range (the source gives no exact rule); the budget always counts "
           "the high end. Durations are rounded to the nearest length each model offers.")

# --- spend from the ledger -------------------------------------------------------------------------------------
version = data_version(rt)


def _spend(which: str) -> dict:
    jobs = rt.ledger.list_jobs(backend=which)
    return {"by_model": costs.spend_by_model(jobs, catalog),
            "reserved_by_model": rt.ledger.spend_by_model(which), "by_day": rt.ledger.spend_by_day(which)}


def render_spend(which: str, title: str) -> None:
    data = session_cached(f"costs_{which}", version, lambda: _spend(which))
    st.subheader(title)
    by_model = data["by_model"]
    if not by_model:
        st.caption("No takes yet.")
        return
    total = costs.totals(by_model)
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Estimated (delivered takes)", f"${total.estimated_usd:.2f}")
    m2.metric("Recorded (price rule on delivered clips)", f"${total.recorded_usd:.2f}")
    per_kept = (total.recorded_usd + total.failed_charged_usd) / total.kept if total.kept else None
    m3.metric("Cost per kept clip", f"${per_kept:.2f}" if per_kept is not None else "—")
    m4.metric("Failed: charged / not / unknown",
              f"{total.failed_charged} / {total.failed_not_charged} / {total.failed_unknown}")
    frame = pd.DataFrame([r.as_row() for r in by_model.values()])
    st.dataframe(frame, hide_index=True, width="stretch", key=f"spend_table_{which}", column_config={
        "estimated_usd": money, "recorded_usd": money, "cost_per_kept_usd": money})
    days = data["by_day"]
    if days:
        daily = pd.DataFrame({"day": list(days), "usd": list(days.values())})
        st.altair_chart(alt.Chart(daily).mark_bar().encode(x=alt.X("day:N", title=None),
                                                           y=alt.Y("usd:Q", title="reserved USD per day"),
                                                           tooltip=["day", alt.Tooltip("usd:Q", format="$.2f")]),
                        width="stretch")
    reserved = data["reserved_by_model"]
    if reserved:
        st.caption("Reserved against the budget by model: "
                   + ", ".join(f"{m} ${v:.2f}" for m, v in reserved.items()))


render_spend("live", "Live spend")
since = period_start(rt.prefs.budget_period)
st.caption(f"Budget: ${rt.prefs.budget_usd:.2f} per {rt.prefs.budget_period}; "
           f"${rt.ledger.spend_total('live', since=since):.2f} reserved this {rt.prefs.budget_period}.")
render_spend("sandbox", "Sandbox (simulated, never counted)")

# --- prices ----------------------------------------------------------------------------------------------------
st.subheader("Prices")
st.dataframe(pd.DataFrame([{"model": m.display_name, "model_id": m.id, "kind": m.price.kind,
                            "usd_per_second": m.price.usd_per_second, "usd": m.price.usd,
                            "low_usd": m.price.low_usd, "high_usd": m.price.high_usd, "source": m.price.source,
                            "as_of": m.price.as_of} for m in catalog.models()]),
             hide_index=True, width="stretch", key="price_table")
st.caption("Override any price in Settings.")
if backend.sandbox:
    st.caption("Refreshing from CometAPI's public model catalogue is available when the app is live.")
elif st.button("Refresh prices from CometAPI", key="refresh_prices", icon=":material/sync:"):
    try:
        refresh = fetch_prices(backend.base_url, catalog)
    except DailiesError as e:
        st.error(f"Could not refresh prices: {e.message}")
    else:
        rt.save_prefs(dataclasses.replace(rt.prefs, model_overrides=merge_overrides(rt.prefs.model_overrides,
                                                                                     refresh)))
        st.success(f"Updated {len(refresh.overrides)} price(s) from {refresh.source_url}; "
                   f"{len(refresh.skipped)} model(s) kept their catalog price.")
