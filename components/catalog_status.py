"""Settings → CometAPI catalog: the last listing check, models it stopped naming, listed models we do not
support yet, and the listing's prices beside the rate card (shown, never put in its place)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components.keys import current_backend
from components.runtime import Runtime
from jobs import catalog_watch
from providers.catalog import PriceRule

LISTING_OFF = "no longer listed by CometAPI"


def rate_text(rule: PriceRule) -> str:
    """The rate card's rule in a few words: "$0.05/s", "$0.32 per task", "$0.13–$2.64 per task", "no price"."""
    if rule.kind == "per_second":
        return f"${rule.usd_per_second:g}/s"
    if rule.kind == "per_task":
        return f"${rule.usd:g} per task"
    if rule.kind == "range":
        return f"${rule.low_usd:g}–${rule.high_usd:g} per {rule.per}"
    return "table" if rule.kind == "table" else "no price"


def render_catalog_status(rt: Runtime) -> None:
    st.subheader("CometAPI catalog")
    if not catalog_watch.enabled():
        st.caption("The catalog check is off (DAILIES_CATALOG_CHECK=off).")
        return
    verdict = rt.catalog_verdict
    if not verdict:
        st.caption("Not checked yet: CometAPI's public listing is read at start and daily.")
        return
    # The simulator's loopback address means nothing to a reader; a live listing's URL says where it came from.
    where = "the sandbox's listing" if current_backend(rt).sandbox else f"`{verdict.get('source')}`"
    when = f"Checked {verdict.get('checked_on')} against {where}"
    if verdict.get("ok"):
        st.caption(when + ".")
    else:
        st.warning(f"{when}: {verdict.get('problem')}. Nothing was switched off"
                   + (f" (the last good listing is from {verdict['last_good']})." if verdict.get("last_good")
                      else "."), icon=":material/cloud_off:")
    for model_id, since in sorted((verdict.get("delisted") or {}).items()):
        name = rt.catalog.get(model_id).display_name if model_id in rt.catalog.ids() else model_id
        st.warning(f"{name} (`{model_id}`): switched off, {LISTING_OFF} on {since}. It comes back on by itself "
                   "when the listing names it again.", icon=":material/block:")
    listed = catalog_watch.unsupported(verdict)
    if not listed:
        st.markdown("**Listed, not supported yet** — video models CometAPI lists that Dailies has no adapter for: "
                    "none.")
    else:
        st.markdown("**Listed, not supported yet** — video models CometAPI lists that Dailies has no adapter for:")
        st.dataframe(pd.DataFrame([{"model": x.id, "provider": x.provider, "CometAPI catalog price": x.price_text
                                    or "—", "docs": x.api_doc_url} for x in listed]), hide_index=True,
                     width="stretch")
    prices = verdict.get("prices") or {}
    if prices:
        rows = []
        for spec in rt.catalog.models():
            if spec.id in prices:
                rows.append({"model": spec.display_name, "rate card": rate_text(spec.price),
                             "CometAPI catalog price": prices[spec.id]})
        st.markdown("**CometAPI catalog price** beside the rate card (the listing is not an invoice; your rate "
                    "card is what the budget uses):")
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
