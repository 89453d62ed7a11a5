"""Requests the app refuses before reading their bodies: too large, or from nobody signed in.

FastAPI reads a request's body before it resolves the route's dependencies, so a sign-in
check written as a dependency runs only after an anonymous client has sent (and the server
has held in memory) the whole body. This middleware sits in front: it answers 413 to a
declared or streamed body over the limit, and 401 to a body-bearing request without a valid
session, without reading a byte of it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class BodyTooLarge(Exception):
    """A streamed body (no Content-Length) went past the limit while the app read it."""


class BodyGuard:
    """Pure ASGI middleware; `signed_in` returns a refusal response, or None to let a request on."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, open_paths: frozenset[str],
                 signed_in: Callable[[Request], Awaitable[Response | None]],
                 too_large: Callable[[Request], Response]) -> None:
        self.app, self.max_bytes, self.open_paths = app, max_bytes, open_paths
        self.signed_in, self.too_large = signed_in, too_large

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._answer(self.too_large(request), scope, receive, send)
            return
        if scope["path"] not in self.open_paths:
            refusal = await self.signed_in(request)
            if refusal is not None:
                await self._answer(refusal, scope, receive, send)
                return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except BodyTooLarge:
            await self._answer(self.too_large(request), scope, receive, send)

    @staticmethod
    async def _answer(response: Response, scope: Scope, receive: Receive, send: Send) -> None:
        # Connection: close, so the client stops sending the body we will not read.
        response.headers["connection"] = "close"
        await response(scope, receive, send)

