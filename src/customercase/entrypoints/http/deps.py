"""How handlers name what the container gives them.

Litestar validates every dependency against its annotation, and a Protocol cannot be checked
at run time; the container, not the request, is the source of these values, so they are
injected as they are.
"""

from __future__ import annotations

from typing import Annotated, TypeVar

from litestar.params import SkipValidationMarker

T = TypeVar("T")
Injected = Annotated[T, SkipValidationMarker()]
