"""Who is using the app, decided from configuration and the request: no Streamlit here (components/auth.py
reads the request and calls these rules).

`DAILIES_AUTH` chooses how the user is known:

* unset: the single-user app as it has always been (one person, their own machine, every right);
* `none`: a shared deployment run on purpose without sign-in (every page says so);
* `header`: an authenticating proxy (oauth2-proxy, Cloudflare Access, IAP…) in front of the app puts the signed-in
  user's email in a header (`DAILIES_AUTH_HEADER`, default `X-Forwarded-Email`);
* `oidc`: the app signs people in itself through OpenID Connect (Streamlit's `st.login`, configured in `[auth]` of
  secrets.toml; jobs/oidc.py checks that section and reads the ID token's claims).

Why the header is checked against the peer address: an HTTP header is text the client writes. Anyone who can open a
connection to the app directly, past the proxy, can send `X-Forwarded-Email: boss@example.com` and be the boss. The
header means something only when the connection comes from the proxy itself, which strips what the browser sent
and writes its own. So the header is honoured only when the TCP peer is in `DAILIES_TRUSTED_PROXIES`
(comma-separated IPs or CIDRs, default the loopback addresses: the proxy on the same machine and the app listening
on 127.0.0.1, `make run`'s address, so nothing else can connect at all).

The peer address Streamlit reports (`st.context.ip_address`) has passed through uvicorn's proxy-headers middleware,
which replaces it with an address from `X-Forwarded-For` when the peer is in `FORWARDED_ALLOW_IPS` (uvicorn's
default: loopback). After that rewrite the address is the browser's, not the proxy's, so header mode requires the
rewrite off (`FORWARDED_ALLOW_IPS=""` in the app's environment): then the address checked is the connection's own.

Roles (`role_for`, one rule for every mode): admins are the emails in `DAILIES_ADMINS`, or, with OIDC, whoever has a
group in `DAILIES_ADMIN_GROUPS` (read from the claim `DAILIES_GROUPS_CLAIM`, default `groups`); viewers the emails in
`DAILIES_VIEWERS`; everyone else signed in has `DAILIES_DEFAULT_ROLE` (member, or viewer for a deployment that mostly
shows). Nobody becomes admin by being first: an empty list means no admin at all (Settings then says who can change
it: the operator). What each role may do is jobs/permissions.py; `DAILIES_VIEWERS_VOTE=1` lets viewers vote.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

AUTH_MODES = ("none", "header", "oidc")
AUTH_ENV = "DAILIES_AUTH"
HEADER_ENV = "DAILIES_AUTH_HEADER"
PROXIES_ENV = "DAILIES_TRUSTED_PROXIES"
ADMINS_ENV = "DAILIES_ADMINS"
ADMIN_GROUPS_ENV = "DAILIES_ADMIN_GROUPS"
GROUPS_CLAIM_ENV = "DAILIES_GROUPS_CLAIM"
OIDC_PROVIDER_ENV = "DAILIES_OIDC_PROVIDER"
DEFAULT_HEADER = "X-Forwarded-Email"
DEFAULT_PROXIES = "127.0.0.1,::1"
VIEWERS_ENV = "DAILIES_VIEWERS"
DEFAULT_ROLE_ENV = "DAILIES_DEFAULT_ROLE"
VIEWERS_VOTE_ENV = "DAILIES_VIEWERS_VOTE"
ADMIN, MEMBER, VIEWER = "admin", "member", "viewer"
DEFAULT_ROLES = (MEMBER, VIEWER)
"""What DAILIES_DEFAULT_ROLE may say: an admin is always named, never a default."""
_YES, _NO = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class AuthConfigError(ValueError):
    """The auth configuration cannot be used: the app refuses to start and shows this message."""


@dataclass(frozen=True)
class AuthConfig:
    mode: str | None
    """None (single user), "none", "header" or "oidc"."""
    header: str = DEFAULT_HEADER
    trusted: tuple[Network, ...] = ()
    admins: frozenset[str] = frozenset()
    viewers: frozenset[str] = frozenset()
    default_role: str = MEMBER
    """The role of everyone signed in who is neither an admin nor a named viewer."""
    viewers_vote: bool = False
    admin_groups: frozenset[str] = frozenset()
    """OIDC: members of these groups (casefolded) are admins."""
    groups_claim: str = "groups"
    provider: str | None = None
    """OIDC: the named provider of `[auth.<name>]` that st.login uses; None for the default (keys in `[auth]`)."""

    @property
    def signs_in(self) -> bool:
        """A user must be known before any data is shown."""
        return self.mode in ("header", "oidc")


@dataclass(frozen=True)
class Identity:
    email: str | None
    """The signed-in user, or None (single user, no auth, or not signed in)."""
    role: str | None
    """ADMIN, MEMBER or VIEWER when signed in; ADMIN with no sign-in (single user and `none` keep today's rights)."""
    signed_in_required: bool = False

    @property
    def allowed(self) -> bool:
        """May see the app at all: signed in, or on a deployment that does not sign in."""
        return self.email is not None or not self.signed_in_required

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN


def load_config(env: Mapping[str, str] | None = None) -> AuthConfig:
    """The auth configuration from the environment; AuthConfigError names the variable and its allowed values."""
    env = os.environ if env is None else env
    raw = env.get(AUTH_ENV, "").strip().lower()
    shared = bool(env.get("DAILIES_DATABASE_URL", "").strip())
    if not raw:
        if shared:
            raise AuthConfigError(
                f"{AUTH_ENV} is not set, but DAILIES_DATABASE_URL points at a shared store: anyone who reaches this "
                f"URL would spend its budget and read every run. Set {AUTH_ENV} to one of: "
                f"{', '.join(AUTH_MODES)} (none = run without sign-in on purpose; header = trust the email an "
                "authenticating proxy sends; oidc = people sign in through your OpenID Connect provider, set up "
                "in [auth] of secrets.toml).")
        return AuthConfig(mode=None)
    if raw not in AUTH_MODES:
        raise AuthConfigError(f"{AUTH_ENV}: {raw!r} is not one of: {', '.join(AUTH_MODES)} (or unset for one user "
                              "on their own machine).")
    admins = _emails(env, ADMINS_ENV)
    roles = _roles(env)
    if raw == "none":
        return AuthConfig(mode="none", admins=admins, **roles)
    if raw == "oidc":  # the [auth] section itself lives in secrets.toml: jobs/oidc.check_auth_section reads it
        groups = frozenset(g.strip().casefold() for g in env.get(ADMIN_GROUPS_ENV, "").split(",") if g.strip())
        return AuthConfig(mode="oidc", admins=admins, admin_groups=groups, **roles,
                          groups_claim=env.get(GROUPS_CLAIM_ENV, "").strip() or "groups",
                          provider=env.get(OIDC_PROVIDER_ENV, "").strip() or None)
    header = env.get(HEADER_ENV, "").strip() or DEFAULT_HEADER
    trusted = parse_networks(env.get(PROXIES_ENV, "").strip() or DEFAULT_PROXIES)
    if env.get("FORWARDED_ALLOW_IPS") != "":
        raise AuthConfigError(
            f"{AUTH_ENV}=header: start the app with FORWARDED_ALLOW_IPS=\"\" in its environment. Otherwise the "
            "server replaces the connection's address with one from the X-Forwarded-For header, and the check "
            f"against {PROXIES_ENV} would look at the browser's address instead of the proxy's.")
    return AuthConfig(mode="header", header=header, trusted=trusted, admins=admins, **roles)


def _emails(env: Mapping[str, str], name: str) -> frozenset[str]:
    return frozenset(e.strip().lower() for e in env.get(name, "").split(",") if e.strip())


def _roles(env: Mapping[str, str]) -> dict[str, Any]:
    """Viewers, the default role and whether viewers vote; AuthConfigError names the variable and its values."""
    default = env.get(DEFAULT_ROLE_ENV, "").strip().lower() or MEMBER
    if default not in DEFAULT_ROLES:
        raise AuthConfigError(f"{DEFAULT_ROLE_ENV}: {default!r} is not one of: {', '.join(DEFAULT_ROLES)} (admins "
                              f"are named in {ADMINS_ENV}, never given by default).")
    vote = env.get(VIEWERS_VOTE_ENV, "").strip().lower()
    if vote not in _YES + _NO:
        raise AuthConfigError(f"{VIEWERS_VOTE_ENV}: {vote!r} is not one of: 1, 0 (or true/false, yes/no, on/off).")
    return {"viewers": _emails(env, VIEWERS_ENV), "default_role": default, "viewers_vote": vote in _YES}


def role_for(config: AuthConfig, email: str, groups: Iterable[str] = ()) -> str:
    """A signed-in person's role, whatever told us who they are: an admin by the list or by an admin group (OIDC), a
    viewer by the list, else the default role; never admin by being first. An admin named among the viewers too
    stays an admin."""
    email = email.strip().lower()
    if email in config.admins:
        return ADMIN
    if config.admin_groups and any(str(g).strip().casefold() in config.admin_groups for g in groups):
        return ADMIN
    return VIEWER if email in config.viewers else config.default_role


def parse_networks(value: str) -> tuple[Network, ...]:
    nets: list[Network] = []
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            nets.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise AuthConfigError(f"{PROXIES_ENV}: {item!r} is not an IP address or CIDR network "
                                  "(for example 127.0.0.1, ::1 or 10.0.0.0/24)") from None
    return tuple(nets)


def peer_trusted(config: AuthConfig, peer: str | None) -> bool:
    if not peer:
        return False
    try:
        address = ipaddress.ip_address(peer.strip("[]"))
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address.version == net.version and address in net for net in config.trusted)


def resolve(config: AuthConfig, headers: Mapping[str, str], peer: str | None) -> Identity:
    """Who this request is. `headers` are the request's (any case); `peer` the connection's address."""
    if config.mode is None or config.mode == "none":
        return Identity(email=None, role=ADMIN)
    if config.mode != "header":  # oidc: only the ID token's claims say who it is (jobs/oidc.py), never a header
        return Identity(email=None, role=None, signed_in_required=True)
    email = _header(headers, config.header) if peer_trusted(config, peer) else None
    if not email:
        return Identity(email=None, role=None, signed_in_required=True)
    return Identity(email=email, role=role_for(config, email), signed_in_required=True)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            email = str(value).strip().lower()
            # IAP writes "accounts.google.com:alice@example.com"; the part after the last colon is the email.
            email = email.rpartition(":")[2]
            return email if "@" in email and len(email) <= 320 else None
    return None


def local_user(env: Mapping[str, str] | None = None) -> str:
    """Who runs the CLI: DAILIES_USER, else the OS login name."""
    env = os.environ if env is None else env
    named = env.get("DAILIES_USER", "").strip()
    if named:
        return named.lower()
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"
