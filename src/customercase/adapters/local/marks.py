"""Viewers' marks read together when they are asked for at the same time (MarksReader)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from customercase.domain.ideas import Marks
from customercase.domain.ids import IdeaId, UserId
from customercase.domain.ports import UnitOfWork

_Asked = tuple[UserId, Sequence[IdeaId], "asyncio.Future[dict[IdeaId, Marks]]"]


class CoalescedMarks:
    """Signed-in viewers' marks on their first pages, read for several viewers at once.

    The first caller's read starts at once. Those who ask while a read is in flight wait for
    it to end and are then read together, in one unit of work and one statement (at most
    `most` each): a busy process makes one round trip for several pages instead of one each,
    and an idle one makes the same one as before. Every answer is read after its caller asked,
    so it holds every change committed before that, the viewer's own vote included."""

    def __init__(self, uow: Callable[[], UnitOfWork], most: int = 64) -> None:
        self._uow = uow
        self._most = most
        self._asked: list[_Asked] = []
        self._reader: asyncio.Task[None] | None = None

    async def marks(self, idea_ids: Sequence[IdeaId], viewer_id: UserId) -> dict[IdeaId, Marks]:
        loop = asyncio.get_running_loop()
        reader = self._reader
        if reader is not None and reader.get_loop() is not loop:
            # Left by another event loop (tests run one per test): its callers are gone.
            self._asked, reader = [], None
        future: asyncio.Future[dict[IdeaId, Marks]] = loop.create_future()
        self._asked.append((viewer_id, idea_ids, future))
        if reader is None or reader.done():
            self._reader = loop.create_task(self._read())
        return await future

    async def _read(self) -> None:
        """Read what is asked, in turns, until nobody waits."""
        while self._asked:
            taken = self._asked[: self._most]
            del self._asked[: self._most]
            taken = [a for a in taken if not a[2].done()]  # a caller gone (cancelled)
            if not taken:
                continue
            try:
                async with self._uow().read_only() as uow:
                    found = await uow.ideas.marks([(viewer, ids) for viewer, ids, _ in taken])
            except BaseException as error:
                for *_, future in taken:
                    if not future.done():
                        if isinstance(error, Exception):
                            future.set_exception(error)
                        else:
                            future.cancel()
                if not isinstance(error, Exception):
                    # This reader is stopped (the loop shuts down): nobody is left waiting.
                    for *_, future in self._asked:
                        future.cancel()
                    self._asked = []
                    raise
            else:
                for (*_, future), marks in zip(taken, found, strict=True):
                    if not future.done():
                        future.set_result(marks)
