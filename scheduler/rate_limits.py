"""Provider rate limits for the dispatcher: a token bucket per sender (shared) and per recipient (per process).

A sender's limit (a Twilio number's MPS, a Telegram bot's ~30 messages/s) binds all dispatchers together, so
its bucket lives in the database: a worker reserves a few tokens at a time under a row lock, then spends them
locally. However many processes run on however many machines, they never together take more than the bucket
gives; in any one second the provider sees at most the rate and the burst plus one reserved chunk (a tenth of a
second's worth) per worker, spent a moment after it was reserved.
Recipient limits (Telegram's 1 message/s per chat) are kept per process.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Engine, Table, select, text
from sqlalchemy.dialects import postgresql, sqlite

from core.rate_limit import TokenBucket
from scheduler.config import ProviderLimits, SchedulerConfig
from storage.tables import RateBucket

_BUCKETS = cast(Table, RateBucket.__table__)
_MAX_RECIPIENTS = 10_000  # recipient buckets kept per process (least recently used are dropped)


def sender_burst(rate: float, burst: float | None) -> float:
    """A sender bucket's burst: as configured, else one second's worth (at least one token)."""
    return burst if burst is not None else max(1.0, rate)


class SharedBucket:
    """A token bucket in the `rate_buckets` table, reserved from in small chunks."""

    def __init__(self, engine: Engine, key: str, rate: float, burst: float | None,
                 wall: Callable[[], float] = time.time) -> None:
        self.engine, self.key, self.rate = engine, key, rate
        self.burst = sender_burst(rate, burst)
        self.chunk = self.chunk_for(rate)
        self.local = 0
        self._wall = wall

    @staticmethod
    def chunk_for(rate: float) -> int:
        """Tokens reserved per round trip: about a tenth of a second's worth, so few round trips and little left
        stranded by a crash."""
        return max(1, int(rate / 10))

    def try_take(self) -> float:
        """0.0 if a token was taken, else the seconds to wait before asking again."""
        if self.local > 0:
            self.local -= 1
            return 0.0
        granted, wait = self._reserve()
        if granted == 0:
            return wait
        self.local = granted - 1
        return 0.0

    def _reserve(self) -> tuple[int, float]:
        now = self._wall()
        at = datetime.fromtimestamp(now, UTC)
        insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # A reservation lost in a server crash only means a few tokens are handed out again: no need to
                # wait for the disk on every one.
                conn.execute(text("SET LOCAL synchronous_commit = off"))
            conn.execute(insert(_BUCKETS).values(key=self.key, tokens=self.burst, updated_at=at)
                         .on_conflict_do_nothing(index_elements=["key"]))
            tokens, updated = conn.execute(
                select(_BUCKETS.c.tokens, _BUCKETS.c.updated_at).where(_BUCKETS.c.key == self.key).with_for_update()
            ).one()
            bucket = TokenBucket(self.rate, self.burst, tokens, updated.timestamp())
            granted = int(bucket.take(now, self.chunk))
            wait = 0.0 if granted else bucket.wait_for(now)
            conn.execute(_BUCKETS.update().where(_BUCKETS.c.key == self.key).values(
                tokens=bucket.tokens, updated_at=datetime.fromtimestamp(max(now, bucket.updated), UTC)))
        return granted, wait


class RateLimiter:
    """All limits for one dispatcher process, looked up by provider name ("twilio", "telegram", "sandbox")."""

    def __init__(self, engine: Engine, config: SchedulerConfig, clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time) -> None:
        self.engine, self.config, self._clock, self._wall = engine, config, clock, wall
        self._senders: dict[str, SharedBucket | None] = {}
        self._recipients: OrderedDict[tuple[str, str], TokenBucket] = OrderedDict()

    def recipient_wait(self, provider: str, recipient: str) -> float:
        """Seconds until this recipient may get another message (0.0: now). Does not take a token."""
        limits = self.config.limits_for(provider)
        if limits.per_recipient_per_s is None:
            return 0.0
        return self._recipient_bucket(provider, recipient, limits).wait_for(self._clock())

    def take(self, provider: str, recipient: str) -> float:
        """Take a sender token and a recipient token: 0.0 when both were taken, else seconds to wait."""
        wait = self.recipient_wait(provider, recipient)
        if wait > 0:
            return wait
        wait = self.take_sender(provider)
        if wait > 0:
            return wait
        self.take_recipient(provider, recipient)
        return 0.0

    def take_sender(self, provider: str) -> float:
        """Take a token from the sender's shared bucket: 0.0 when taken, else seconds to wait."""
        sender = self._sender(provider)
        return sender.try_take() if sender is not None else 0.0

    def take_recipient(self, provider: str, recipient: str) -> None:
        """Count a message to this recipient (call once recipient_wait said 0.0 and the sender token is taken)."""
        limits = self.config.limits_for(provider)
        if limits.per_recipient_per_s is not None:
            self._recipient_bucket(provider, recipient, limits).take(self._clock())

    def _sender(self, provider: str) -> SharedBucket | None:
        if provider not in self._senders:
            limits = self.config.limits_for(provider)
            self._senders[provider] = (
                SharedBucket(self.engine, f"{provider}:sender", limits.per_sender_per_s, limits.sender_burst,
                             self._wall)
                if limits.per_sender_per_s is not None else None
            )
        return self._senders[provider]

    def _recipient_bucket(self, provider: str, recipient: str, limits: ProviderLimits) -> TokenBucket:
        key = (provider, recipient)
        bucket = self._recipients.get(key)
        if bucket is None:
            assert limits.per_recipient_per_s is not None
            bucket = TokenBucket.full(limits.per_recipient_per_s, 1.0, self._clock())
            self._recipients[key] = bucket
            if len(self._recipients) > _MAX_RECIPIENTS:
                self._recipients.popitem(last=False)
        else:
            self._recipients.move_to_end(key)
        return bucket


def claim_size(config: SchedulerConfig, providers: Iterable[str]) -> int:
    """How many rows a worker claims at once: `dispatch.claim_batch`, or fewer where the slowest sender it uses
    could not send them within `dispatch.claim_seconds`.

    A claimed row waits in `sending` until its sender's limit lets it go, and the batch's rows for other channels
    wait with it, so a batch should be over in seconds (a Twilio long code at 1 message a second: 11 rows).
    Where the senders are fast, a large batch shares its fixed cost (the claim, the gate's statements and
    commits, the provider calls draining at the end of the batch: about 30 ms on PostgreSQL) among more rows."""
    size = config.dispatch.claim_batch
    for provider in set(providers):
        limits = config.limits_for(provider)
        if limits.per_sender_per_s is None:
            continue
        burst = sender_burst(limits.per_sender_per_s, limits.sender_burst)
        size = min(size, max(1, int(burst + limits.per_sender_per_s * config.dispatch.claim_seconds)))
    return size
