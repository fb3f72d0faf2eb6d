"""Who is this browser session (jobs/identity.py holds the rules): the gate every page passes through first."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import streamlit as st

from jobs import identity, oidc
from jobs.identity import AuthConfig, AuthConfigError, Identity
from jobs.prefs import Prefs

log = logging.getLogger(__name__)

NO_AUTH_BANNER = ("No sign-in on this deployment (DAILIES_AUTH=none): everyone who can reach this address "
                  "shares its budget, settings and runs.")


def _config() -> AuthConfig:
    config = identity.load_config()
    if config.mode == "oidc":
        config = oidc.check_auth_section(config, _auth_section())
        if st.get_option("server.trustedUserHeaders"):
            # Streamlit copies those request headers into st.user over the ID token's claims: anyone could send one.
            raise AuthConfigError("DAILIES_AUTH=oidc: unset the server.trustedUserHeaders option. It lets request "
                                  "headers overwrite the signed-in user's claims, and a browser can send any header.")
    return config


def _auth_section() -> dict[str, Any] | None:
    """`[auth]` of secrets.toml (st.secrets raises when no secrets file exists at all)."""
    try:
        section = st.secrets.get("auth")
    except (FileNotFoundError, KeyError):
        return None
    return section.to_dict() if hasattr(section, "to_dict") else (dict(section) if section else None)


def _user() -> dict[str, Any]:
    """st.user's claims: filled from Streamlit's signed cookie when the session connects, empty before sign-in."""
    return dict(st.user.to_dict())


def current_identity() -> Identity:
    """This request's user. Streamlit reports a loopback peer as None (st.context.ip_address), so None reads as
    127.0.0.1: a session with no connection at all (AppTest) also sends no header, so it is never signed in."""
    config = _config()
    if not config.signs_in:
        return identity.resolve(config, {}, None)
    if config.mode == "oidc":
        return oidc.identity_from_claims(config, _user())
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
    if not who.allowed and config.mode == "oidc":
        st.navigation(pages, position="hidden")
        _sign_in_screen(config)
        st.stop()
    if not who.allowed:
        st.navigation(pages, position="hidden")
        st.title("Sign in to Dailies")
        st.info("This team deployment shows nothing until you are signed in. Open it through your team's "
                "sign-in address (the proxy in front of it); if you did and still see this, ask your admin to "
                "add you.", icon=":material/lock:")
        st.caption(f"No signed-in user reached the app (it reads {config.header} from the sign-in proxy only).")
        st.stop()
    return who


def _sign_in_screen(config: AuthConfig) -> None:
    """OIDC, nobody signed in: one button to the provider, and why a signed-in account was not let in."""
    st.title("Sign in to Dailies")
    _email, why = oidc.claimed_email(_user())
    if why:
        st.warning(why, icon=":material/gpp_bad:")
    st.info("This team deployment shows nothing until you are signed in.", icon=":material/lock:")
    section = _auth_section() or {}
    provider = section.get(config.provider, {}) if config.provider else section
    host = urlsplit(str(provider.get("server_metadata_url", ""))).netloc
    if st.button("Sign in", type="primary", icon=":material/login:", key="oidc_sign_in"):
        st.login(config.provider)  # Streamlit sends the browser to the provider and back to /oauth2callback
    st.caption(f"You sign in with your team's account at {host} and come back here." if host else
               "You sign in with your team's account and come back here.")


def admin_only_note(who: Identity) -> str:
    """Why a member sees a setting read-only, and who can change it."""
    config = _config()
    admins = sorted(config.admins) + [f"the {g} group" for g in sorted(config.admin_groups)]
    if not admins:
        return ("Only an admin changes this, and none is configured: the operator lists admins' emails in "
                "DAILIES_ADMINS" + (" or their groups in DAILIES_ADMIN_GROUPS." if config.mode == "oidc" else "."))
    return f"Only an admin changes this ({', '.join(admins)}); you are signed in as a {who.role}."


def render_banner(who: Identity) -> None:
    """On every page: a deployment without sign-in says so."""
    if _config().mode == "none":
        st.warning(NO_AUTH_BANNER, icon=":material/public:")


def render_user(who: Identity) -> None:
    """In the sidebar: who is signed in, and with which role."""
    if who.email:
        st.caption(f"Signed in as {who.email} · {who.role}")
        if _config().mode == "oidc" and st.button("Sign out", icon=":material/logout:", key="oidc_sign_out"):
            st.logout()  # clears the cookie; Streamlit ends the provider's session too when it offers one
