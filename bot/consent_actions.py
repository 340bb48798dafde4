"""Opt-out and re-subscribe as the bot and channel code call them. The compliance package owns these state
changes (row lock, audit event, "did anything change" so exactly one confirmation goes out); this module is the
bot's name for them, so channel code never reaches into compliance internals directly.
"""

from __future__ import annotations

from compliance.consent import record_opt_out, record_resubscribe

__all__ = ["record_opt_out", "record_resubscribe"]
