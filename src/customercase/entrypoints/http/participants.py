"""Participants of an idea: people staff add by email."""

from __future__ import annotations

from litestar import Controller, post

from customercase.domain.ids import IdeaId
from customercase.domain.ports import Clock, Ids, UnitOfWork
from customercase.domain.users import User as DomainUser
from customercase.entrypoints.http.deps import Injected
from customercase.entrypoints.http.schemas import ParticipantCreate
from customercase.services import participants


class ParticipantController(Controller):
    path = "/api/v1/ideas/{idea_id:str}/participants"
    tags = ["ideas"]

    @post("/", status_code=204)
    async def add_participant(
        self,
        idea_id: str,
        data: ParticipantCreate,
        user: DomainUser | None,
        uow: Injected[UnitOfWork],
        clock: Injected[Clock],
        ids: Injected[Ids],
    ) -> None:
        """Add a person by email (staff only): they watch the idea and are told by email."""
        cmd = participants.AddParticipant(IdeaId(idea_id), data.email, user.id if user else None)
        await participants.add_participant(cmd, uow=uow, clock=clock, ids=ids)
