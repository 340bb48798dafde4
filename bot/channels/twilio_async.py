"""The plumbing under the Twilio adapter's concurrent sends: an event loop in a thread, and the SDK's async client.

The `twilio` SDK's sync client costs ~1.5 ms of CPU per message (requests + urllib3), which caps one dispatcher
process near 550 messages/s. Its async path over aiohttp costs about a third of that and lets many requests
wait on the network at once. Accord's dispatcher and web app call channel adapters from ordinary threads, so the
adapter owns one persistent loop in a daemon thread and hands it coroutines: the aiohttp connection pool then
lives as long as the adapter instead of being rebuilt per batch.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import threading
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit, urlunsplit

import aiohttp
from twilio.http import AsyncHttpClient
from twilio.http.response import Response

T = TypeVar("T")

# The headers of the last response seen by the current asyncio task. The SDK's TwilioRestException carries no
# headers, so a 429's Retry-After would be lost; each send runs in its own task (asyncio.gather copies the
# context per task), so concurrent sends never see each other's headers.
RESPONSE_HEADERS: ContextVar[Mapping[str, str] | None] = ContextVar("twilio_response_headers", default=None)


@dataclass
class _Pool:
    session: aiohttp.ClientSession
    in_flight: asyncio.Semaphore


class RoutedAsyncHttpClient(AsyncHttpClient):
    """The SDK's async HTTP client, pointed at another API host when one is configured (a loopback fake in
    tests), with at most `max_in_flight` requests on the wire per event loop.

    The limit is taken before the request starts so that `timeout_s` times the HTTP exchange only: aiohttp's
    total timeout would otherwise also count the wait for a free pooled connection, and a large batch would time
    out in the queue. Sessions are kept per loop because an aiohttp session is bound to the loop that made it
    (a closed adapter restarts on a fresh loop)."""

    def __init__(self, api_base: str | None, *, timeout_s: float, max_in_flight: int, logger: logging.Logger) -> None:
        super().__init__(logger, True, None)  # the SDK's float timeout is unused: aiohttp.ClientTimeout below
        self._base = urlsplit(api_base.rstrip("/")) if api_base else None
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._max_in_flight = max_in_flight
        self._pools: dict[asyncio.AbstractEventLoop, _Pool] = {}
        self._auth: tuple[tuple[str, str], str] | None = None  # the SDK passes the same credentials every time

    def _authorization(self, auth: tuple[str, str]) -> str:
        if self._auth is None or self._auth[0] != auth:
            self._auth = (auth, "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii"))
        return self._auth[1]

    def _pool(self) -> _Pool:
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is None:
            connector = aiohttp.TCPConnector(limit=self._max_in_flight)
            pool = _Pool(aiohttp.ClientSession(connector=connector, timeout=self._timeout),
                         asyncio.Semaphore(self._max_in_flight))
            self._pools[loop] = pool
        return pool

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        if self._base is not None:
            parts = urlsplit(url)
            url = urlunsplit((self._base.scheme, self._base.netloc, self._base.path + parts.path, parts.query, ""))
        # The SDK already set Content-Type: form-encode here (doseq, like requests) rather than via aiohttp's
        # FormData, which rejects list values such as MediaUrl and is slower.
        body = urlencode(data, doseq=True) if data else None
        if auth is not None:  # the header itself: aiohttp deprecates its BasicAuth/auth= (removed in 4.0)
            headers = {**(headers or {}), "Authorization": self._authorization(auth)}
        RESPONSE_HEADERS.set(None)
        pool = self._pool()
        async with pool.in_flight, pool.session.request(
            method.upper(), url, params=params, data=body, headers=headers,  # type: ignore[arg-type]
            allow_redirects=allow_redirects,
        ) as response:
            text = (await response.read()).decode("utf-8", "replace")
        # No SDK request/response log lines: Accord logs its own outcome line per message (see twilio_sms).
        RESPONSE_HEADERS.set(response.headers)
        return Response(response.status, text, response.headers)

    async def close(self) -> None:
        """Close the current loop's session and its pooled connections."""
        pool = self._pools.pop(asyncio.get_running_loop(), None)
        if pool is not None:
            await pool.session.close()


class LoopThread:
    """One asyncio event loop in a daemon thread, started on first use, that runs coroutines for sync callers
    on any thread.

    `close()` lets coroutines already handed over finish (each HTTP request has its own timeout, so this is
    bounded), then awaits `on_stop` (closing the HTTP session) and ends the thread. A `run()` after `close()`
    starts a new loop, so a closed adapter still works rather than hanging its caller."""

    def __init__(self, name: str, on_stop: Callable[[], Awaitable[None]], *, join_timeout_s: float) -> None:
        self._name = name
        self._on_stop = on_stop
        self._join_timeout_s = join_timeout_s
        self._lock = threading.Lock()  # submitting and detaching the loop are atomic, so nothing lands on a dead one
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        with self._lock:
            if self._thread is None:
                self._start()
            assert self._loop is not None and self._thread is not None
            if threading.current_thread() is self._thread:
                coro.close()
                raise RuntimeError(f"{self._name}: a blocking call from the adapter's own loop would deadlock")
            future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result()

    def close(self) -> None:
        with self._lock:
            thread, loop, stopping = self._thread, self._loop, self._stopping
            self._thread = self._loop = self._stopping = None
        if thread is None or loop is None or stopping is None:
            return
        loop.call_soon_threadsafe(stopping.set)
        if threading.current_thread() is not thread:  # a GC finaliser may run on the loop thread: never self-join
            thread.join(self._join_timeout_s)

    def _start(self) -> None:
        ready = threading.Event()
        thread = threading.Thread(target=asyncio.run, args=(self._serve(ready),), name=self._name, daemon=True)
        thread.start()
        if not ready.wait(10):
            raise RuntimeError(f"{self._name}: the event loop thread did not start")
        self._thread = thread

    async def _serve(self, ready: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        stopping = self._stopping = asyncio.Event()
        ready.set()
        await stopping.wait()
        current = asyncio.current_task()
        await asyncio.gather(*(t for t in asyncio.all_tasks() if t is not current), return_exceptions=True)
        await self._on_stop()
