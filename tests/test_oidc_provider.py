"""The local OpenID Connect provider the sign-in tests use: a real code flow over HTTP on loopback, its ID token
checked by Authlib's own OpenID Connect rules (what Streamlit's st.login runs), and the refusals a real provider makes.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Iterator

import httpx
import pytest
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.oidc_provider import Client, OIDCProvider

CALLBACK = "http://127.0.0.1:9/oauth2callback"
CLIENT = Client("dailies-test", "s3cret-with:colon", (CALLBACK,))


@pytest.fixture(scope="module")
def idp() -> Iterator[OIDCProvider]:
    with OIDCProvider([CLIENT]) as provider:
        yield provider


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    return verifier, base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _sign_in(idp: OIDCProvider, email: str = "ana@example.com", *, challenge: str | None = None,
             groups: str = "", verified: bool = True) -> tuple[str, str]:
    """Open the authorize page, fill the form as a person would, return (code, state) from the redirect."""
    params = {"response_type": "code", "client_id": CLIENT.client_id, "redirect_uri": CALLBACK,
              "scope": "openid email profile", "state": "st-1", "nonce": "n-1", "prompt": "select_account"}
    if challenge:
        params |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    page = httpx.get(f"{idp.issuer}/authorize", params=params)
    assert page.status_code == 200 and "Sign in" in page.text and "dailies-test" in page.text
    txn = re.search(r"name='txn' value='([^']+)'", page.text).group(1)
    form = {"txn": txn, "email": email, "name": "", "groups": groups}
    if verified:
        form["email_verified"] = "on"
    back = httpx.post(f"{idp.issuer}/authorize", data=form)
    assert back.status_code == 303, back.text
    location = httpx.URL(back.headers["location"])
    assert str(location).startswith(CALLBACK + "?")
    return location.params["code"], location.params["state"]


def _token(idp: OIDCProvider, code: str, *, basic: bool = True, secret: str = CLIENT.client_secret,
           verifier: str | None = None) -> httpx.Response:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}
    if verifier:
        form["code_verifier"] = verifier
    if basic:  # RFC 6749 §2.3.1: id and secret form-urlencoded before base64
        return httpx.post(f"{idp.issuer}/token", data=form, auth=(CLIENT.client_id, secret))
    return httpx.post(f"{idp.issuer}/token", data={**form, "client_id": CLIENT.client_id, "client_secret": secret})


def test_discovery_names_its_own_endpoints_and_the_jwks_holds_the_signing_key(idp: OIDCProvider) -> None:
    meta = httpx.get(idp.discovery_url).json()
    assert meta["issuer"] == idp.issuer
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint", "end_session_endpoint"):
        assert meta[key].startswith(idp.issuer + "/"), key
    assert meta["id_token_signing_alg_values_supported"] == ["RS256"]
    keys = httpx.get(meta["jwks_uri"]).json()["keys"]
    assert [k["kid"] for k in keys] == [idp.key.kid] and "d" not in keys[0]  # public half only


def test_a_code_becomes_an_id_token_that_authlib_accepts_and_is_spent_by_its_first_use(idp: OIDCProvider) -> None:
    verifier, challenge = _pkce()
    code, state = _sign_in(idp, "Ana@Example.com", challenge=challenge, groups="dailies-admins, film")
    assert state == "st-1"
    answer = _token(idp, code, verifier=verifier)
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    body = answer.json()
    keys = KeySet.import_key_set(httpx.get(f"{idp.issuer}/jwks").json())
    token = jwt.decode(body["id_token"], keys)
    claims = CodeIDToken(token.claims, token.header, {"iss": {"values": [idp.issuer]}},
                         {"nonce": "n-1", "client_id": CLIENT.client_id, "access_token": body["access_token"]})
    claims.validate()  # iss, aud, exp, iat, nonce and at_hash, as Authlib checks them for st.login
    assert (claims["email"], claims["email_verified"], claims["groups"]) == \
        ("ana@example.com", True, ["dailies-admins", "film"])
    assert "client_secret_basic" in idp.token_auth_methods
    again = _token(idp, code, verifier=verifier)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    info = httpx.get(f"{idp.issuer}/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert info.json()["email"] == "ana@example.com"
    assert httpx.get(f"{idp.issuer}/userinfo", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_client_secret_post_works_and_a_wrong_or_missing_secret_is_refused(idp: OIDCProvider) -> None:
    code, _ = _sign_in(idp, "ben@example.com", verified=False)
    assert _token(idp, code, basic=False, secret="wrong").status_code == 401
    code, _ = _sign_in(idp, "ben@example.com", verified=False)
    assert _token(idp, code, basic=True, secret="wrong").status_code == 401
    code, _ = _sign_in(idp, "ben@example.com", verified=False)
    missing = httpx.post(f"{idp.issuer}/token", data={"grant_type": "authorization_code", "code": code,
                                                      "redirect_uri": CALLBACK, "client_id": CLIENT.client_id})
    assert missing.status_code == 401 and missing.json()["error"] == "invalid_client"
    code, _ = _sign_in(idp, "ben@example.com", verified=False)
    answer = _token(idp, code, basic=False)
    assert answer.status_code == 200
    claims = jwt.decode(answer.json()["id_token"], KeySet.import_key_set(httpx.get(f"{idp.issuer}/jwks").json()))
    assert claims.claims["email_verified"] is False and "groups" not in claims.claims
    assert idp.token_auth_methods[-1] == "client_secret_post"


def test_a_wrong_pkce_verifier_or_redirect_uri_spends_the_code_for_nothing(idp: OIDCProvider) -> None:
    _, challenge = _pkce()
    code, _ = _sign_in(idp, challenge=challenge)
    assert _token(idp, code, verifier="not-the-verifier").json()["error"] == "invalid_grant"
    code, _ = _sign_in(idp)
    wrong = httpx.post(f"{idp.issuer}/token", auth=(CLIENT.client_id, CLIENT.client_secret),
                       data={"grant_type": "authorization_code", "code": code,
                             "redirect_uri": "http://127.0.0.1:9/elsewhere"})
    assert wrong.json()["error"] == "invalid_grant"
    assert _token(idp, code).json()["error"] == "invalid_grant"  # spent by the failed attempt


def test_an_unknown_client_or_return_address_gets_an_error_page_and_no_redirect(idp: OIDCProvider) -> None:
    base = {"response_type": "code", "scope": "openid", "state": "s"}
    unknown = httpx.get(f"{idp.issuer}/authorize", params={**base, "client_id": "who", "redirect_uri": CALLBACK})
    assert unknown.status_code == 400 and "location" not in unknown.headers
    elsewhere = httpx.get(f"{idp.issuer}/authorize", params={**base, "client_id": CLIENT.client_id,
                                                             "redirect_uri": "https://evil.example/cb"})
    assert elsewhere.status_code == 400 and "location" not in elsewhere.headers
    no_openid = httpx.get(f"{idp.issuer}/authorize", params={**base, "scope": "email", "client_id": CLIENT.client_id,
                                                             "redirect_uri": CALLBACK})
    assert no_openid.status_code == 302 and "error=invalid_scope" in no_openid.headers["location"]


def test_an_empty_email_shows_the_form_again_with_the_reason(idp: OIDCProvider) -> None:
    page = httpx.get(f"{idp.issuer}/authorize", params={"response_type": "code", "client_id": CLIENT.client_id,
                                                        "redirect_uri": CALLBACK, "scope": "openid"})
    txn = re.search(r"name='txn' value='([^']+)'", page.text).group(1)
    again = httpx.post(f"{idp.issuer}/authorize", data={"txn": txn, "email": "  "})
    assert again.status_code == 200 and "Type the email address" in again.text
    done = httpx.post(f"{idp.issuer}/authorize", data={"txn": txn, "email": "cy@example.com"})
    assert done.status_code == 303
    replay = httpx.post(f"{idp.issuer}/authorize", data={"txn": txn, "email": "mallory@example.com"})
    assert replay.status_code == 400
