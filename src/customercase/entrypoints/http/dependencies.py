"""Dependencies resolved one after another instead of in a task group, decided once for the app.

Litestar resolves a handler's independent dependencies concurrently: a batch of more than one
runs in an anyio task group, a task per dependency. Ours are a container lookup each and one
session read (served from memory nearly always), so the tasks buy no overlap and cost about a
third of a vote's framework time (docs/performance.md). Resolving them in turn gives the same
values, in the same order of batches, with the same cleanup.

This replaces `KwargsModel.resolve_dependencies` (a private API of Litestar, pinned by the lock
file) with the same loop minus the task group; `tests/unit/test_dependencies.py` checks that
the one it replaces still has the shape it had.
"""

from __future__ import annotations

from typing import Any

from litestar._kwargs.cleanup import DependencyCleanupGroup
from litestar._kwargs.dependencies import resolve_dependency
from litestar._kwargs.kwargs_model import KwargsModel

_CONCURRENT = KwargsModel.resolve_dependencies


async def _resolve_in_turn(
    self: KwargsModel, connection: Any, kwargs: dict[str, Any]
) -> DependencyCleanupGroup:
    cleanup_group = DependencyCleanupGroup()
    for batch in self.dependency_batches:
        for dependency in batch:
            await resolve_dependency(dependency, connection, kwargs, cleanup_group)
    return cleanup_group


def resolve_in_turn() -> None:
    """Make every Litestar app in this process resolve dependencies one after another."""
    KwargsModel.resolve_dependencies = _resolve_in_turn  # type: ignore[method-assign]
