"""Liveness, readiness and generated avatars."""

from __future__ import annotations

import hashlib
from html import escape

from litestar import Controller, Response, get

from customercase.domain.ids import UserId
from customercase.domain.ports import Avatars, UnitOfWork
from customercase.entrypoints.http.deps import Injected
from customercase.entrypoints.http.schemas import Health
from customercase.services.avatars import avatar_of
from customercase.services.health import check_ready

PALETTE = ("#1f6feb", "#8250df", "#bf3989", "#cf222e", "#bc4c00", "#4d2d00", "#1a7f37", "#0969da")


class HealthController(Controller):
    tags = ["health"]

    @get("/healthz", cache=False)
    async def healthz(self) -> Health:
        """200 while the process runs."""
        return Health("ok")

    @get("/readyz", cache=False)
    async def readyz(self, uow: Injected[UnitOfWork]) -> Health:
        """200 when the database answers, else 503."""
        await check_ready(uow=uow)
        return Health("ready")


def initials_svg(user_id: str, name: str) -> str:
    """A round avatar with the name's initials, coloured by the user id (not the email)."""
    letters = "".join(part[0] for part in name.split()[:2]).upper() or "?"
    colour = PALETTE[hashlib.sha256(user_id.encode()).digest()[0] % len(PALETTE)]
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">'
        f'<circle cx="32" cy="32" r="32" fill="{colour}"/>'
        '<text x="32" y="32" dy=".35em" text-anchor="middle" font-family="sans-serif" '
        f'font-size="26" fill="#fff">{escape(letters)}</text></svg>'
    )


class AvatarController(Controller):
    tags = ["avatars"]

    @get("/avatars/{user_id:str}", include_in_schema=False)
    async def avatar(
        self, user_id: str, uow: Injected[UnitOfWork], avatars: Injected[Avatars]
    ) -> Response[bytes | str]:
        """The user's picture, fetched and cached by us, else their initials; the email and
        any hash of it stay on the server."""
        avatar = await avatar_of(UserId(user_id), uow=uow, avatars=avatars)
        headers = {"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"}
        if avatar.picture is not None:
            picture = avatar.picture
            return Response(picture.content, media_type=picture.media_type, headers=headers)
        return Response(
            initials_svg(user_id, avatar.name), media_type="image/svg+xml", headers=headers
        )
