"""Pages for the vendor's staff: a forum's settings, its invitations and its Jira binding."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Annotated

import msgspec
from litestar import Controller, get, post
from litestar.response import Redirect, Template

from customercase.domain.errors import (
    Conflict,
    InvalidField,
    NotAllowed,
    NotSignedIn,
    TrackerUnavailable,
)
from customercase.domain.ids import ForumId
from customercase.domain.ports import Clock, Ids, IssueTrackers, ListCache, SecretBox, UnitOfWork
from customercase.domain.users import User as DomainUser
from customercase.domain.vendors import Forum, JiraBinding, Visibility
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
from customercase.services import tracker, vendors

SEPARATORS = re.compile(r"[\s,;]+")
NOTICES = {
    "saved": "Settings saved.",
    "invited": "Invitations saved.",
    "bound": "Jira binding saved. The project's issues are being imported.",
    "unbound": "The forum is no longer bound to Jira.",
}
PROJECT_KEY = re.compile(r"^[A-Z][A-Z0-9_]{0,31}$")
NO_TOKEN = "Paste an API token for this account: none is saved for this site and email yet."  # noqa: S105


class SettingsForm(msgspec.Struct):
    name: str = ""
    slug: str = ""
    visibility: str = "public"
    allowed_domains: str = ""


class InviteForm(msgspec.Struct):
    emails: str = ""


class JiraForm(msgspec.Struct):
    site_url: str = ""
    email: str = ""
    # Empty keeps the token saved for this site and email; it is never shown again.
    api_token: str = ""
    project_key: str = ""
    issue_type: str = "Task"


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
        raise NotAllowed("This page is for the vendor's staff.")
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
        forum, staff = await staff_forum(forum_id, user, uow)
        return await self._page(forum, staff, uow, present, {}, {}, NOTICES.get(done, ""))

    @post("/forums/{forum_id:str}/settings")
    async def save_settings(
        self,
        forum_id: str,
        data: Annotated[SettingsForm, Form],
        user: DomainUser | None,
        uow: Injected[UnitOfWork],
        lists: Injected[ListCache],
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
            await vendors.update_forum(cmd, uow=uow, clock=clock, ids=ids, cache=lists)
        except (InvalidField, Conflict) as error:
            values = msgspec.structs.asdict(data)
            errors = field_errors(error)
            return await self._page(forum, staff, uow, present, values, errors, "", 422)
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
            values = {"emails": data.emails}
            return await self._page(forum, staff, uow, present, values, errors, "", 422)
        return see_other(f"/forums/{forum_id}/settings?done=invited")

    @post("/forums/{forum_id:str}/jira")
    async def bind_jira(
        self,
        forum_id: str,
        data: Annotated[JiraForm, Form],
        user: DomainUser | None,
        uow: Injected[UnitOfWork],
        lists: Injected[ListCache],
        clock: Injected[Clock],
        ids: Injected[Ids],
        trackers: Injected[IssueTrackers],
        secrets: Injected[SecretBox],
        present: Presenter,
    ) -> Template | Redirect:
        """Connect the vendor's Jira site (a new token is checked with Jira) and bind the forum
        to a project; what Jira or the rules refuse is shown by its field."""
        forum, staff = await staff_forum(forum_id, user, uow)
        errors = await self._connect(forum, staff, data, uow, clock, trackers, secrets)
        if errors:
            values = {**msgspec.structs.asdict(data), "api_token": ""}
            return await self._page(forum, staff, uow, present, values, errors, "", 422)
        binding = forum.jira or JiraBinding(data.project_key)
        binding = replace(
            binding, project_key=data.project_key.strip(), issue_type=data.issue_type.strip()
        )
        cmd = vendors.UpdateForum(forum.id, staff.id, jira=binding)
        await vendors.update_forum(cmd, uow=uow, clock=clock, ids=ids, cache=lists)
        return see_other(f"/forums/{forum_id}/settings?done=bound#jira-heading")

    @post("/forums/{forum_id:str}/jira/unbind")
    async def unbind_jira(
        self, forum_id: str, user: DomainUser | None, uow: Injected[UnitOfWork]
    ) -> Redirect:
        """Stop syncing the forum with Jira; the vendor's site connection stays for others."""
        forum, staff = await staff_forum(forum_id, user, uow)
        await vendors.unbind_jira(forum.id, staff.id, uow=uow)
        return see_other(f"/forums/{forum_id}/settings?done=unbound#jira-heading")

    async def _connect(
        self,
        forum: Forum,
        staff: DomainUser,
        data: JiraForm,
        uow: UnitOfWork,
        clock: Clock,
        trackers: IssueTrackers,
        secrets: SecretBox,
    ) -> dict[str, str]:
        """Check the form and save the site connection; the errors by field, if any."""
        errors: dict[str, str] = {}
        if not PROJECT_KEY.match(data.project_key.strip()):
            errors["project_key"] = "Enter the project's key, like SUP: capitals, digits, _."
        if not 1 <= len(data.issue_type.strip()) <= 64:
            errors["issue_type"] = "Enter the issue type new ideas become, like Task."
        saved = await tracker.jira_connection(forum.vendor_id, staff.id, uow=uow)
        same_account = saved is not None and (saved.site_url, saved.email) == (
            data.site_url.strip().rstrip("/"),
            data.email.strip().lower(),
        )
        if not data.api_token and not same_account:
            errors.setdefault("api_token", NO_TOKEN)
        if errors or not data.api_token:
            return errors
        cmd = tracker.ConnectJira(
            forum.vendor_id, staff.id, data.site_url, data.email, data.api_token
        )
        try:
            await tracker.connect_jira(
                cmd, uow=uow, trackers=trackers, secrets=secrets, clock=clock
            )
        except InvalidField as error:
            return field_errors(error)
        except TrackerUnavailable:
            return {"site_url": "Jira did not answer at this address; check it and try again."}
        return {}

    async def _page(
        self,
        forum: Forum,
        user: DomainUser,
        uow: UnitOfWork,
        present: Presenter,
        values: dict[str, str],
        errors: dict[str, str],
        notice: str,
        status_code: int = 200,
    ) -> Template:
        connection = await tracker.jira_connection(forum.vendor_id, user.id, uow=uow)
        context = {
            "viewer": viewer(user, present),
            "forum": present.forum(forum),
            "jira_site": connection,
            "values": values,
            "errors": errors,
            "notice": notice,
            "current": "settings",
        }
        return page("settings.html", context, status_code)
