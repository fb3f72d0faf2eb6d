"""Settings: where the key comes from (masked), budget, base URL, model switches, sandbox controls."""

from __future__ import annotations

import dataclasses
import os

import streamlit as st

from components.activity_view import render_activity
from components.auth import admin_only_note, current_identity, signs_in
from components.catalog_status import LISTING_OFF, render_catalog_status
from components.clip_urls import clip_store_label
from components.keys import FORCE_SANDBOX, forget_session_key, key_status, session_keys_allowed, set_session_key
from components.rate_card import TITLE as RATE_CARD_TITLE, render_rate_card
from components.runtime import get_runtime
from jobs import settings as paths
from jobs.ledger import ACTIVE_STATES
from jobs.prefs import PERIODS
from providers.catalog import load_catalog
from sandbox.faults import KINDS as FAULT_KINDS

rt = get_runtime()
who = current_identity()
admin = who.is_admin  # single user and DAILIES_AUTH=none keep every right; signed in, DAILIES_ADMINS decides
st.title("Settings")

st.subheader("API key")
status = key_status()
if not admin:  # members learn only whether a key is configured, never its source or masked form
    st.info("A CometAPI key is configured: runs go to CometAPI." if status.source else
            "No CometAPI key is configured: runs go to the local sandbox.", icon=":material/key:")
    st.caption(admin_only_note(who))
elif status.source:
    st.success(f"Key found in **{status.source}**: `{status.masked}`", icon=":material/key:")
else:
    how = ("the server's environment (the workers read it too)" if not session_keys_allowed() else
           "`.streamlit/secrets.toml` or the environment, or enter one for this browser session")
    st.info(f"No key: the app runs against the local sandbox. Add `COMETAPI_KEY` to {how}.",
            icon=":material/science:")
if not admin:
    pass
elif not session_keys_allowed():
    st.info("Engine: **external workers** (`DAILIES_ENGINE=external`). `python -m jobs worker` processes send, "
            "poll and download, with the key from the server's environment (`COMETAPI_KEY`, `COMETAPI_BASE_URL`); "
            "a key entered in a browser session could not reach them, so none is asked for here.",
            icon=":material/dns:")
else:
    with st.form("key_form", clear_on_submit=True):
        entered = st.text_input("Enter a key for this browser session only", type="password", key="key_input",
                                help="Kept in this session's memory; never written to disk, logs or the ledger.")
        if st.form_submit_button("Use this key") and entered.strip():
            set_session_key(entered)
            st.rerun()
if admin and status.source == "session" and st.button("Forget the session key"):
    forget_session_key()
    st.rerun()
st.toggle("Use the sandbox even when a key is set (demos, rehearsals)", key=FORCE_SANDBOX)

st.subheader("Spending")
prefs = rt.prefs
for problem in rt.prefs_problems:  # one bad saved value resets only itself, and says so
    st.warning(f"Saved setting ignored: {problem}", icon=":material/warning:")
if not admin:
    each = f"${prefs.person_budget_usd:.2f}" if prefs.person_budget_usd is not None else "no limit"
    st.markdown(f"Budget: **${prefs.budget_usd:.2f}** per {prefs.budget_period} (each person: {each}) · "
                f"CometAPI base URL: `{prefs.base_url}`")
    off = [spec.display_name for spec in rt.catalog.models() if not spec.availability.available]
    st.markdown("Models switched off: " + (", ".join(off) + "." if off else "none."))
    st.caption(admin_only_note(who))
else:
    with st.form("prefs_form"):
        c1, c2 = st.columns(2)
        budget = c1.number_input("Budget (USD)", min_value=0.0, value=float(prefs.budget_usd), step=5.0)
        period = c2.selectbox("Budget period", PERIODS, index=PERIODS.index(prefs.budget_period))
        person = st.number_input(  # without sign-in nobody is a person to the app: the field would mean nothing
            "Per-person budget (USD, 0 = none)", min_value=0.0, value=float(prefs.person_budget_usd or 0.0),
            step=5.0, help="What one signed-in person's live runs may reserve per period, inside the budget.",
        ) if signs_in() else (prefs.person_budget_usd or 0.0)
        base_url = st.text_input("CometAPI base URL", value=prefs.base_url,
                                 disabled=bool(os.environ.get("COMETAPI_BASE_URL")),
                                 help="COMETAPI_BASE_URL in the environment wins over this.")
        allow_http = st.checkbox("Allow plain http to this base URL (a self-hosted gateway)", value=prefs.allow_http,
                                 help="The API key then travels in clear text to that host. Result URLs on the same "
                                      "origin are fetched over http too; nothing else is. Loopback needs no opt-in. "
                                      "The batch CLI uses this switch too (or --allow-http, DAILIES_ALLOW_HTTP=1).")
        st.caption("Models: switch each on or off. Prices are set in the rate card below.")
        overrides = {k: dict(v) for k, v in prefs.model_overrides.items()}
        shipped = load_catalog()  # only differences from the shipped catalog are saved, so its updates still apply
        for spec in rt.catalog.models():
            base = shipped.get(spec.id)
            on = st.checkbox(spec.display_name, value=spec.availability.available, key=f"avail:{spec.id}",
                             help=spec.availability.reason)
            entry = overrides.setdefault(spec.id, {})
            delisted = spec.availability.reason.startswith(LISTING_OFF)  # CometAPI's switch, not the user's
            if on == base.availability.available or (delisted and not on):
                entry.pop("available", None)
            else:
                entry["available"] = on
        if st.form_submit_button("Save"):
            new = dataclasses.replace(prefs, budget_usd=budget, budget_period=period, base_url=base_url.strip(),
                                      person_budget_usd=person or None,
                                      allow_http=allow_http, model_overrides={k: v for k, v in overrides.items() if v})
            problems = new.validate()
            if problems:
                for p in problems:
                    st.error(p)
            else:
                rt.save_prefs(new, by=who)
                st.success("Saved.")
                if new.allow_http and new.base_url.startswith("http://"):
                    st.warning(f"Plain http to {new.base_url}: the API key travels in clear text.")

st.subheader(RATE_CARD_TITLE)
st.caption("Every price the app estimates with. " + (
    "Type your own price (negotiated, invoiced) in the **Yours** column: it replaces the shipped price or range in "
    "every estimate and in the budget at once. " if admin else "") + "Kling is priced per mode and length, so it "
    "has a row for each.")
render_rate_card(rt, editable=admin)
if not admin:
    st.caption(admin_only_note(who))
render_catalog_status(rt)

st.subheader("Storage")
# One line per backend: run together on one line, the database's name and the bucket's read as one blur.
st.markdown(f"- Database: {rt.ledger.describe()}\n- Clips: {clip_store_label(rt.clips, detail=True)}\n"
            f"- Data directory on this host: `{paths.data_dir()}`")

st.subheader("Sandbox")
speeds = sorted({0.01, 0.05, 0.1, 0.25, 0.5, 1.0, prefs.sandbox_time_scale})
# Running sandbox jobs keep the clock they started on: changing it under them would misjudge deadlines.
busy = rt.ledger.count_jobs(states=[s.value for s in ACTIVE_STATES], backend="sandbox")
speed = st.select_slider("Render speed (real seconds per simulated second)", options=speeds,
                         value=prefs.sandbox_time_scale, key="sb_speed", disabled=bool(busy) or not admin,
                         help="1.0 renders in real provider time; 0.1 is ten times faster.")
if busy:
    st.caption(f"{busy} sandbox job(s) are running: the speed can change once they finish.")
if admin and speed != prefs.sandbox_time_scale:
    rt.save_prefs(dataclasses.replace(prefs, sandbox_time_scale=speed), by=who)
if rt.sandbox is None:
    st.caption("The sandbox starts when the app runs without a key" +
               (f"; it is at {rt.sandbox_url}." if rt.sandbox_url else "."))
elif not admin:
    st.caption(f"Running in this process at {rt.sandbox.base_url}. {admin_only_note(who)}")
else:
    st.caption(f"Running in this process at {rt.sandbox.base_url}.")
    f1, f2, f3 = st.columns(3)
    route = f1.selectbox("Route", ["submit", "poll", "download", "content", "any"], key="fault_route")
    kind = f2.selectbox("Fault", FAULT_KINDS, key="fault_kind")
    count = f3.number_input("Times", min_value=1, max_value=100, value=1, key="fault_count")
    b1, b2 = st.columns(2)
    if b1.button("Inject fault"):
        try:
            rt.sandbox.faults.add(route=route, kind=kind, count=int(count))
        except ValueError as e:  # a combination the sandbox refuses, e.g. a drip on the submit route
            st.error(str(e))
        else:
            rt.ledger.record_activity(who.email, "sandbox fault", f"next {count} {route} request(s): {kind}")
            st.success(f"Next {count} {route} request(s): {kind}.")
    if b2.button("Clear faults"):
        rt.sandbox.faults.clear()
        rt.ledger.record_activity(who.email, "sandbox fault", "faults cleared")
        st.success("Faults cleared.")

render_activity(rt)
