"""Who is this browser session (jobs/identity.py holds the rules): the gate every page passes through first."""

from __future__ import annotations

import logging
from typing import Any

import streamlit as st

from jobs import identity
from jobs.identity import AuthConfig, AuthConfigError, Identity
from jobs.prefs import Prefs

log = logging.getLogger(__name__)

NO_AUTH_BANNER = ("No sign-in on this deployment (DAILIES_AUTH=none): everyone who can reach this address "
                  "shares its budget, settings and runs.")


def _config() -> AuthConfig:
    return identity.load_config()


def current_identity() -> Identity:
    """This request's user. Streamlit reports a loopback peer as None (st.context.ip_address), so None reads as
    127.0.0.1: a session with no connection at all (AppTest) also sends no header, so it is never signed in."""
    config = _config()
    if not config.signs_in:
        return identity.resolve(config, {}, None)
    headers = dict(st.context.headers.items()) if st.context.headers is not None else {}
    peer = st.context.ip_address or "127.0.0.1"
    return identity.resolve(config, headers, peer)


def signs_in() -> bool:
    """Whether this deployment knows who each person is (only then do per-person settings mean anything)."""
    return _config().signs_in


def current_owner() -> str | None:
    """What a job admitted from this session records as its owner: the signed-in email, None with no sign-in."""
    return current_identity().email


def person_limit(prefs: Prefs, sandbox: bool) -> float | None:
    """The per-person limit a live run from this session must fit (None: sandbox, nobody signed in, or unset)."""
    if sandbox or current_owner() is None:
        return None
    return prefs.person_budget_usd


def gate(pages: list[Any]) -> Identity:
    """Stop the page before anything reads the store: a configuration that cannot be used, or nobody signed in
    where sign-in is required, shows one message and nothing else."""
    try:
        config = _config()
    except AuthConfigError as exc:
        log.error("refusing to start: %s", exc)
        st.navigation(pages, position="hidden")
        st.error(f"Dailies will not start: {exc}", icon=":material/block:")
        st.stop()
    who = current_identity()
    if not who.allowed:
        st.navigation(pages, position="hidden")
        st.title("Sign in to Dailies")
        st.info("This team deployment shows nothing until you are signed in. Open it through your team's "
                "sign-in address (the proxy in front of it); if you did and still see this, ask your admin to "
                "add you.", icon=":material/lock:")
        st.caption(f"No signed-in user reached the app (it reads {config.header} from the sign-in proxy only).")
        st.stop()
    return who


def admin_only_note(who: Identity) -> str:
    """Why a member sees a setting read-only, and who can change it."""
    admins = _config().admins
    if not admins:
        return ("Only an admin changes this, and none is configured: the operator lists admins' emails in "
                "DAILIES_ADMINS.")
    return f"Only an admin changes this ({', '.join(sorted(admins))}); you are signed in as a {who.role}."


def render_banner(who: Identity) -> None:
    """On every page: a deployment without sign-in says so."""
    if _config().mode == "none":
        st.warning(NO_AUTH_BANNER, icon=":material/public:")


def render_user(who: Identity) -> None:
    """In the sidebar: who is signed in, and with which role."""
    if who.email:
        st.caption(f"Signed in as {who.email} · {who.role}")
