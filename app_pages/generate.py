"""Generate: one recipe, several models, each with its mapping, cost and wait shown before spending."""

from __future__ import annotations

import streamlit as st

from components import roles
from components.auth import current_owner, person_limit
from components.keys import current_backend
from components.model_cards import CardResult, render_model_cards
from components.queue import remember_run, render_queue
from components.recipe_form import FIELD_LABELS, render_recipe_form
from components.run_total import run_total
from components.runtime import get_runtime
from components.save_to_library import render_save_result, render_save_to_library
from components.submit_guard import request_id_for
from jobs.ledger import BudgetExceeded, NotPermitted
from jobs.prefs import period_start
from providers.errors import DailiesError, ValidationErrors
from providers.pricing import estimate
from providers.submission import CostEstimate

rt = get_runtime()
backend = current_backend(rt)

st.title("Generate")
form = render_recipe_form(rt.catalog)
# The total and Generate sit right under the recipe, above the (long) list of model cards, so neither needs a
# scroll past every card; they are filled once the cards have been drawn and priced.
action_row = st.container(border=True)
st.subheader("Models")
cards = render_model_cards(form.recipe, form.image_fit, rt.runner, rt.eta, backend)

ready = [c for c in cards if c.submission is not None and not c.errors]
blocked = [c for c in cards if c.errors]


def _cost(card: CardResult) -> CostEstimate:
    """A card's price; before a prompt is typed there is no submission yet, but the price does not need one."""
    if card.submission is not None:
        return card.submission.cost
    durations = card.spec.durations
    seconds = durations.nearest(form.recipe.duration_s) if form.recipe.duration_s else durations.default
    return estimate(card.spec, seconds, card.options.get("size"), card.options.get("mode"))


total_line, low, high = run_total(cards, form.takes, _cost, form_has_errors=bool(form.errors))


def _form_refusal() -> str | None:
    if form.errors:
        return "Fix the fields marked in red first: " + ", ".join(FIELD_LABELS.get(f, f) for f in form.errors) + "."
    if not form.recipe.prompt.strip():
        return "Write a prompt first (the Prompt field)."
    if not cards:
        return "Pick at least one model."
    if blocked:
        return "Fix the errors on: " + ", ".join(c.spec.display_name for c in blocked) + " (or switch them off)."
    return None


# A viewer's refusal comes first: nothing they fix on the form would let them generate.
refusal = roles.refusal(roles.GENERATE) or _form_refusal()

budget_note = ""
if backend.sandbox:
    budget_note = "Sandbox: simulated cost, never counted against the budget."
else:
    since = period_start(rt.prefs.budget_period)
    remaining = rt.prefs.budget_usd - rt.ledger.spend_total("live", since=since)
    budget_note = f"Budget left this {rt.prefs.budget_period}: ${remaining:.2f}"
    unpriced = [c.spec.display_name for c in ready if not c.spec.price.known]
    if refusal is None and unpriced:
        refusal = (f"No known price for {', '.join(unpriced)}: a live run needs a price in the rate card "
                   "(Settings) first, since the budget cannot guard what it cannot price. Switch it off, or try it "
                   "in the sandbox.")
    if refusal is None and high > remaining + 1e-9:
        refusal = (f"This run could cost up to ${high:.2f}, more than the ${remaining:.2f} left in this "
                   f"{rt.prefs.budget_period}'s budget. Raise the budget in Settings or pick fewer takes.")
    mine_limit = person_limit(rt.prefs, backend.sandbox)
    if refusal is None and mine_limit is not None:  # the store checks it again, atomically, on submit
        mine_left = max(0.0, mine_limit - rt.ledger.spend_total("live", since=since, owner=current_owner()))
        if high > mine_left + 1e-9:
            refusal = (f"This run could cost up to ${high:.2f}, more than the ${mine_left:.2f} left of your "
                       f"${mine_limit:.2f} per-person budget this {rt.prefs.budget_period} (the team's budget "
                       f"still has ${remaining:.2f}). Ask an admin to raise your limit, or pick fewer takes.")

c1, c2, c3 = action_row.columns([4, 1, 1], vertical_alignment="center")
c1.markdown(f"{total_line} {budget_note}")
if refusal:
    c1.warning(refusal, icon=":material/block:")
with c2:
    render_save_to_library(rt, form.recipe, [c for c in cards if not c.errors])
clicked = c3.button("Generate", type="primary", key="generate", disabled=refusal is not None, width="stretch")
with action_row:
    render_save_result()


if clicked and refusal is None:
    choices = [(c.spec.id, c.options) for c in ready]
    request_id = request_id_for("generate", form.recipe.to_json(), choices, form.takes)
    try:
        ids = rt.runner.submit_run(
            form.recipe, choices, backend, takes=form.takes, request_id=request_id, run_id=request_id,
            budget_limit_usd=None if backend.sandbox else rt.prefs.budget_usd,
            budget_period_start=None if backend.sandbox else period_start(rt.prefs.budget_period),
            **roles.admission(rt.prefs, backend.sandbox))
    except ValidationErrors as e:
        for message in e.by_field().values():
            action_row.error(message)
    except BudgetExceeded as e:
        action_row.error(f"Not sent — {e}")
    except NotPermitted as e:
        action_row.error(f"Refused: {e}")
    except DailiesError as e:
        action_row.error(f"{e.title}: {e.message}")
    else:
        remember_run(request_id)  # the run id: on top of this browser's runs
        st.toast(f"Submitted {len(ids)} take(s).", icon=":material/rocket_launch:")

st.divider()
render_queue(rt)
