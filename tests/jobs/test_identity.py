"""Who the user is: the auth modes, the trusted-proxy check on the header, admins only from the configured list."""

from __future__ import annotations

import pytest

from jobs import identity
from jobs.identity import ADMIN, MEMBER, VIEWER, AuthConfigError

HEADER_ENV = {"DAILIES_AUTH": "header", "FORWARDED_ALLOW_IPS": ""}


def test_unset_is_the_single_user_with_every_right() -> None:
    config = identity.load_config({})
    who = identity.resolve(config, {"X-Forwarded-Email": "mallory@example.com"}, "10.0.0.9")
    assert config.mode is None and who.allowed and who.is_admin and who.email is None


def test_a_shared_store_without_auth_refuses_naming_the_variable_and_its_values() -> None:
    with pytest.raises(AuthConfigError) as err:
        identity.load_config({"DAILIES_DATABASE_URL": "postgresql://db/dailies"})
    assert "DAILIES_AUTH" in str(err.value) and "none, header" in str(err.value)
    assert identity.load_config({"DAILIES_DATABASE_URL": "postgresql://db/x", "DAILIES_AUTH": "none"}).mode == "none"


def test_an_unknown_mode_names_the_allowed_values() -> None:
    with pytest.raises(AuthConfigError, match="'ldap' is not one of: none, header"):
        identity.load_config({"DAILIES_AUTH": "ldap"})


def test_header_from_the_proxy_is_honoured_and_from_anywhere_else_ignored() -> None:
    config = identity.load_config({**HEADER_ENV, "DAILIES_TRUSTED_PROXIES": "10.1.0.0/16, 127.0.0.1"})
    headers = {"x-forwarded-email": "Alice@Example.com"}
    assert identity.resolve(config, headers, "10.1.2.3").email == "alice@example.com"
    assert identity.resolve(config, headers, "127.0.0.1").email == "alice@example.com"
    for forged_from in ("10.2.0.1", "192.168.1.5", None, "not-an-ip"):
        who = identity.resolve(config, headers, forged_from)
        assert who.email is None and not who.allowed


def test_default_trusted_proxies_are_loopback_only_and_the_header_name_is_configurable() -> None:
    config = identity.load_config({**HEADER_ENV, "DAILIES_AUTH_HEADER": "X-Auth-Request-Email"})
    assert identity.resolve(config, {"X-Auth-Request-Email": "bob@example.com"}, "::1").email == "bob@example.com"
    assert identity.resolve(config, {"X-Forwarded-Email": "bob@example.com"}, "::1").email is None
    assert identity.resolve(config, {"X-Auth-Request-Email": "bob@example.com"}, "192.168.0.2").email is None


def test_no_header_means_not_signed_in() -> None:
    who = identity.resolve(identity.load_config(HEADER_ENV), {}, "127.0.0.1")
    assert not who.allowed and who.role is None


def test_header_mode_refuses_while_the_server_rewrites_the_peer_from_x_forwarded_for() -> None:
    with pytest.raises(AuthConfigError, match='FORWARDED_ALLOW_IPS=""'):
        identity.load_config({"DAILIES_AUTH": "header"})


def test_a_bad_proxy_address_names_the_variable() -> None:
    with pytest.raises(AuthConfigError, match="DAILIES_TRUSTED_PROXIES: 'proxy.local'"):
        identity.load_config({**HEADER_ENV, "DAILIES_TRUSTED_PROXIES": "proxy.local"})


def test_admins_come_only_from_the_list_and_the_first_user_is_a_member() -> None:
    config = identity.load_config({**HEADER_ENV, "DAILIES_ADMINS": "Boss@Example.com, ops@example.com"})
    first = identity.resolve(config, {"X-Forwarded-Email": "newcomer@example.com"}, "127.0.0.1")
    assert first.role == MEMBER and not first.is_admin
    assert identity.resolve(config, {"X-Forwarded-Email": "boss@example.com"}, "127.0.0.1").role == ADMIN
    nobody = identity.load_config(HEADER_ENV)
    assert identity.resolve(nobody, {"X-Forwarded-Email": "first@example.com"}, "127.0.0.1").role == MEMBER


def test_the_cli_user_is_dailies_user_or_the_os_login() -> None:
    assert identity.local_user({"DAILIES_USER": "Carol@Example.com"}) == "carol@example.com"
    assert identity.local_user({}) != ""


def test_viewers_are_named_and_everyone_else_has_the_default_role() -> None:
    config = identity.load_config({**HEADER_ENV, "DAILIES_ADMINS": "boss@example.com",
                                   "DAILIES_VIEWERS": "Vic@Example.com, boss@example.com"})
    role = {e: identity.resolve(config, {"X-Forwarded-Email": e}, "127.0.0.1").role
            for e in ("vic@example.com", "boss@example.com", "ann@example.com")}
    assert role == {"vic@example.com": VIEWER, "boss@example.com": ADMIN, "ann@example.com": MEMBER}
    assert not config.viewers_vote
    shows = identity.load_config({**HEADER_ENV, "DAILIES_DEFAULT_ROLE": "Viewer", "DAILIES_VIEWERS_VOTE": "1"})
    assert identity.resolve(shows, {"X-Forwarded-Email": "ann@example.com"}, "127.0.0.1").role == VIEWER
    assert shows.viewers_vote


@pytest.mark.parametrize(("env", "named"), [
    ({"DAILIES_DEFAULT_ROLE": "admin"}, "DAILIES_DEFAULT_ROLE: 'admin' is not one of: member, viewer"),
    ({"DAILIES_VIEWERS_VOTE": "maybe"}, "DAILIES_VIEWERS_VOTE: 'maybe' is not one of: 1, 0"),
], ids=["default-role", "viewers-vote"])
def test_a_bad_role_setting_refuses_to_start_naming_the_variable_and_its_values(env, named) -> None:
    with pytest.raises(AuthConfigError, match=named):
        identity.load_config({**HEADER_ENV, **env})


def test_single_user_and_no_auth_keep_every_right_whatever_the_viewer_list_says() -> None:
    env = {"DAILIES_VIEWERS": "vic@example.com", "DAILIES_DEFAULT_ROLE": "viewer"}
    for config in (identity.load_config(env), identity.load_config({**env, "DAILIES_AUTH": "none"})):
        assert identity.resolve(config, {"X-Forwarded-Email": "vic@example.com"}, "127.0.0.1").role == ADMIN
