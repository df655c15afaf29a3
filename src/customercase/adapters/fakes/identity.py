"""The IdentityProvider's twin: Google's consent screen and token endpoint, in a dict.

A test starts a sign-in through the use case, then `consent(state, identity)` plays the person
choosing their Google account and gives the code the callback brings back. `identify` checks
what Google would: the code is known and unused, the PKCE verifier and the nonce match the flow.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from customercase.domain.checks import Reach, Verification
from customercase.domain.errors import ExternalSignInFailed
from customercase.domain.users import ExternalIdentity, pkce_challenge


@dataclass(frozen=True, slots=True)
class _Started:
    redirect_uri: str
    nonce: str
    code_challenge: str


class FakeIdentityProvider:
    def __init__(self) -> None:
        self.started: dict[str, _Started] = {}
        self._codes: dict[str, tuple[_Started, ExternalIdentity]] = {}
        # What verify() answers, as the discovery document and token endpoint would.
        self.check_answer = Verification(Reach.OK, "client credentials accepted")

    async def authorization_url(
        self, redirect_uri: str, state: str, nonce: str, code_challenge: str
    ) -> str:
        self.started[state] = _Started(redirect_uri, nonce, code_challenge)
        query = urlencode({"redirect_uri": redirect_uri, "state": state})
        return f"https://accounts.google.test/auth?{query}"

    def consent(self, state: str, identity: ExternalIdentity) -> str:
        """The person picks this Google account for the sign-in started with `state`."""
        code = f"code-{len(self._codes) + 1}"
        self._codes[code] = (self.started[state], identity)
        return code

    async def identify(
        self, code: str, code_verifier: str, redirect_uri: str, nonce: str
    ) -> ExternalIdentity:
        found = self._codes.pop(code, None)
        if found is None:
            raise ExternalSignInFailed()
        started, identity = found
        if (
            pkce_challenge(code_verifier) != started.code_challenge
            or redirect_uri != started.redirect_uri
            or nonce != started.nonce
        ):
            raise ExternalSignInFailed()
        return identity

    async def verify(self) -> Verification:
        """`check_answer`."""
        return self.check_answer
