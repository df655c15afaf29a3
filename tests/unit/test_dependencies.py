"""Dependencies resolved in turn (entrypoints/http/dependencies.py): the same values and
cleanups as Litestar's own resolution, without a task per dependency."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator

from litestar import Litestar, get
from litestar._kwargs.kwargs_model import KwargsModel
from litestar.di import Provide
from litestar.testing import TestClient

from customercase.entrypoints.http import dependencies


def test_the_replaced_resolution_still_has_the_shape_it_replaces() -> None:
    # Litestar is pinned by the lock file; if an upgrade changes how it resolves dependencies,
    # this fails and the replacement must be looked at again.
    source = inspect.getsource(dependencies._CONCURRENT)
    assert "dependency_batches" in source
    assert "create_task_group" in source
    assert "resolve_dependency" in source


def test_handlers_get_every_dependency_and_cleanups_run_resolved_in_one_task() -> None:
    dependencies.resolve_in_turn()
    tasks: list[asyncio.Task[object] | None] = []
    cleaned: list[str] = []

    async def provide_a() -> str:
        tasks.append(asyncio.current_task())
        return "a"

    def provide_b() -> str:
        return "b"

    async def provide_c(a: str) -> AsyncIterator[str]:
        tasks.append(asyncio.current_task())
        yield a + "c"
        cleaned.append("c")

    @get("/", sync_to_thread=False)
    def handler(a: str, b: str, c: str) -> dict[str, str]:
        return {"a": a, "b": b, "c": c}

    app = Litestar(
        [handler],
        dependencies={
            "a": Provide(provide_a),
            "b": Provide(provide_b, sync_to_thread=False),
            "c": Provide(provide_c),
        },
    )
    assert KwargsModel.resolve_dependencies is dependencies._resolve_in_turn
    with TestClient(app) as client:
        answer = client.get("/")
    assert answer.status_code == 200
    assert answer.json() == {"a": "a", "b": "b", "c": "ac"}
    assert cleaned == ["c"]
    # Both async providers ran in the request's own task, not in tasks of a task group.
    assert len(tasks) == 2 and tasks[0] is tasks[1]
