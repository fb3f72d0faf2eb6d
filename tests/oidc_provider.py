"""A small OpenID Connect provider on loopback, for tests: the app signs people in against it exactly as it would
against Google, Microsoft or Okta, and no test reaches a public provider.

The authorization-code flow as OpenID Connect Core 1.0 describes it: discovery, an authorize page where a person
types an email (and, if they like, a name and groups) and presses "Sign in", a token endpoint that trades a one-time
code for an ID token signed RS256 (client_secret_basic or client_secret_post, PKCE S256), the JWKS that verifies it,
userinfo, and an end-session endpoint. It checks what a real provider checks, because what it lets through is what
the app is tested against: the client id, the exact redirect URI (never redirecting to one it does not know),
one-time codes that expire, the code bound to its client, redirect URI and PKCE verifier, and the client secret.

    with OIDCProvider([Client("dailies", "s3cret", ("http://127.0.0.1:8501/oauth2callback",))]) as idp:
        idp.discovery_url  # -> server_metadata_url in [auth]
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import secrets
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlencode

import uvicorn
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

CODE_TTL_S = 60.0
ID_TOKEN_TTL_S = 600


@dataclass(frozen=True)
class Client:
    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]


@dataclass
class _Grant:
    """What an authorize request asked for, and (once the person signed in) whose code it is."""

    client_id: str
    redirect_uri: str
    state: str | None
    nonce: str | None
    scope: str
    code_challenge: str | None
    claims: dict[str, Any] = field(default_factory=dict)
    expires_at: float = 0.0


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _with_query(uri: str, params: dict[str, str | None]) -> str:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{uri}{'&' if '?' in uri else '?'}{query}"


class OIDCProvider:
    """`start()` serves on 127.0.0.1 at a free port (uvicorn in a daemon thread); `stop()`; a context manager."""

    def __init__(self, clients: Sequence[Client], host: str = "127.0.0.1") -> None:
        self.clients = {c.client_id: c for c in clients}
        self.host, self.port = host, 0
        self.key = RSAKey.generate_key(2048, parameters={"kid": f"test-{secrets.token_hex(4)}", "use": "sig",
                                                         "alg": "RS256"}, private=True)
        self.token_auth_methods: list[str] = []
        """How each successful token request authenticated: client_secret_basic or client_secret_post."""
        self.logouts: list[str] = []
        """The post_logout_redirect_uri of each end-session request."""
        self._pending: dict[str, _Grant] = {}
        self._codes: dict[str, _Grant] = {}
        self._access: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.app = Starlette(routes=[
            Route("/.well-known/openid-configuration", self._discovery),
            Route("/authorize", self._authorize, methods=["GET", "POST"]),
            Route("/token", self._token, methods=["POST"]),
            Route("/jwks", self._jwks),
            Route("/userinfo", self._userinfo, methods=["GET", "POST"]),
            Route("/logout", self._logout),
        ])

    @property
    def issuer(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    # -- serving ---------------------------------------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> OIDCProvider:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((self.host, 0))
        self.port = sock.getsockname()[1]
        self._server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning", access_log=False,
                                                     lifespan="off", timeout_graceful_shutdown=0.5))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True,
                                        name=f"oidc:{self.port}")
        self._thread.start()
        started = threading.Event()
        deadline = time.monotonic() + timeout
        while not self._server.started and self._thread.is_alive() and time.monotonic() < deadline:
            started.wait(0.01)
        if not self._server.started:
            self.stop()
            raise RuntimeError(f"the OIDC provider did not start on {self.host}:{self.port}")
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> OIDCProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- endpoints -------------------------------------------------------------------------------------------------

    async def _discovery(self, request: Request) -> Response:
        base = self.issuer
        return JSONResponse({
            "issuer": base, "authorization_endpoint": f"{base}/authorize", "token_endpoint": f"{base}/token",
            "jwks_uri": f"{base}/jwks", "userinfo_endpoint": f"{base}/userinfo",
            "end_session_endpoint": f"{base}/logout", "response_types_supported": ["code"],
            "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile", "groups"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "grant_types_supported": ["authorization_code"], "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "email", "email_verified", "name",
                                 "groups"],
        })

    async def _authorize(self, request: Request) -> Response:
        if request.method == "POST":
            return await self._sign_in(request)
        q = request.query_params
        client = self.clients.get(q.get("client_id", ""))
        if client is None:
            return self._page("Unknown application", "<p>This sign-in link names no application this provider "
                                                     "knows (client_id).</p>", status=400)
        redirect_uri = q.get("redirect_uri", "")
        if redirect_uri not in client.redirect_uris:  # never send a code (or an error) to an address not registered
            return self._page("Wrong return address", "<p>The application asked to come back to an address this "
                                                      "provider does not have on file (redirect_uri).</p>",
                              status=400)
        state = q.get("state")
        error = None
        if q.get("response_type") != "code":
            error = "unsupported_response_type"
        elif "openid" not in q.get("scope", "").split():
            error = "invalid_scope"
        elif q.get("code_challenge") and q.get("code_challenge_method", "plain") != "S256":
            error = "invalid_request"
        if error:
            return RedirectResponse(_with_query(redirect_uri, {"error": error, "state": state}), status_code=302)
        txn = secrets.token_urlsafe(16)
        with self._lock:
            self._pending[txn] = _Grant(client.client_id, redirect_uri, state, q.get("nonce"), q.get("scope", ""),
                                        q.get("code_challenge"))
        return self._form(txn, client.client_id)

    async def _sign_in(self, request: Request) -> Response:
        form = await request.form()
        txn = str(form.get("txn", ""))
        with self._lock:
            grant = self._pending.pop(txn, None)
        if grant is None:
            return self._page("This sign-in page has expired", "<p>Start again from the application.</p>", 400)
        email = str(form.get("email", "")).strip().lower()
        if "@" not in email:
            with self._lock:
                self._pending[txn] = grant
            return self._form(txn, grant.client_id, error="Type the email address you sign in with.")
        groups = [g.strip() for g in str(form.get("groups", "")).split(",") if g.strip()]
        grant.claims = {"sub": "user-" + hashlib.sha256(email.encode()).hexdigest()[:16], "email": email,
                        "email_verified": form.get("email_verified") == "on",
                        "name": str(form.get("name", "")).strip() or email.split("@")[0]}
        if groups:
            grant.claims["groups"] = groups
        grant.expires_at = time.monotonic() + CODE_TTL_S
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = grant
        return RedirectResponse(_with_query(grant.redirect_uri, {"code": code, "state": grant.state,
                                                                 "iss": self.issuer}), status_code=303)

    async def _token(self, request: Request) -> Response:
        form = await request.form()
        client, method, problem = self._client_auth(request, form)
        if client is None:
            return self._oauth_error(problem or "invalid_client", 401,
                                     {"WWW-Authenticate": 'Basic realm="oidc"'} if method == "basic" else None)
        if form.get("grant_type") != "authorization_code":
            return self._oauth_error("unsupported_grant_type", 400)
        with self._lock:  # popped first: a code is spent by its first use, whether or not that use succeeds
            grant = self._codes.pop(str(form.get("code", "")), None)
        if grant is None or grant.expires_at < time.monotonic() or grant.client_id != client.client_id \
                or form.get("redirect_uri") != grant.redirect_uri:
            return self._oauth_error("invalid_grant", 400)
        if grant.code_challenge:
            verifier = str(form.get("code_verifier", ""))
            if not hmac.compare_digest(_b64url(hashlib.sha256(verifier.encode()).digest()), grant.code_challenge):
                return self._oauth_error("invalid_grant", 400)
        access = secrets.token_urlsafe(32)
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": client.client_id, "iat": now, "exp": now + ID_TOKEN_TTL_S,
                  "auth_time": now, "at_hash": _b64url(hashlib.sha256(access.encode()).digest()[:16]),
                  **grant.claims}
        if grant.nonce:
            claims["nonce"] = grant.nonce
        id_token = jwt.encode({"alg": "RS256", "kid": self.key.kid, "typ": "JWT"}, claims, self.key)
        with self._lock:
            self._access[access] = dict(grant.claims)
            self.token_auth_methods.append(f"client_secret_{method}")
        return JSONResponse({"access_token": access, "token_type": "Bearer", "expires_in": 3600,
                             "id_token": id_token, "scope": grant.scope},
                            headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    def _client_auth(self, request: Request, form: Any) -> tuple[Client | None, str, str | None]:
        """(client, "basic" or "post", error code): exactly one way of sending the secret (RFC 6749 §2.3.1)."""
        header = request.headers.get("authorization", "")
        basic = header[:6].lower() == "basic "
        if basic and form.get("client_secret"):
            return None, "basic", "invalid_request"
        if basic:
            try:
                raw_id, _, raw_secret = base64.b64decode(header[6:].strip()).decode().partition(":")
            except ValueError:
                return None, "basic", None
            client_id, secret, method = unquote(raw_id), unquote(raw_secret), "basic"
        else:
            client_id, secret, method = str(form.get("client_id", "")), str(form.get("client_secret", "")), "post"
        client = self.clients.get(client_id)
        if client is None or not secret or not hmac.compare_digest(secret, client.client_secret):
            return None, method, None
        return client, method, None

    async def _jwks(self, request: Request) -> Response:
        return JSONResponse({"keys": [self.key.as_dict(private=False)]})

    async def _userinfo(self, request: Request) -> Response:
        header = request.headers.get("authorization", "")
        with self._lock:
            claims = self._access.get(header[7:].strip()) if header[:7].lower() == "bearer " else None
        if claims is None:
            return Response(status_code=401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return JSONResponse(claims)

    async def _logout(self, request: Request) -> Response:
        target = request.query_params.get("post_logout_redirect_uri", "")
        known = any(target in c.redirect_uris for c in self.clients.values())
        if not known:
            return self._page("Signed out", "<p>You are signed out of the test provider.</p>")
        self.logouts.append(target)
        return RedirectResponse(_with_query(target, {"state": request.query_params.get("state")}), status_code=302)

    # -- pages -----------------------------------------------------------------------------------------------------

    @staticmethod
    def _oauth_error(error: str, status: int, headers: dict[str, str] | None = None) -> Response:
        return JSONResponse({"error": error}, status_code=status, headers={"Cache-Control": "no-store",
                                                                           **(headers or {})})

    @staticmethod
    def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
        return HTMLResponse(
            f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>"
            "body{font-family:system-ui,sans-serif;background:#f4f5f7;color:#1d1f24;margin:0}"
            "main{max-width:380px;margin:80px auto;background:#fff;padding:32px;border-radius:10px;"
            "box-shadow:0 2px 12px #0002}h1{font-size:22px;margin:0 0 4px}p{color:#555;font-size:14px}"
            "label{display:block;margin:14px 0 4px;font-size:14px}input[type=email],input[type=text]{width:100%;"
            "box-sizing:border-box;padding:9px;border:1px solid #bbb;border-radius:6px;font-size:15px}"
            "label.check{display:flex;gap:8px;align-items:center}button{margin-top:20px;width:100%;padding:10px;"
            "border:0;border-radius:6px;background:#2f6fed;color:#fff;font-size:15px;cursor:pointer}"
            ".error{color:#b00020}</style></head>"
            f"<body><main><h1>{html.escape(title)}</h1>{body}</main></body></html>", status_code=status)

    def _form(self, txn: str, client_id: str, error: str | None = None) -> HTMLResponse:
        problem = f"<p class='error' role='alert'>{html.escape(error)}</p>" if error else ""
        return self._page("Test sign-in", (
            f"<p>Local test provider: sign in to <b>{html.escape(client_id)}</b>. There is no password; whoever "
            "types an email here is that person.</p>"
            f"{problem}<form method='post' action='/authorize'>"
            f"<input type='hidden' name='txn' value='{html.escape(txn)}'>"
            "<label for='email'>Email</label><input id='email' name='email' type='email' autocomplete='off'>"
            "<label for='name'>Name (optional)</label><input id='name' name='name' type='text'>"
            "<label for='groups'>Groups (optional, comma-separated)</label>"
            "<input id='groups' name='groups' type='text'>"
            "<label class='check'><input name='email_verified' type='checkbox' checked> Email verified</label>"
            "<button type='submit'>Sign in</button></form>"))
