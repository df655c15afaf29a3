"""The framework ceiling: a bare Litestar app with one JSON route, served like ours.

uvicorn --app-dir benchmarks ceiling:app --loop uvloop --http httptools
"""

from __future__ import annotations

from litestar import Litestar, get


@get("/hello")
async def hello() -> dict[str, str]:
    return {"hello": "world"}


app = Litestar(route_handlers=[hello], openapi_config=None, debug=False)
