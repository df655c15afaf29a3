"""Secrets at rest (Jira API tokens): Fernet, keyed by HKDF from CUSTOMERCASE_SECRET_KEY."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class FernetSecretBox:
    def __init__(self, secret_key: str) -> None:
        if not secret_key:
            raise ValueError("a secret key is needed to seal secrets")
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"customercase stored secrets"
        ).derive(secret_key.encode())
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise ValueError("the stored secret was sealed with another key") from None
