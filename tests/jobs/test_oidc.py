"""OIDC sign-in rules: an [auth] section that cannot sign anyone in refuses to start naming what is missing; roles
come from admin emails or admin groups, never from being first; an unverified email is not trusted."""

from __future__ import annotations

from typing import Any

import pytest

from jobs import identity, oidc
from jobs.identity import ADMIN, MEMBER, AuthConfigError

OIDC_ENV = {"DAILIES_AUTH": "oidc"}
SECRET = "x" * 40
SECTION: dict[str, Any] = {"redirect_uri": "https://dailies.example.com/oauth2callback", "cookie_secret": SECRET,
                           "client_id": "dailies", "client_secret": "s3cret",
                           "server_metadata_url": "https://idp.example.com/.well-known/openid-configuration"}


def _config(env: dict[str, str] | None = None, section: dict[str, Any] | None = None) -> identity.AuthConfig:
    return oidc.check_auth_section(identity.load_config({**OIDC_ENV, **(env or {})}), section)


def _user(**claims: Any) -> dict[str, Any]:
    return {"is_logged_in": True, "email_verified": True, **claims}


def test_oidc_is_a_mode_that_signs_in_and_counts_as_auth_for_a_shared_store() -> None:
    config = identity.load_config({**OIDC_ENV, "DAILIES_DATABASE_URL": "postgresql://db/dailies"})
    assert config.mode == "oidc" and config.signs_in and config.groups_claim == "groups"
    with pytest.raises(AuthConfigError, match="none, header, oidc"):
        identity.load_config({"DAILIES_DATABASE_URL": "postgresql://db/dailies"})


def test_no_auth_section_names_every_key_it_needs() -> None:
    for section in (None, {}):
        with pytest.raises(AuthConfigError) as err:
            _config(section=section)
        for key in ("redirect_uri", "cookie_secret", "client_id", "client_secret", "server_metadata_url"):
            assert key in str(err.value)


def test_missing_keys_are_named_with_the_table_they_belong_in() -> None:
    section = {k: v for k, v in SECTION.items() if k not in ("cookie_secret", "client_secret")}
    with pytest.raises(AuthConfigError, match=r"missing cookie_secret \(in \[auth\]\), client_secret \(in \[auth\]\)"):
        _config(section=section)
    named = {"redirect_uri": SECTION["redirect_uri"], "cookie_secret": SECRET,
             "okta": {"client_id": "d", "server_metadata_url": SECTION["server_metadata_url"]}}
    with pytest.raises(AuthConfigError, match=r"missing client_secret \(in \[auth.okta\]\)"):
        _config(section=named)


def test_the_default_provider_or_the_one_named_provider_is_what_sign_in_uses() -> None:
    assert _config(section=SECTION).provider is None
    provider = {k: SECTION[k] for k in ("client_id", "client_secret", "server_metadata_url")}
    shared = {"redirect_uri": SECTION["redirect_uri"], "cookie_secret": SECRET}
    assert _config(section={**shared, "okta": provider}).provider == "okta"
    two = {**shared, "okta": provider, "google": provider}
    with pytest.raises(AuthConfigError, match=r"several providers \(google, okta\).*DAILIES_OIDC_PROVIDER"):
        _config(section=two)
    assert _config({"DAILIES_OIDC_PROVIDER": "google"}, two).provider == "google"
    with pytest.raises(AuthConfigError, match="DAILIES_OIDC_PROVIDER: 'azure'.*found: google, okta"):
        _config({"DAILIES_OIDC_PROVIDER": "azure"}, two)


def test_a_redirect_uri_off_the_callback_path_or_a_short_cookie_secret_is_refused() -> None:
    with pytest.raises(AuthConfigError, match=r"redirect_uri: 'https://dailies.example.com/'.*/oauth2callback"):
        _config(section={**SECTION, "redirect_uri": "https://dailies.example.com/"})
    with pytest.raises(AuthConfigError, match="cookie_secret is shorter than 32 characters"):
        _config(section={**SECTION, "cookie_secret": "hunter2"})
    with pytest.raises(AuthConfigError, match="server_metadata_url"):
        _config(section={**SECTION, "server_metadata_url": "idp.example.com"})


def test_admins_are_listed_emails_or_admin_groups_and_the_first_user_is_a_member() -> None:
    config = _config({"DAILIES_ADMINS": "Boss@Example.com", "DAILIES_ADMIN_GROUPS": "Dailies-Admins, ops"}, SECTION)
    who = oidc.identity_from_claims(config, _user(email="first@example.com"))
    assert who.allowed and who.email == "first@example.com" and who.role == MEMBER
    assert oidc.identity_from_claims(config, _user(email="boss@example.com")).role == ADMIN
    assert oidc.identity_from_claims(config, _user(email="kim@example.com", groups=["film", "dailies-admins"])).is_admin
    assert oidc.identity_from_claims(config, _user(email="kim@example.com", groups="ops")).is_admin
    assert oidc.identity_from_claims(config, _user(email="kim@example.com", groups=["film"])).role == MEMBER
    nobody = _config(section=SECTION)
    assert oidc.identity_from_claims(nobody, _user(email="first@example.com", groups=["admins"])).role == MEMBER


def test_the_groups_claim_name_is_configurable() -> None:
    config = _config({"DAILIES_ADMIN_GROUPS": "editors", "DAILIES_GROUPS_CLAIM": "roles"}, SECTION)
    assert oidc.identity_from_claims(config, _user(email="a@example.com", roles=["editors"])).is_admin
    assert not oidc.identity_from_claims(config, _user(email="a@example.com", groups=["editors"])).is_admin


def test_role_for_is_the_header_modes_rule_too() -> None:
    header = identity.load_config({"DAILIES_AUTH": "header", "FORWARDED_ALLOW_IPS": "", "DAILIES_ADMINS": "b@x.io"})
    assert identity.role_for(header, "B@x.io") == ADMIN and identity.role_for(header, "c@x.io") == MEMBER
    assert identity.resolve(header, {"X-Forwarded-Email": "b@x.io"}, "127.0.0.1").role == ADMIN


def test_an_explicitly_unverified_email_is_not_trusted_and_the_screen_can_say_why() -> None:
    config = _config({"DAILIES_ADMINS": "boss@example.com"}, SECTION)
    for flag in (False, "false"):
        user = _user(email="boss@example.com", email_verified=flag)
        assert not oidc.identity_from_claims(config, user).allowed
        assert "boss@example.com is not verified" in oidc.claimed_email(user)[1]
    # A provider that says nothing about verification (many work accounts) is trusted.
    unstated = {"is_logged_in": True, "email": "boss@example.com"}
    assert oidc.identity_from_claims(config, unstated).is_admin


def test_nobody_signed_in_and_no_email_claim_are_not_allowed() -> None:
    config = _config(section=SECTION)
    assert not oidc.identity_from_claims(config, {}).allowed
    assert not oidc.identity_from_claims(config, {"email": "test@example.com"}).allowed  # no is_logged_in
    no_email = _user(name="Ana")
    assert not oidc.identity_from_claims(config, no_email).allowed
    assert "sent no email address" in oidc.claimed_email(no_email)[1]


def test_in_oidc_mode_a_proxy_header_means_nothing() -> None:
    config = _config({"DAILIES_ADMINS": "boss@example.com"}, SECTION)
    assert not identity.resolve(config, {"X-Forwarded-Email": "boss@example.com"}, "127.0.0.1").allowed


def test_viewers_and_the_default_role_apply_to_oidc_and_an_admin_group_outranks_the_viewer_list() -> None:
    config = _config({"DAILIES_ADMIN_GROUPS": "dailies-admins", "DAILIES_VIEWERS": "kim@example.com",
                      "DAILIES_DEFAULT_ROLE": "viewer"}, SECTION)
    assert oidc.identity_from_claims(config, _user(email="kim@example.com", groups=["dailies-admins"])).is_admin
    assert oidc.identity_from_claims(config, _user(email="kim@example.com")).role == identity.VIEWER
    assert oidc.identity_from_claims(config, _user(email="new@example.com")).role == identity.VIEWER
