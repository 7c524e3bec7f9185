"""Request bodies capped while they stream in, for routes that take uploads.

Starlette reads a whole multipart body (file parts spooled to temporary files) before a route sees the form, and
a chunked request carries no Content-Length to refuse up front: without a cap on the stream itself, a client could
make the server write any amount to disk before the upload's own size check runs. :func:`limit_body` wraps the
request's ``receive`` so that reading stops with 413 as soon as more than the cap has arrived; Starlette then
closes the parts spooled so far (anonymous temporary files), so nothing is left behind and memory stays at one
chunk. :func:`limited_body_route` does the same for a FastAPI route whose form parameters FastAPI parses before
the endpoint runs. (Starlette's own ``max_body_size`` is fixed when the app is built; these caps are looked up per
request, e.g. from the phase's settings, which organisers change at run time.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi.routing import APIRoute
    from starlette.requests import Request

__all__ = ["limit_body", "limited_body_route"]


def limit_body(request: Request, max_bytes: int, detail: str) -> Request:
    """``request`` whose body reads raise ``HTTPException(413, detail)`` past ``max_bytes`` bytes.

    A declared Content-Length over the cap (or not a number) is refused at once, before anything is read. The 413
    response closes the connection, so the server does not go on reading (and discarding) the rest of the body.
    """
    from fastapi import HTTPException
    from starlette.requests import Request

    refused = HTTPException(413, detail, headers={"Connection": "close"})
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > max_bytes):
        raise refused
    receive = request.receive
    received = 0

    async def capped_receive():  # noqa: ANN202
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > max_bytes:
                raise refused
        return message

    return Request(request.scope, capped_receive)


def limited_body_route(limit_of: Callable[[Request], tuple[int, str]]) -> type[APIRoute]:
    """A FastAPI route class whose requests are :func:`limit_body`-capped at ``limit_of(request)`` =
    ``(max_bytes, detail)``, looked up (in a worker thread: it may query the database) before the body is read."""
    from fastapi.routing import APIRoute
    from starlette.concurrency import run_in_threadpool

    class LimitedBodyRoute(APIRoute):
        def get_route_handler(self):  # noqa: ANN202
            handler = super().get_route_handler()

            async def limited(request: Request):  # noqa: ANN202
                max_bytes, detail = await run_in_threadpool(limit_of, request)
                return await handler(limit_body(request, max_bytes, detail))

            return limited

    return LimitedBodyRoute
