"""Rankings: every blind vote on this deployment pooled into one Bradley–Terry table, per category and per dollar."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from components.review_runtime import model_name, review_store
from components.runtime import get_runtime
from review.ranking import catalog_cost_per_s, price_view, rank, to_csv

rt = get_runtime()
store = review_store(rt)

st.title("Rankings")
st.caption("Bradley–Terry ratings from everyone's blind votes (a tie counts half a win each way). 400 points "
           "= 10:1 odds of winning a head-to-head. The interval is a 95 % bootstrap over votes.")

ALL = "All categories"
category = st.selectbox("Category", [ALL, *store.tags()], key="rank_category")
votes = store.votes(tag=None if category == ALL else category)
if not votes:
    st.info("No votes yet. Start a blind review on the Review page.", icon=":material/how_to_vote:")
    st.stop()

rows = rank(votes)


def cost(model_id: str) -> float | None:
    return catalog_cost_per_s(rt.catalog, model_id)


st.metric("Votes", len(votes))
table = pd.DataFrame([{
    "rank": r.rank, "model": model_name(rt, r.model_id), "rating": round(r.rating), "95% interval":
    f"{r.ci_low:.0f}–{r.ci_high:.0f}", "votes": r.votes, "won": r.wins, "lost": r.losses, "tied": r.ties,
    "$ per second": cost(r.model_id)} for r in rows])
st.dataframe(table, hide_index=True, width="stretch",
             column_config={"$ per second": st.column_config.NumberColumn(format="$%.3f")})

st.subheader("Against price")
st.caption("Price per second of video at each model's default length (catalog, upper end). A model on the "
           "frontier has no rival that is both at least as good and no more expensive.")
priced = price_view(rows, cost)
frame = pd.DataFrame([{"model": model_name(rt, p.model_id), "rating": p.rating, "low": p.ci_low,
                       "high": p.ci_high, "usd_per_s": p.cost_per_s, "frontier": p.frontier, "votes": p.votes}
                      for p in priced if p.cost_per_s is not None])
if not frame.empty:
    base = alt.Chart(frame).encode(x=alt.X("usd_per_s:Q", title="$ per second of video"))
    chart = (base.mark_rule().encode(y=alt.Y("low:Q", title="rating"), y2="high:Q")
             + base.mark_point(filled=True, size=90).encode(
                 y="rating:Q", color=alt.Color("frontier:N", title="on the frontier"),
                 tooltip=["model", alt.Tooltip("rating:Q", format=".0f"), "votes",
                          alt.Tooltip("usd_per_s:Q", format="$.3f")])
             + base.mark_text(dy=-12).encode(y="rating:Q", text="model"))
    st.altair_chart(chart, width="stretch")
    st.dataframe(frame[["model", "usd_per_s", "rating", "frontier", "votes"]].round({"rating": 0}),
                 hide_index=True, width="stretch",
                 column_config={"usd_per_s": st.column_config.NumberColumn("$ per second", format="$%.3f")})

csv_text = to_csv(rows, category="all" if category == ALL else category, names=lambda m: model_name(rt, m),
                  cost_per_s=cost)
st.download_button("Download CSV", data=csv_text, file_name=f"rankings-{category.replace(' ', '-')}.csv",
                   mime="text/csv", key="rank_csv", icon=":material/download:")
