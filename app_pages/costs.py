"""Costs: what a plan would cost on every model, and what was spent, estimated against recorded, per kept clip."""

from __future__ import annotations

import dataclasses

import altair as alt
import pandas as pd
import streamlit as st

from components.auth import admin_only_note, current_identity
from components.data_cache import data_version, session_cached
from components.keys import current_backend
from components.rate_card import render_rate_card
from components.runtime import get_runtime
from jobs import costs
from jobs.prefs import period_start
from providers.errors import DailiesError, ValidationError
from providers.model_prices import fetch_prices, merge_overrides
from providers.pricing import NO_PRICE_RULE
from providers.rate_card import YOURS_SOURCE, link_in, money, money_range

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


def _kind(r: costs.CalcRow) -> str:
    if r.rule == NO_PRICE_RULE:
        return "no price"
    if not r.exact:
        return "range (unconfirmed)"  # also a model with your price for other lengths or modes only
    return "your price" if r.source == YOURS_SOURCE else "exact"


table = pd.DataFrame([{
    "model": r.display_name, "model_id": r.model_id, "available": r.available, "billed_s": r.duration_s,
    "size": r.size or "—", "mode": r.mode or "—",
    # One column for what is billed keeps Source and Checked on screen at 1440 px.
    "billed_as": " · ".join([f"{r.duration_s} s", *(x for x in (r.size, r.mode) if x)]),
    "per_clip": money_range(r.per_clip_low, r.per_clip_high),
    "total": money_range(r.total_low, r.total_high), "monthly": money_range(r.monthly_low, r.monthly_high),
    "price": _kind(r), "source": link_in(r.source), "as_of": r.as_of if link_in(r.source) else "unverified",
    # numbers kept for the chart (not shown in the table)
    "per_clip_low": r.per_clip_low, "per_clip_high": r.per_clip_high, "total_low": r.total_low,
    "total_high": r.total_high, "monthly_low": r.monthly_low, "monthly_high": r.monthly_high, "exact": r.exact,
    "rule": r.rule,
} for r in rows])
st.dataframe(table, hide_index=True, width="stretch", key="calc_table", placeholder="—",
             column_order=["model", "available", "billed_as", "per_clip", "total", "monthly", "price", "source",
                           "as_of"],
             column_config={
                 "model": st.column_config.TextColumn("Model"),
                 "available": st.column_config.CheckboxColumn("Available"),
                 "billed_as": st.column_config.TextColumn("Billed as", help="The nearest length the model offers, "
                                                          "the size sent and Kling's mode."),
                 "per_clip": st.column_config.TextColumn("Per clip"),
                 "total": st.column_config.TextColumn(f"{clips} clips"),
                 "monthly": st.column_config.TextColumn(f"A month at {per_day}/day",
                                                        help=f"{per_day} clips a day × {costs.DAYS_PER_MONTH} days"),
                 "price": st.column_config.TextColumn("Price", help="exact: a published rule; range: the source gives "
                                                      "no exact price (set yours in Settings → Rate card)."),
                 "source": st.column_config.LinkColumn("Source", display_text=r"https://(?:www\.)?([^/]+)"),
                 "as_of": st.column_config.TextColumn("Checked"),
             })
PRICE_COLOURS = alt.Scale(domain=["exact", "range (unconfirmed)", "your price"],
                          range=["#4c9be8", "#f5b83d", "#6fcf97"])
# A model with no price is left out of the chart: a bar at $0.00 would read as free.
priced_rows = table[table["price"] != "no price"]
no_price_names = sorted(table.loc[table["price"] == "no price", "model"])
chart = alt.Chart(priced_rows).mark_bar().encode(
    y=alt.Y("model:N", sort="-x", title=None),
    x=alt.X("total_high:Q", title=f"{clips} clips × {duration} s (USD, upper end; a tick marks a range's low end)",
            axis=alt.Axis(format="$,.2f")),
    color=alt.Color("price:N", title="Price", scale=PRICE_COLOURS),
    tooltip=[alt.Tooltip("model", title="Model"), alt.Tooltip("total", title="Total"),
             alt.Tooltip("price", title="Price"), alt.Tooltip("rule", title="Rule"),
             alt.Tooltip("as_of", title="Checked")],
) + alt.Chart(table[table["price"] == "range (unconfirmed)"]).mark_tick(color="white", thickness=2).encode(
    y=alt.Y("model:N", sort="-x"), x="total_low:Q")
st.altair_chart(chart.configure_axis(labelColor="#a4a29e", titleColor="#e8e6e3", gridColor="#2a2d35")
                .configure_legend(labelColor="#e8e6e3", titleColor="#e8e6e3"), width="stretch")
st.caption("Bars reach the upper end; a white tick marks the low end of a price range (the source gives no exact "
           "rule). The budget always counts the high end. Durations are rounded to the nearest length each model "
           "offers. Set a real price in Settings → Rate card and it replaces the range.")
if no_price_names:
    st.caption("Not in the chart, no price: " + ", ".join(no_price_names) + ".")


def _name(model_id: str) -> str:
    try:
        return catalog.get(model_id).display_name
    except ValidationError:  # a model since removed from the catalog still has spend
        return model_id


# --- spend from the ledger -------------------------------------------------------------------------------------
version = data_version(rt)


def _spend(which: str) -> dict:
    jobs = rt.ledger.list_jobs(backend=which)
    return {"by_model": costs.spend_by_model(jobs, catalog),
            "reserved_by_model": rt.ledger.spend_by_model(which), "by_day": rt.ledger.spend_by_day(which),
            "ranged": {j.model_id for j in jobs if costs.range_priced(j)}}


def _booked_text(row: costs.ModelSpend, usd: float) -> str:
    """A spend cell: "no price" for takes of an unpriced model (never $0.00), and says when a range's top is counted."""
    priced = row.delivered - row.unpriced_delivered
    if not row.delivered:
        return "—"
    if not priced:
        return "no price"
    text = money(usd)
    if row.range_delivered:
        text += " (top of the price range; no exact price)"
    if row.unpriced_delivered:
        text += f" + {row.unpriced_delivered} with no price"
    return text


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
    frame = pd.DataFrame([{**r.as_row(), "name": _name(r.model_id),
                           "per_kept": "—" if r.cost_per_kept is None else money(r.cost_per_kept),
                           "estimated": _booked_text(r, r.estimated_usd), "recorded": _booked_text(r, r.recorded_usd)}
                          for r in by_model.values()])
    count = st.column_config.NumberColumn
    st.dataframe(frame, hide_index=True, width="stretch", key=f"spend_table_{which}", column_order=[
        "name", "takes", "delivered", "kept", "discarded", "estimated", "recorded", "per_kept",
        "failed_charged", "failed_not_charged", "failed_unknown"], column_config={
        "name": st.column_config.TextColumn("Model"), "takes": count("Takes"), "delivered": count("Delivered"),
        "kept": count("Kept"), "discarded": count("Discarded"),
        "estimated": st.column_config.TextColumn("Estimated"),
        "recorded": st.column_config.TextColumn("Recorded", help="The price rule on the delivered clip; for a "
                                                "range-priced model, the top of the range (no exact price)."),
        "per_kept": st.column_config.TextColumn("Per kept clip"),
        "failed_charged": count("Failed, charged"), "failed_not_charged": count("Failed, not charged"),
        "failed_unknown": count("Failed, charge unknown")})
    days = data["by_day"]
    if days:
        daily = pd.DataFrame({"day": list(days), "usd": list(days.values())})
        st.altair_chart(alt.Chart(daily).mark_bar().encode(x=alt.X("day:N", title=None),
                                                           y=alt.Y("usd:Q", title="Reserved per day",
                                                                   axis=alt.Axis(format="$,.2f")),
                                                           tooltip=["day", alt.Tooltip("usd:Q", format="$.2f")]),
                        width="stretch")
    reserved = data["reserved_by_model"]
    if reserved:
        ranged = data["ranged"]  # any take priced from a range, delivered or still running
        st.caption("Reserved against the budget by model: "
                   + ", ".join(f"{_name(m)} {money(v)}" + (f" ({costs.RANGE_TOP_NOTE})" if m in ranged else "")
                               for m, v in reserved.items()))


render_spend("live", "Live spend")
since = period_start(rt.prefs.budget_period)
st.caption(f"Budget: ${rt.prefs.budget_usd:.2f} per {rt.prefs.budget_period}; "
           f"${rt.ledger.spend_total('live', since=since):.2f} reserved this {rt.prefs.budget_period}.")
render_spend("sandbox", "Sandbox (simulated, never counted)")

# --- prices ----------------------------------------------------------------------------------------------------
st.subheader("Prices")
st.caption("The rate card every estimate uses. Set your own prices in Settings → Rate card.")
render_rate_card(rt, editable=False)
if backend.sandbox:
    st.caption("Refreshing from CometAPI's public model catalogue is available when the app is live.")
elif not current_identity().is_admin:  # a price refresh rewrites the rate card: an admin's change
    st.caption(admin_only_note(current_identity()))
elif st.button("Refresh prices from CometAPI", key="refresh_prices", icon=":material/sync:"):
    try:
        refresh = fetch_prices(backend.base_url, catalog)
    except DailiesError as e:
        st.error(f"Could not refresh prices: {e.message}")
    else:
        rt.save_prefs(dataclasses.replace(rt.prefs, model_overrides=merge_overrides(rt.prefs.model_overrides,
                                                                                     refresh)),
                     by=current_identity())
        st.success(f"Updated {len(refresh.overrides)} price(s) from {refresh.source_url}; "
                   f"{len(refresh.skipped)} model(s) kept their catalog price.")
