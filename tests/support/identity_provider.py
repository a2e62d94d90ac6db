"""A small OpenID Connect provider on 127.0.0.1 for tests: discovery, JWKS, code flow with PKCE.

Its keys are made when it starts (RSA, EC P-256, Ed25519), its tokens are signed
with PyJWT, and a test decides which keys the published set holds (rotation),
whether the provider answers at all (down), and sees how often the set was fetched.
It signs in whoever types a user name on its sign-in page: the console's tests
need the protocol, not a password check.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

AUDIENCE = "shipments-api"
CLIENT_ID = "shipments-console"
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


@dataclass(frozen=True)
class ProviderKey:
    """A signing key of the provider, the algorithm it signs with, and its public JWK."""

    kid: str
    algorithm: str
    private: PrivateKey

    def public_jwk(self) -> dict[str, Any]:
        public = self.private.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            jwk = RSAAlgorithm.to_jwk(public, as_dict=True)
        elif isinstance(public, ec.EllipticCurvePublicKey):
            jwk = ECAlgorithm.to_jwk(public, as_dict=True)
        else:
            jwk = OKPAlgorithm.to_jwk(public, as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig", "alg": self.algorithm}


def new_key(kid: str, algorithm: str) -> ProviderKey:
    """A fresh key for ``algorithm`` (RS256, PS256, ES256 or EdDSA)."""
    private: PrivateKey
    if algorithm in ("RS256", "PS256"):
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif algorithm == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
    elif algorithm == "EdDSA":
        private = ed25519.Ed25519PrivateKey.generate()
    else:
        raise ValueError(algorithm)
    return ProviderKey(kid, algorithm, private)


@dataclass
class PendingCode:
    """An authorization code, what it was issued for, and who signed in."""

    client_id: str
    redirect_uri: str
    challenge: str
    user: str


@dataclass
class IdentityProvider:
    """The provider's state; ``serve`` puts it on the network."""

    keys: dict[str, ProviderKey] = field(default_factory=dict)
    published: list[str] = field(default_factory=list)
    users: dict[str, list[str]] = field(default_factory=dict)  # user name → roles
    issuer: str = ""
    key_set_fetches: int = 0
    codes: dict[str, PendingCode] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_key(self, kid: str, algorithm: str, *, publish: bool = True) -> ProviderKey:
        key = new_key(kid, algorithm)
        self.keys[kid] = key
        if publish:
            self.published.append(kid)
        return key

    def publish(self, *kids: str) -> None:
        """From now on the key set holds exactly these keys."""
        self.published = list(kids)

    def key_set(self) -> dict[str, Any]:
        with self.lock:
            self.key_set_fetches += 1
        return {"keys": [self.keys[kid].public_jwk() for kid in self.published]}

    def claims(
        self, subject: str, roles: object, *, now: float, lifetime: float = 300
    ) -> dict[str, Any]:
        """The claims of a typical access token for ``subject`` issued at ``now``."""
        issued = int(now)
        return {
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": subject,
            "roles": roles,
            "iat": issued,
            "nbf": issued,
            "exp": issued + int(lifetime),
            "client_id": CLIENT_ID,
            "jti": secrets.token_hex(8),
        }

    def sign(
        self,
        claims: Mapping[str, Any],
        kid: str,
        *,
        algorithm: str | None = None,
        headers: Mapping[str, Any] | None = None,
    ) -> str:
        """``claims`` signed with the key ``kid`` (its own algorithm unless told otherwise)."""
        key = self.keys[kid]
        return jwt.encode(
            dict(claims),
            key.private,
            algorithm=algorithm or key.algorithm,
            headers={"kid": kid, "typ": "at+jwt", **(headers or {})},
        )

    def token(self, subject: str, roles: object, kid: str, *, now: float | None = None) -> str:
        """A valid access token of ``subject`` with ``roles``, signed with ``kid``."""
        return self.sign(self.claims(subject, roles, now=time.time() if now is None else now), kid)

    def grant(self, client_id: str, redirect_uri: str, challenge: str, user: str) -> str:
        code = secrets.token_urlsafe(16)
        with self.lock:
            self.codes[code] = PendingCode(client_id, redirect_uri, challenge, user)
        return code

    def redeem(self, form: Mapping[str, str]) -> dict[str, Any] | None:
        """The token answer for a valid code exchange (PKCE S256 checked), else None."""
        with self.lock:
            pending = self.codes.pop(form.get("code", ""), None)
        if pending is None or form.get("grant_type") != "authorization_code":
            return None
        verifier = form.get("code_verifier", "")
        challenge = _s256(verifier)
        if (
            form.get("client_id") != pending.client_id
            or form.get("redirect_uri") != pending.redirect_uri
            or not secrets.compare_digest(challenge, pending.challenge)
        ):
            return None
        roles = self.users.get(pending.user, [])
        access = self.token(pending.user, roles, self.published[0])
        return {"access_token": access, "token_type": "Bearer", "expires_in": 300}


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class _Handler(BaseHTTPRequestHandler):
    provider: IdentityProvider  # set on the subclass ``serve`` makes

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read what matters from the provider's state."""

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/.well-known/openid-configuration":
            base = self.provider.issuer
            self._json(
                {
                    "issuer": base,
                    "jwks_uri": f"{base}/jwks",
                    "authorization_endpoint": f"{base}/authorize",
                    "token_endpoint": f"{base}/token",
                    "response_types_supported": ["code"],
                    "code_challenge_methods_supported": ["S256"],
                }
            )
        elif url.path == "/jwks":
            self._json(self.provider.key_set())
        elif url.path == "/authorize":
            self._sign_in_page(parse_qs(url.query))
        else:
            self._json({"error": "not_found"}, 404)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        form = {
            key: values[0] for key, values in parse_qs(self.rfile.read(length).decode()).items()
        }
        path = urlsplit(self.path).path
        if path == "/authorize":
            self._signed_in(form)
        elif path == "/token":
            answer = self.provider.redeem(form)
            if answer is None:
                self._json({"error": "invalid_grant"}, 400)
            else:
                self._json(answer)
        else:
            self._json({"error": "not_found"}, 404)

    def do_OPTIONS(self) -> None:
        self.send_response(204)
        self._cors()
        self.send_header("Access-Control-Allow-Headers", "Content-Type")
        self.send_header("Access-Control-Allow-Methods", "GET, POST")
        self.end_headers()

    def _sign_in_page(self, query: Mapping[str, list[str]]) -> None:
        if query.get("code_challenge_method") != ["S256"] or query.get("response_type") != ["code"]:
            self._json({"error": "invalid_request"}, 400)
            return
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(values[0])}">'
            for name, values in query.items()
        )
        page = (
            '<!doctype html><title>Test provider</title><link rel="icon" href="data:,">'
            "<h1>Test provider sign-in</h1>"
            f'<form method="post" action="/authorize">{hidden}'
            '<label>User name <input name="username"></label>'
            "<button>Sign in</button></form>"
        )
        self._send(200, "text/html; charset=utf-8", page.encode())

    def _signed_in(self, form: Mapping[str, str]) -> None:
        code = self.provider.grant(
            form["client_id"], form["redirect_uri"], form["code_challenge"], form["username"]
        )
        target = f"{form['redirect_uri']}?{urlencode({'code': code, 'state': form['state']})}"
        self.send_response(302)
        self.send_header("Location", target)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _json(self, body: object, status: int = 200) -> None:
        self._send(status, "application/json", json.dumps(body).encode())

    def _send(self, status: int, media_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", media_type)
        self.send_header("Content-Length", str(len(body)))
        self._cors()
        self.end_headers()
        self.wfile.write(body)

    def _cors(self) -> None:
        # A browser app (the console) calls the token endpoint from another origin.
        self.send_header("Access-Control-Allow-Origin", "*")


@dataclass
class RunningProvider:
    """A provider answering on 127.0.0.1 until ``down`` (or the end of ``serve``)."""

    state: IdentityProvider
    server: ThreadingHTTPServer
    thread: threading.Thread

    @property
    def issuer(self) -> str:
        return self.state.issuer

    def down(self) -> None:
        """Stop answering: connections are refused from now on."""
        if self.thread.is_alive():
            self.server.shutdown()
            self.thread.join()
        self.server.server_close()


@contextmanager
def serve(state: IdentityProvider | None = None) -> Iterator[RunningProvider]:
    """The provider on a free port of 127.0.0.1 (its issuer is its base URL)."""
    state = state or IdentityProvider()
    handler = type("Handler", (_Handler,), {"provider": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    state.issuer = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="test-idp", daemon=True)
    thread.start()
    running = RunningProvider(state, server, thread)
    try:
        yield running
    finally:
        running.down()
