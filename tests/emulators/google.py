"""A local OpenID provider that behaves like Google's (external-apis.md, section 5.5).

Its own RSA keys (rotatable), a discovery document, JWKS with Cache-Control, an authorization
endpoint that "consents" at once, and a token endpoint with single-use codes, exact redirect
URIs and PKCE (S256 only). Switches let a test forge what Google never would: a token signed by
another key, for another audience, expired, with a stale nonce or an unverified email; and the
failures of any service: 429 with Retry-After, a 5xx, a slow answer, a malformed body.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from litestar import Litestar, Request, Response, get, post
from litestar.response import Redirect

CLIENT_ID = "customercase-test.apps.googleusercontent.com"
CLIENT_SECRET = "emulator-client-secret"


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class GoogleEmulator:
    redirect_uris: set[str]
    base_url: str = ""
    keys: dict[str, rsa.RSAPrivateKey] = field(default_factory=dict)
    active_kid: str = ""
    # Who signs in next, and what to do to their next ID token.
    person: dict[str, Any] = field(default_factory=dict)
    claim_overrides: dict[str, Any] = field(default_factory=dict)
    sign_with_foreign_key: bool = False
    unknown_kid: bool = False
    # Failure switches for the token endpoint.
    fail_with: int | None = None
    rate_limited: bool = False
    delay_seconds: float = 0.0
    malformed: bool = False
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    jwks_fetches: int = 0

    def __post_init__(self) -> None:
        self.rotate_key()
        self.sign_in_as("1000001", "someone@gmail.example", "Some One")

    def rotate_key(self) -> str:
        kid = secrets.token_hex(8)
        self.keys[kid] = _new_key()
        self.active_kid = kid
        return kid

    def sign_in_as(self, sub: str, email: str, name: str, *, verified: bool = True) -> None:
        self.person = {"sub": sub, "email": email, "email_verified": verified, "name": name}

    def id_token(self, client_id: str, nonce: str | None) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.base_url,
            "aud": client_id,
            "azp": client_id,
            "iat": now,
            "exp": now + 3600,
            **self.person,
        }
        if nonce is not None:
            claims["nonce"] = nonce
        claims.update(self.claim_overrides)
        if self.unknown_kid:
            kid, key = "never-published", _new_key()
        else:
            kid = self.active_kid
            key = _new_key() if self.sign_with_foreign_key else self.keys[kid]
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})

    def app(self) -> Litestar:
        emulator = self

        @get("/.well-known/openid-configuration")
        async def discovery() -> dict[str, Any]:
            base = emulator.base_url
            return {
                "issuer": base,
                "authorization_endpoint": f"{base}/o/oauth2/v2/auth",
                "token_endpoint": f"{base}/token",
                "jwks_uri": f"{base}/oauth2/v3/certs",
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["plain", "S256"],
            }

        @get("/oauth2/v3/certs")
        async def jwks() -> Response[dict[str, Any]]:
            emulator.jwks_fetches += 1
            keys = []
            for kid, key in emulator.keys.items():
                jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
                keys.append({**jwk, "kid": kid, "alg": "RS256", "use": "sig"})
            return Response({"keys": keys}, headers={"Cache-Control": "public, max-age=21600"})

        @get("/o/oauth2/v2/auth")
        async def authorize(request: Request[Any, Any, Any]) -> Response[Any]:
            q = request.query_params
            if q.get("client_id") != CLIENT_ID:
                return Response({"error": "invalid_client"}, status_code=401)
            redirect_uri = q.get("redirect_uri", "")
            if redirect_uri not in emulator.redirect_uris:
                return Response({"error": "redirect_uri_mismatch"}, status_code=400)
            if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
                return Response({"error": "invalid_request"}, status_code=400)
            code = secrets.token_urlsafe(24)
            emulator.codes[code] = {
                "redirect_uri": redirect_uri,
                "challenge": q["code_challenge"],
                "nonce": q.get("nonce"),
                "expires": time.time() + 60,
            }
            query = urlencode({"code": code, "state": q.get("state", "")})
            return Redirect(f"{redirect_uri}?{query}", status_code=302)

        @post("/token", status_code=200)
        async def token(request: Request[Any, Any, Any]) -> Response[Any]:
            if emulator.delay_seconds:
                import asyncio

                await asyncio.sleep(emulator.delay_seconds)
            if emulator.rate_limited:
                return Response(
                    {"error": "rate_limit_exceeded"}, status_code=429, headers={"Retry-After": "30"}
                )
            if emulator.fail_with:
                return Response({"error": "backend_error"}, status_code=emulator.fail_with)
            if emulator.malformed:
                return Response("<html>oops</html>", media_type="text/html")
            if not request.headers.get("content-type", "").startswith(
                "application/x-www-form-urlencoded"
            ):
                return Response({"error": "invalid_request"}, status_code=400)
            form = await request.form()
            if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
                return Response({"error": "invalid_client"}, status_code=401)
            grant = emulator.codes.pop(str(form.get("code", "")), None)  # single use
            verifier = str(form.get("code_verifier", ""))
            challenge = (
                base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
                .rstrip(b"=")
                .decode()
            )
            if (
                grant is None
                or grant["expires"] < time.time()
                or grant["redirect_uri"] != form.get("redirect_uri")
                or grant["challenge"] != challenge
            ):
                return Response(
                    {"error": "invalid_grant", "error_description": "Bad Request"}, status_code=400
                )
            return Response(
                {
                    "access_token": secrets.token_urlsafe(32),
                    "expires_in": 3599,
                    "token_type": "Bearer",
                    "scope": "openid email profile",
                    "id_token": emulator.id_token(CLIENT_ID, grant["nonce"]),
                }
            )

        return Litestar([discovery, jwks, authorize, token])
