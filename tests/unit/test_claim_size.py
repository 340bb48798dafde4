"""A dispatcher's claim is sized by its slowest sender, from config/scheduler.yaml as shipped."""

from __future__ import annotations

from accord.settings import PROJECT_ROOT
from scheduler.config import ProviderLimits, load_scheduler_config
from scheduler.rate_limits import claim_size


def test_the_shipped_limits_claim_what_a_twilio_long_code_sends_in_ten_seconds() -> None:
    config = load_scheduler_config(PROJECT_ROOT / "config")
    assert config.dispatch.claim_seconds == 10
    assert claim_size(config, ["twilio", "telegram"]) == 11  # a burst of 1, then 1 a second for 10 s
    assert claim_size(config, ["telegram"]) == 300  # 30 + 30 a second for 10 s = 330, capped by claim_batch
    assert claim_size(config, ["sandbox"]) == config.dispatch.claim_batch  # no limit
    assert claim_size(config, []) == config.dispatch.claim_batch


def test_a_very_slow_sender_still_claims_one_row() -> None:
    config = load_scheduler_config(PROJECT_ROOT / "config")
    slow = config.model_copy(update={"rate_limits": {"twilio": ProviderLimits(per_sender_per_s=0.01,
                                                                              sender_burst=1)}})
    assert claim_size(slow, ["twilio"]) == 1
