"""Rankings: every blind vote on this deployment pooled into one Bradley–Terry table, per category and per dollar."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components.auth import current_identity
from components.rankings_chart import price_chart
from components.review_runtime import best_worst_store, model_name, review_store
from components.runtime import get_runtime
from review.arena import as_ballot, ledger_pools, pool_label, select, split_pools
from review.ranking import (
    MIN_VOTES,
    PRELIMINARY_VOTES,
    TOO_FEW,
    catalog_cost_per_s,
    price_view,
    rank,
    to_csv,
)

rt = get_runtime()
store = review_store(rt)

st.title("Rankings")
st.caption("Bradley–Terry ratings from everyone's blind votes (a tie counts half a win each way; a best–worst vote "
           "counts as best over each other clip and each other clip over worst). 400 points = 10:1 odds of winning "
           "a head-to-head. The interval is a 95 % bootstrap over votes; models are sorted by its lower end and share "
           f"a rank while their intervals overlap. A model needs {MIN_VOTES} votes for a rank, and its rank is "
           f"preliminary below {PRELIMINARY_VOTES}.")

who = current_identity()
mine_only = bool(who.email) and st.toggle(
    "Only my votes", key="rank_mine",
    help="Off: everyone's votes (one per person per pair and per best–worst set). On: only the votes you cast "
         "signed in.")
ballots = [as_ballot(v) for v in store.votes()] + best_worst_store(rt).ballots()
if mine_only:
    ballots = [b for b in ballots if b.voter == who.email]
voted_jobs = rt.ledger.get_many(sorted({j for b in ballots for j in b.jobs}))
by_pool, left_out = split_pools(ballots, ledger_pools(voted_jobs, ballots))
if not by_pool:
    st.info("No votes yet. Start a blind review on the Review page.", icon=":material/how_to_vote:")
    st.stop()

ALL = "All categories"
ALL_PROMPTS = "All prompts"
pools = sorted(by_pool, key=lambda p: (-len(by_pool[p]), pool_label(p)))
f1, f2, f3 = st.columns(3)
pool = f1.selectbox("Pool", pools, format_func=lambda p: f"{pool_label(p)} ({len(by_pool[p])} votes)",
                    key="rank_pool", help="Text-to-video and image-to-video, with and without sound (as measured "
                                          "on the clips), are ranked apart: each model against the same job. A "
                                          "clip with sound against a silent one counts as a picture comparison, "
                                          "in the no-audio pool.")
in_pool = by_pool[pool]
category = f2.selectbox("Category", [ALL, *sorted({t for b in in_pool for t in b.tags})], key="rank_category")
prompt = f3.selectbox("Prompt", [ALL_PROMPTS, *sorted({b.prompt for b in in_pool if b.prompt})], key="rank_prompt")
votes = select(in_pool, tag=None if category == ALL else category, prompt=None if prompt == ALL_PROMPTS else prompt)
if left_out:
    st.caption(f"{len(left_out)} vote{'s' if len(left_out) != 1 else ''} compared clips from different pools "
               "(text-to-video against image-to-video) and count in none.")
if not votes:
    st.info("No votes in this category for this prompt.", icon=":material/filter_alt_off:")
    st.stop()

rows = rank(votes)


def cost(model_id: str) -> float | None:
    return catalog_cost_per_s(rt.catalog, model_id)


st.metric("Votes", len(votes))
table = pd.DataFrame([{
    "rank": str(r.rank) if r.rank else "—", "model": model_name(rt, r.model_id), "rating": round(r.rating),
    "95% interval": f"{r.ci_low:.0f}–{r.ci_high:.0f}", "votes": r.votes, "won": r.wins, "lost": r.losses,
    "tied": r.ties, "status": r.status, "$ per second": cost(r.model_id)} for r in rows])
st.dataframe(table, hide_index=True, width="stretch",
             column_config={"$ per second": st.column_config.NumberColumn(format="$%.3f"),
                            **{c: st.column_config.Column(c.capitalize()) for c in
                               ("rank", "model", "rating", "votes", "won", "lost", "tied", "status")}})

st.subheader("Against price")
st.caption("Price per second of video at each model's default length (catalog, upper end). A model on the "
           "frontier has no rival that is both at least as good and no more expensive.")
priced = price_view([r for r in rows if r.status != TOO_FEW], cost)
frame = pd.DataFrame([{"model": model_name(rt, p.model_id), "rating": p.rating, "low": p.ci_low,
                       "high": p.ci_high, "usd_per_s": p.cost_per_s, "frontier": p.frontier, "votes": p.votes}
                      for p in priced if p.cost_per_s is not None])
if not frame.empty:
    st.altair_chart(price_chart(frame), width="stretch")
    st.dataframe(frame[["model", "usd_per_s", "rating", "frontier", "votes"]].round({"rating": 0}),
                 hide_index=True, width="stretch",
                 column_config={"model": st.column_config.TextColumn("Model"),
                                "usd_per_s": st.column_config.NumberColumn("$ per second", format="$%.3f"),
                                "rating": st.column_config.NumberColumn("Rating"),
                                "frontier": st.column_config.CheckboxColumn("On the frontier"),
                                "votes": st.column_config.NumberColumn("Votes")})

csv_text = to_csv(rows, category=f"{pool.kind}{'+audio' if pool.audio else ''}:"
                  + ("all" if category == ALL else category), names=lambda m: model_name(rt, m),
                  cost_per_s=cost)
st.download_button("Download CSV", data=csv_text, file_name=f"rankings-{category.replace(' ', '-')}.csv",
                   mime="text/csv", key="rank_csv", icon=":material/download:")
