"""Sign-in through OpenID Connect (`DAILIES_AUTH=oidc`): whether `[auth]` in secrets.toml can sign anyone in, and who
an ID token's claims say the user is. No Streamlit here: components/auth.py passes in the section and `st.user`.

Streamlit runs the protocol itself (`st.login` → `/auth/login` → the provider → `/oauth2callback`, where Authlib
checks the ID token's signature against the provider's keys, its issuer, audience, expiry and nonce; a cookie signed
with `cookie_secret` then carries the claims). What is left to the app: refusing to start on a section that could not
sign anyone in (Streamlit would only fail when someone presses "Sign in"), and deciding what the claims are worth.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from jobs.identity import AuthConfig, AuthConfigError, Identity, role_for

SHARED_KEYS = ("redirect_uri", "cookie_secret")
PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")
CALLBACK_PATH = "/oauth2callback"
"""The only path Streamlit finishes a sign-in on: the provider must list `<public url>/oauth2callback`."""
MIN_COOKIE_SECRET = 32
DEFAULT_PROVIDER = "default"
HOW = "see docs/deploy.md, 'Sign-in with OpenID Connect'"


def check_auth_section(config: AuthConfig, section: Mapping[str, Any] | None) -> AuthConfig:
    """`config` with the provider st.login should use, or AuthConfigError naming each missing or unusable key."""
    if importlib.util.find_spec("authlib") is None:
        raise AuthConfigError("DAILIES_AUTH=oidc needs the Authlib package (pip install -r requirements.txt).")
    if not section:
        raise AuthConfigError(f"DAILIES_AUTH=oidc, but secrets.toml has no [auth] section: it needs "
                              f"{', '.join(SHARED_KEYS + PROVIDER_KEYS)} ({HOW}).")
    name = _provider_name(config, section)
    provider = section if name == DEFAULT_PROVIDER else section[name]
    table = "[auth]" if name == DEFAULT_PROVIDER else f"[auth.{name}]"
    missing = [f"{k} (in [auth])" for k in SHARED_KEYS if not _text(section, k)]
    missing += [f"{k} (in {table})" for k in PROVIDER_KEYS if not _text(provider, k)]
    if missing:
        raise AuthConfigError(f"DAILIES_AUTH=oidc: secrets.toml is missing {', '.join(missing)} ({HOW}).")
    redirect = urlsplit(_text(section, "redirect_uri"))
    if redirect.scheme not in ("http", "https") or not redirect.netloc or not redirect.path.endswith(CALLBACK_PATH):
        raise AuthConfigError(
            f"[auth] redirect_uri: {_text(section, 'redirect_uri')!r} must be this app's public address followed by "
            f"{CALLBACK_PATH} (for example https://dailies.example.com{CALLBACK_PATH}), the same URL your provider "
            "lists for this client.")
    if len(_text(section, "cookie_secret")) < MIN_COOKIE_SECRET:
        raise AuthConfigError(
            f"[auth] cookie_secret is shorter than {MIN_COOKIE_SECRET} characters. It signs the sign-in cookie, so "
            "whoever guesses it can sign in as anyone: use a random one, e.g. python -c 'import secrets; "
            "print(secrets.token_hex(32))'.")
    metadata = urlsplit(_text(provider, "server_metadata_url"))
    if metadata.scheme not in ("http", "https") or not metadata.netloc:
        raise AuthConfigError(f"{table} server_metadata_url must be the provider's absolute discovery URL, ending in "
                              "/.well-known/openid-configuration.")
    return dataclasses.replace(config, provider=None if name == DEFAULT_PROVIDER else name)


def _provider_name(config: AuthConfig, section: Mapping[str, Any]) -> str:
    """Which provider the Sign in button uses: DAILIES_OIDC_PROVIDER, keys right in [auth], or the one [auth.<name>]."""
    named = sorted(k for k, v in section.items() if isinstance(v, Mapping) and any(p in v for p in PROVIDER_KEYS))
    if config.provider:
        if config.provider not in named:
            raise AuthConfigError(f"DAILIES_OIDC_PROVIDER: {config.provider!r} has no [auth.{config.provider}] "
                                  f"section with client_id in secrets.toml (found: {', '.join(named) or 'none'}).")
        name = config.provider
    elif any(k in section for k in PROVIDER_KEYS) or not named:
        return DEFAULT_PROVIDER
    elif len(named) > 1:
        raise AuthConfigError(f"[auth] in secrets.toml names several providers ({', '.join(named)}): set "
                              "DAILIES_OIDC_PROVIDER to the one the Sign in button uses.")
    else:
        name = named[0]
    if "_" in name:  # Streamlit refuses such names when someone presses Sign in; say so at start instead
        raise AuthConfigError(f"[auth.{name}]: a provider name may not contain '_' (Streamlit's rule); rename it.")
    return name


def _text(table: Mapping[str, Any], key: str) -> str:
    value = table.get(key)
    return value.strip() if isinstance(value, str) else ""


def claimed_email(user: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The email the signed-in user's ID token vouches for, and, when there is none to trust, why (for the sign-in
    screen). A token that says `email_verified: false` names an address nobody proved is theirs: not trusted."""
    if user.get("is_logged_in") is not True:
        return None, None
    email = str(user.get("email") or "").strip().lower()
    if "@" not in email or len(email) > 320:
        return None, ("Your sign-in provider sent no email address for this account, and Dailies knows people by "
                      "their email. Ask your admin to let the app read it (the 'email' scope).")
    verified = user.get("email_verified")
    if verified is False or (isinstance(verified, str) and verified.strip().lower() == "false"):
        return None, (f"Your sign-in provider says {email} is not verified, so Dailies cannot trust it as your "
                      "address. Verify it with your provider, then sign in again.")
    return email, None


def groups_of(config: AuthConfig, user: Mapping[str, Any]) -> tuple[str, ...]:
    """The user's groups from the configured claim: a list, or one comma-separated string."""
    value = user.get(config.groups_claim)
    if isinstance(value, str):
        return tuple(g.strip() for g in value.split(",") if g.strip())
    if isinstance(value, list | tuple):
        return tuple(str(g) for g in value)
    return ()


def identity_from_claims(config: AuthConfig, user: Mapping[str, Any]) -> Identity:
    """Who `st.user` is on this deployment: an email to trust and its role, or nobody."""
    email, _why = claimed_email(user)
    if email is None:
        return Identity(email=None, role=None, signed_in_required=True)
    return Identity(email=email, role=role_for(config, email, groups_of(config, user)), signed_in_required=True)
