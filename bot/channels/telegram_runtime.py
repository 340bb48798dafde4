"""The Telegram runtime: one python-telegram-bot `Application` on an asyncio loop of its own.

PTB is async while Accord's channel port, gate and pipeline are synchronous. Rather than share whichever loop a
caller happens to run on (uvicorn's, a test client's, none at all in the dispatcher), the runtime owns a loop on
a daemon thread. Sync code hands it coroutines and waits for their result; the webhook awaits the same futures
without blocking the web server. PTB's httpx client and rate limiter are bound to that loop, so all Bot API
calls, outbound sends and inbound updates alike, go through it.

The Application is built with `updater(None)`: in production Telegram posts updates to Accord's own web app
(webhook mode). Local development can poll instead (`start_polling`), which adds an Updater feeding the same
Application, so handlers are identical in both modes.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from telegram.ext import AIORateLimiter, Application, Updater
from telegram.request import HTTPXRequest

T = TypeVar("T")

# Set for each webhook update by `process`; handlers append the exception that stopped them, since PTB hands
# handler exceptions to error handlers rather than to whoever called process_update.
FAILURES: contextvars.ContextVar[list[BaseException] | None] = contextvars.ContextVar("telegram_failures",
                                                                                      default=None)

DEFAULT_BASE_URL = "https://api.telegram.org/bot"


class LoopThread:
    """An asyncio event loop running forever on a daemon thread."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("blocking call on the Telegram loop's own thread would deadlock it")
        future = self.submit(coro)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise

    def stop(self) -> None:
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


class ChatSpacer:
    """Keeps sends to one chat at least `interval_s` apart. Telegram allows about one message a second per
    private chat and PTB's AIORateLimiter only spaces group chats, so this covers the private ones.

    Time and sleep are injectable so the spacing can be tested without waiting."""

    def __init__(
        self,
        interval_s: float = 1.0,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        max_tracked: int = 10_000,
    ) -> None:
        self.interval_s = interval_s
        self._monotonic = monotonic
        self._sleep = sleep
        self._max_tracked = max_tracked
        self._last: dict[int, float] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    async def wait_turn(self, chat_id: int) -> None:
        lock = self._locks.setdefault(chat_id, asyncio.Lock())
        async with lock:
            last = self._last.get(chat_id)
            if last is not None:
                wait = last + self.interval_s - self._monotonic()
                if wait > 0:
                    await self._sleep(wait)
            self._last[chat_id] = self._monotonic()
        if len(self._last) > self._max_tracked:
            self._forget_idle()

    def _forget_idle(self) -> None:
        horizon = self._monotonic() - self.interval_s
        for chat_id in [c for c, at in self._last.items() if at < horizon]:
            lock = self._locks.get(chat_id)
            if lock is None or not lock.locked():
                self._last.pop(chat_id, None)
                self._locks.pop(chat_id, None)


class TelegramRuntime:
    def __init__(
        self,
        token: str,
        *,
        base_url: str | None = None,
        per_chat_interval_s: float = 1.0,
        request_timeout_s: float = 10.0,
        overall_max_rate: float = 30.0,
    ) -> None:
        self.loop_thread = LoopThread("accord-telegram")
        self.spacer = ChatSpacer(per_chat_interval_s)
        self.request_timeout_s = request_timeout_s
        builder = (
            Application.builder()
            .token(token)
            .updater(None)
            # max_retries=0: a 429 surfaces at once as RetryAfter, and the dispatcher owns retries and backoff.
            .rate_limiter(AIORateLimiter(overall_max_rate=overall_max_rate, max_retries=0))
            .request(HTTPXRequest(connection_pool_size=64, read_timeout=request_timeout_s,
                                  write_timeout=request_timeout_s, connect_timeout=request_timeout_s))
            # Long polling holds a connection open for its timeout; give it room beyond that.
            .get_updates_request(HTTPXRequest(connection_pool_size=2, read_timeout=request_timeout_s + 30))
        )
        if base_url:
            builder = builder.base_url(base_url)
        self.application: Application[Any, Any, Any, Any, Any, Any] = builder.build()
        self._init_lock: asyncio.Lock | None = None
        self._initialized = False
        self._updater: Updater | None = None
        self.handlers_installed = False

    @property
    def bot(self) -> Any:
        return self.application.bot

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        return self.loop_thread.run(coro, timeout)

    async def ensure_initialized(self) -> None:
        """Initialise the Application (one getMe call) on first use, so Accord starts even when Telegram is
        unreachable; a failure is retried by the next caller."""
        if self._initialized:
            return
        if self._init_lock is None:
            self._init_lock = asyncio.Lock()
        async with self._init_lock:
            if not self._initialized:
                await self.application.initialize()
                self._initialized = True

    async def process(self, update: object) -> None:
        """Run the handlers for one webhook update; raise what stopped them, so the webhook does not answer
        200 for an update Accord failed to store (Telegram then delivers it again)."""
        await self.ensure_initialized()
        failures: list[BaseException] = []
        token = FAILURES.set(failures)
        try:
            await self.application.process_update(update)
        finally:
            FAILURES.reset(token)
        if failures:
            raise failures[0]

    # -- polling (local development) -------------------------------------------------------------------------

    def start_polling(self, *, poll_timeout_s: int = 10) -> None:
        self.run(self._start_polling(poll_timeout_s))

    async def _start_polling(self, poll_timeout_s: int) -> None:
        await self.ensure_initialized()
        self._updater = Updater(bot=self.application.bot, update_queue=self.application.update_queue)
        await self._updater.initialize()
        await self.application.start()
        # start_polling deletes any webhook first: Telegram refuses getUpdates while one is set.
        await self._updater.start_polling(timeout=poll_timeout_s, drop_pending_updates=False)

    def stop_polling(self) -> None:
        if self._updater is not None:
            self.run(self._stop_polling())

    async def _stop_polling(self) -> None:
        assert self._updater is not None
        if self._updater.running:
            await self._updater.stop()
        await self._updater.shutdown()
        if self.application.running:
            await self.application.stop()
        self._updater = None

    def close(self) -> None:
        if self.loop_thread.loop.is_closed():
            return
        try:
            self.stop_polling()
            if self._initialized:
                self.run(self.application.shutdown(), timeout=self.request_timeout_s)
                self._initialized = False
        finally:
            self.loop_thread.stop()
