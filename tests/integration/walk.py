"""Helpers to walk the API as people would: each person in a browser of their own."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

Client = httpx.AsyncClient
PASSWORD = "correct horse battery"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def sign_up(client: Client, name: str = "Ada Lovelace") -> dict[str, Any]:
    email = f"{unique(name.split()[0].lower())}@example.org"
    response = await client.post(
        "/api/v1/auth/signup", json={"email": email, "name": name, "password": PASSWORD}
    )
    assert response.status_code == 201, response.text
    return {**response.json(), "email": email}


async def open_forum(client: Client, visibility: str = "public", **extra: Any) -> dict[str, Any]:
    vendor = await client.post("/api/v1/vendors", json={"name": "Acme", "slug": unique("acme")})
    assert vendor.status_code == 201, vendor.text
    forum = await client.post(
        f"/api/v1/vendors/{vendor.json()['id']}/forums",
        json={"name": "Ideas", "slug": "ideas", "visibility": visibility, **extra},
    )
    assert forum.status_code == 201, forum.text
    return dict(forum.json())


async def submit(client: Client, forum_id: str, summary: str) -> dict[str, Any]:
    response = await client.post(f"/api/v1/forums/{forum_id}/ideas", json={"summary": summary})
    assert response.status_code == 201, response.text
    return dict(response.json())
