"""Retry timing for transient provider errors: exponential backoff with jitter, honouring Retry-After."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    base_s: float
    factor: float
    max_s: float
    jitter: float  # 0.2 spreads each delay over +/-20%, so workers that failed together do not retry together

    def delay(self, attempt: int, unit_random: float, retry_after_s: float | None = None) -> float:
        """Seconds to wait before attempt `attempt + 1`. `unit_random` is in [0, 1): the caller owns randomness."""
        if attempt < 1:
            raise ValueError(f"attempt numbers start at 1, got {attempt}")
        if not 0.0 <= unit_random < 1.0:
            raise ValueError(f"unit_random must be in [0, 1), got {unit_random}")
        raw = min(self.max_s, self.base_s * self.factor ** (attempt - 1))
        spread = raw * (1.0 - self.jitter + 2.0 * self.jitter * unit_random)
        # A provider's Retry-After is a floor: retrying sooner would only earn another 429.
        return max(spread, retry_after_s or 0.0)


def should_retry(attempts_made: int, max_attempts: int) -> bool:
    return attempts_made < max_attempts
