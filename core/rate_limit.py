"""Token buckets: the arithmetic of provider rate limits, with time passed in so tests need no sleeping."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class TokenBucket:
    """`rate` tokens per second, holding at most `burst`. One token is one message."""

    rate: float
    burst: float
    tokens: float
    updated: float  # seconds on a monotonic scale chosen by the caller

    @classmethod
    def full(cls, rate: float, burst: float | None, at: float) -> TokenBucket:
        size = burst if burst is not None else max(1.0, rate)
        return cls(rate=rate, burst=size, tokens=size, updated=at)

    def refill(self, at: float) -> None:
        if at > self.updated:
            self.tokens = min(self.burst, self.tokens + (at - self.updated) * self.rate)
            self.updated = at

    def take(self, at: float, wanted: float = 1.0) -> float:
        """Take up to `wanted` whole tokens now; returns how many were granted (possibly 0)."""
        self.refill(at)
        granted = float(min(int(self.tokens), int(wanted)))
        self.tokens -= granted
        return granted

    def wait_for(self, at: float, wanted: float = 1.0) -> float:
        """Seconds until `wanted` tokens will be available (0 when they are there now)."""
        self.refill(at)
        missing = wanted - self.tokens
        return 0.0 if missing <= 0 else missing / self.rate
