"""Pages for the vendor's staff: a forum's settings and its invitations."""

from __future__ import annotations

import re
from typing import Annotated

import msgspec
from litestar import Controller, get, post
from litestar.response import Redirect, Template

from customercase.domain.errors import Conflict, InvalidField, NotAllowed, NotSignedIn
from customercase.domain.ids import ForumId
from customercase.domain.ports import Clock, Ids, UnitOfWork
from customercase.domain.users import User as DomainUser
from customercase.domain.vendors import Forum, Visibility
from customercase.entrypoints.http.deps import Injected
from customercase.entrypoints.http.pages.common import (
    Form,
    field_errors,
    is_staff,
    page,
    see_other,
    viewer,
)
from customercase.entrypoints.http.schemas import Presenter
from customercase.services import vendors

SEPARATORS = re.compile(r"[\s,;]+")
NOTICES = {"saved": "Settings saved.", "invited": "Invitations saved."}


class SettingsForm(msgspec.Struct):
    name: str = ""
    slug: str = ""
    visibility: str = "public"
    allowed_domains: str = ""


class InviteForm(msgspec.Struct):
    emails: str = ""


def split_list(raw: str) -> list[str]:
    """Entries of a textarea, one per line or separated by commas."""
    return [item for item in SEPARATORS.split(raw) if item]


async def staff_forum(
    forum_id: str, user: DomainUser | None, uow: UnitOfWork
) -> tuple[Forum, DomainUser]:
    """The forum and its staff member: others are sent to sign in, or refused."""
    if user is None:
        raise NotSignedIn()
    forum = await vendors.get_forum(ForumId(forum_id), user.id, uow=uow)
    if not await is_staff(forum, user, uow):
        raise NotAllowed("Only the vendor's staff can change a forum's settings.")
    return forum, user


class StaffPages(Controller):
    include_in_schema = False

    @get("/forums/{forum_id:str}/settings", cache=False)
    async def settings(
        self,
        forum_id: str,
        user: DomainUser | None,
        uow: Injected[UnitOfWork],
        present: Presenter,
        done: str = "",
    ) -> Template:
        """The forum's name, slug, visibility, allowed domains and invitations."""
        forum, _ = await staff_forum(forum_id, user, uow)
        return self._page(forum, user, present, {}, {}, NOTICES.get(done, ""))

    @post("/forums/{forum_id:str}/settings")
    async def save_settings(
        self,
        forum_id: str,
        data: Annotated[SettingsForm, Form],
        user: DomainUser | None,
        uow: Injected[UnitOfWork],
        clock: Injected[Clock],
        ids: Injected[Ids],
        present: Presenter,
    ) -> Template | Redirect:
        """Save the settings; a broken rule shows the form again with the error by its field."""
        forum, staff = await staff_forum(forum_id, user, uow)
        visibility = Visibility.PRIVATE if data.visibility == "private" else Visibility.PUBLIC
        cmd = vendors.UpdateForum(
            forum.id,
            staff.id,
            data.name,
            data.slug,
            visibility,
            tuple(split_list(data.allowed_domains)),
        )
        try:
            await vendors.update_forum(cmd, uow=uow, clock=clock, ids=ids)
        except (InvalidField, Conflict) as error:
            values = msgspec.structs.asdict(data)
            return self._page(forum, user, present, values, field_errors(error), "", 422)
        return see_other(f"/forums/{forum_id}/settings?done=saved")

    @post("/forums/{forum_id:str}/invitations")
    async def invite(
        self,
        forum_id: str,
        data: Annotated[InviteForm, Form],
        user: DomainUser | None,
        uow: Injected[UnitOfWork],
        clock: Injected[Clock],
        ids: Injected[Ids],
        present: Presenter,
    ) -> Template | Redirect:
        """Let these people into the forum."""
        forum, staff = await staff_forum(forum_id, user, uow)
        try:
            await vendors.invite_to_forum(
                forum.id, split_list(data.emails), staff.id, uow=uow, clock=clock, ids=ids
            )
        except InvalidField as error:
            errors = {"emails": error.message}
            return self._page(forum, user, present, {"emails": data.emails}, errors, "", 422)
        return see_other(f"/forums/{forum_id}/settings?done=invited")

    def _page(
        self,
        forum: Forum,
        user: DomainUser | None,
        present: Presenter,
        values: dict[str, str],
        errors: dict[str, str],
        notice: str,
        status_code: int = 200,
    ) -> Template:
        context = {
            "viewer": viewer(user, present),
            "forum": present.forum(forum),
            "values": values,
            "errors": errors,
            "notice": notice,
        }
        return page("settings.html", context, status_code)
