"""The rate card in Settings (editable) and on Costs (read-only): shipped price with its source, CometAPI's listing,
and yours, which wins in every estimate and in the budget as soon as it is typed."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping

import pandas as pd
import streamlit as st

from components import auth
from components.runtime import Runtime
from providers.catalog import load_catalog
from providers.rate_card import MAX_USD, RateRow, check_yours, money, overrides_from, rate_rows, source_markdown
from providers.submission import CostEstimate

YOURS = "Yours (USD)"
TITLE = "Rate card"
SAVED = "_rate_card_saved"


def _listing(rt: Runtime) -> Mapping[str, str]:
    """CometAPI's listed price per model, from the last live catalog check (providers/catalog_check.py);
    empty before the first check, so the column reads "—"."""
    verdict = getattr(rt, "catalog_verdict", None) or {}
    return {str(k): str(v) for k, v in (verdict.get("prices") or {}).items() if v}


def _frame(rows: list[RateRow]) -> pd.DataFrame:
    return pd.DataFrame([{
        "Model": r.model, "Mode": r.mode or "any", "Length": f"{r.duration_s} s" if r.duration_s else "any",
        "Priced": r.unit, "Shipped": r.shipped, "Source": r.source_url,
        "Checked": r.as_of if r.source_url else "unverified", "CometAPI listing": r.listing, YOURS: r.yours,
        "In estimates now": r.in_use} for r in rows])


def _columns(editable: bool) -> dict:
    return {
        "Source": st.column_config.LinkColumn("Source", display_text=r"https://(?:www\.)?([^/]+)",
                                              help="Where the shipped price was read. Blank: no public source."),
        "Checked": st.column_config.TextColumn("Checked", help="The date the shipped price was read."),
        "CometAPI listing": st.column_config.TextColumn(
            "CometAPI listing", help="CometAPI's live price list, filled once the live catalog check has run."),
        YOURS: st.column_config.NumberColumn(
            YOURS, min_value=0.0, max_value=MAX_USD, step=0.001, format="$%.3f",
            help="Your negotiated or invoiced price. It wins in every estimate and in the budget. "
                 "Per second or per clip as the Priced column says; clear it to use the shipped price again."
            if editable else "Set in Settings → Rate card."),
        "In estimates now": st.column_config.TextColumn(
            "In estimates now", help="What one clip of this length (or the model's default length) is estimated at."),
    }


def render_rate_card(rt: Runtime, *, editable: bool) -> None:
    shipped = load_catalog()
    rows = rate_rows(shipped, rt.catalog, _listing(rt))
    frame = _frame(rows)
    height = 38 + 35 * len(rows)  # every row in view: the card is read top to bottom, not scrolled in a box
    if not editable:
        st.dataframe(frame, hide_index=True, width="stretch", key="rate_card_view", column_config=_columns(False),
                     height=height,
                     placeholder="—")
        return
    # A new key after every save, so the editor starts from the saved prices rather than replaying its edits.
    version = hashlib.sha256(json.dumps(rt.prefs.model_overrides, sort_keys=True).encode()).hexdigest()[:10]
    edited = st.data_editor(frame, hide_index=True, width="stretch", key=f"rate_card:{version}", num_rows="fixed",
                            placeholder="—", height=height,
                            disabled=[c for c in frame.columns if c != YOURS], column_config=_columns(True))
    if SAVED in st.session_state:
        st.success(st.session_state.pop(SAVED), icon=":material/check:")
    before = [r.yours for r in rows]
    after = list(edited[YOURS])
    if all(_same(a, b) for a, b in zip(before, after, strict=True)):
        return
    try:
        yours = {r.key: check_yours(v) for r, v in zip(rows, after, strict=True)}
    except ValueError as e:
        st.error(str(e), icon=":material/error:")
        return
    try:
        save_yours(rt, yours)
    except ValueError as e:  # a partly priced model with nothing shipped to fall back on
        st.error(str(e), icon=":material/error:")
        return
    changed = [f"{_label(r)} {'cleared' if v is None else money(v)}"
               for r, v in zip(rows, (yours[r.key] for r in rows), strict=True) if not _same(r.yours, v)]
    st.session_state[SAVED] = "Saved: " + "; ".join(changed) + ". Estimates and the budget use it now."
    st.rerun()


def _label(row: RateRow) -> str:
    detail = ", ".join(x for x in (row.mode, f"{row.duration_s} s" if row.duration_s else None) if x)
    return f"{row.model} ({detail})" if detail else row.model


def save_yours(rt: Runtime, yours: Mapping[tuple[str, str | None, int | None], float | None]) -> None:
    """Store the card's prices as catalog overrides: estimates, the budget and the runner use them at once."""
    overrides = overrides_from(load_catalog(), rt.prefs.model_overrides, yours)
    rt.save_prefs(dataclasses.replace(rt.prefs, model_overrides=overrides), by=auth.current_identity())


def _same(a: object, b: object) -> bool:
    blank_a = a is None or (isinstance(a, float) and a != a)
    blank_b = b is None or (isinstance(b, float) and b != b)
    if blank_a or blank_b:
        return blank_a and blank_b
    return abs(float(a) - float(b)) < 1e-9  # type: ignore[arg-type]


def price_caption(cost: CostEstimate) -> str:
    """A card's price line: the rule, where the price comes from, and where to set a real one."""
    if not cost.priced:  # the rule already says it is sandbox-only; no source to cite
        return "Price: none known · set your price in **Settings → Rate card** to run it live"
    text = f"Price: {cost.rule} · {source_markdown(cost.source, cost.as_of)}"
    if not cost.exact:
        text += " · a range: set your price in **Settings → Rate card**"
    return text
