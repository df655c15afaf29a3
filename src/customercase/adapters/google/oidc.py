"""Google sign-in: the OpenID Connect authorization-code flow with PKCE, ID tokens checked here.

external-apis.md, section 5. The discovery document names every other endpoint, so pointing the
discovery URL at a local emulator moves the whole flow there.
"""

from __future__ import annotations

import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
from jwt.algorithms import RSAAlgorithm

from customercase.domain.checks import Reach, Verification
from customercase.domain.errors import ExternalSignInFailed, IdentityProviderUnavailable
from customercase.domain.users import ExternalIdentity

# Clocks drift; Google allows for a minute, and so do we.
LEEWAY_SECONDS = 60


class GoogleIdentityProvider:
    def __init__(
        self, client: httpx.AsyncClient, client_id: str, client_secret: str, discovery_url: str
    ) -> None:
        self._client = client
        self._client_id = client_id
        self._client_secret = client_secret
        self._discovery_url = discovery_url
        self._discovery: dict[str, Any] | None = None
        self._keys: dict[str, Any] = {}
        # Keys are kept as long as the key set's Cache-Control allows, so a withdrawn key dies.
        self._keys_expire_at = 0.0

    async def authorization_url(
        self, redirect_uri: str, state: str, nonce: str, code_challenge: str
    ) -> str:
        endpoint = (await self._endpoints())["authorization_endpoint"]
        query = urlencode(
            {
                "client_id": self._client_id,
                "redirect_uri": redirect_uri,
                "response_type": "code",
                "scope": "openid email profile",
                "state": state,
                "nonce": nonce,
                "code_challenge": code_challenge,
                "code_challenge_method": "S256",
                "prompt": "select_account",
            }
        )
        return f"{endpoint}?{query}"

    async def identify(
        self, code: str, code_verifier: str, redirect_uri: str, nonce: str
    ) -> ExternalIdentity:
        endpoints = await self._endpoints()
        answer = await self._call(
            "POST",
            endpoints["token_endpoint"],
            data={
                "code": code,
                "client_id": self._client_id,
                "client_secret": self._client_secret,
                "redirect_uri": redirect_uri,
                "grant_type": "authorization_code",
                "code_verifier": code_verifier,
            },
        )
        # A refused code (reused, expired, PKCE mismatch) is the user's failure, not an outage;
        # codes are single-use, so a failed exchange is never retried.
        if answer.status_code in (400, 401):
            raise ExternalSignInFailed()
        id_token = _json(answer).get("id_token")
        if not isinstance(id_token, str):
            raise IdentityProviderUnavailable()
        claims = await self._verified_claims(id_token, endpoints["issuer"])
        if not hmac.compare_digest(str(claims.get("nonce", "")), nonce):
            raise ExternalSignInFailed()
        email = claims.get("email")
        if claims.get("email_verified") is not True or not isinstance(email, str):
            raise ExternalSignInFailed()
        return ExternalIdentity(str(claims["sub"]), email, str(claims.get("name", ""))[:100])

    async def verify(self) -> Verification:
        """Read the discovery document afresh, then redeem a made-up code at the token endpoint.

        The code is refused whatever happens; how tells the credentials apart: `invalid_client`
        (401) means Google does not know our client id and secret, `invalid_grant` (400) means it
        knows them and only the code was bad (external-apis.md 5.2).
        """
        try:
            found = _json(await self._call("GET", self._discovery_url))
        except IdentityProviderUnavailable:
            return Verification(
                Reach.UNREACHABLE, f"no usable discovery document at {self._discovery_url}"
            )
        token_endpoint = found.get("token_endpoint")
        if not isinstance(token_endpoint, str):
            return Verification(Reach.UNREACHABLE, "the discovery document names no token endpoint")
        try:
            answer = await self._call("POST", token_endpoint, data=self._probe())
        except IdentityProviderUnavailable:
            return Verification(Reach.UNREACHABLE, f"no usable answer from {token_endpoint}")
        error = _error_of(answer)
        if answer.status_code == 401 or error == "invalid_client":
            return Verification(Reach.REFUSED, "the client id and secret are refused")
        if answer.status_code == 400:
            return Verification(Reach.OK, "discovery document read; client credentials accepted")
        return Verification(Reach.UNREACHABLE, f"the token endpoint answered {answer.status_code}")

    def _probe(self) -> dict[str, str]:
        return {
            "code": "customercase-doctor-probe",
            "client_id": self._client_id,
            "client_secret": self._client_secret,
            "redirect_uri": "https://customercase.invalid/doctor",
            "grant_type": "authorization_code",
            "code_verifier": "customercase-doctor-probe-" + "0" * 20,
        }

    async def _verified_claims(self, id_token: str, issuer: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.InvalidTokenError:
            raise ExternalSignInFailed() from None
        if header.get("alg") != "RS256":
            raise ExternalSignInFailed()
        key = await self._key(str(header.get("kid", "")))
        # Google's tokens carry its issuer with or without the scheme (external-apis.md 5.3).
        issuers = [issuer, issuer.removeprefix("https://")]
        try:
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key=key,
                algorithms=["RS256"],
                audience=self._client_id,
                issuer=issuers,
                leeway=LEEWAY_SECONDS,
                options={"require": ["iss", "aud", "sub", "exp", "iat"]},
            )
        except jwt.InvalidTokenError:
            raise ExternalSignInFailed() from None
        if claims["iat"] > time.time() + LEEWAY_SECONDS:
            raise ExternalSignInFailed()
        return claims

    async def _key(self, kid: str) -> Any:
        """The signing key with this id, from the cached key set; fetched again when unknown.

        No throttle is needed on that refetch: in the code flow, ID tokens reach us only from
        the token endpoint over TLS, so an unknown key id cannot be sent by an attacker at will.
        """
        if kid not in self._keys or time.monotonic() >= self._keys_expire_at:
            await self._fetch_keys()
        if kid not in self._keys:
            raise ExternalSignInFailed()
        return self._keys[kid]

    async def _fetch_keys(self) -> None:
        answer = await self._call("GET", (await self._endpoints())["jwks_uri"])
        keys: dict[str, Any] = {}
        try:
            for jwk in _json(answer)["keys"]:
                if jwk.get("kty") == "RSA" and jwk.get("use", "sig") == "sig":
                    keys[str(jwk["kid"])] = RSAAlgorithm.from_jwk(json.dumps(jwk))
        except (KeyError, TypeError, ValueError, jwt.InvalidKeyError):
            raise IdentityProviderUnavailable() from None
        self._keys = keys
        self._keys_expire_at = time.monotonic() + _max_age(answer.headers.get("cache-control"))

    async def _endpoints(self) -> dict[str, Any]:
        if self._discovery is None:
            found = _json(await self._call("GET", self._discovery_url))
            needed = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
            if not all(isinstance(found.get(k), str) for k in needed):
                raise IdentityProviderUnavailable()
            self._discovery = found
        return self._discovery

    async def _call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            answer = await self._client.request(method, url, **kwargs)
        except httpx.HTTPError:
            raise IdentityProviderUnavailable() from None
        if answer.status_code >= 500 or answer.status_code == 429:
            raise IdentityProviderUnavailable()
        return answer


def _max_age(cache_control: str | None, default: int = 3600, longest: int = 86400) -> int:
    for part in (cache_control or "").split(","):
        name, _, value = part.strip().partition("=")
        if name.lower() == "max-age" and value.isdigit():
            return min(int(value), longest)
    return default


def _error_of(answer: httpx.Response) -> str:
    """The OAuth `error` of a refused token request, or ""."""
    try:
        body = answer.json()
    except ValueError:
        return ""
    return str(body.get("error", "")) if isinstance(body, dict) else ""


def _json(answer: httpx.Response) -> dict[str, Any]:
    try:
        body = answer.json()
    except ValueError:
        raise IdentityProviderUnavailable() from None
    if not isinstance(body, dict):
        raise IdentityProviderUnavailable()
    return body
