"""Which catalog template a planned message uses. The ids are the wording catalog's (config/templates)."""

from __future__ import annotations

PAYMENT_THANKS = "payment.thanks"
PROMISE_FOLLOW_UP = "promise.follow_up"
PROMISE_BROKEN = "promise.broken"
INSTALLMENT_REMINDER = "installment.reminder"
INSTALLMENT_MISSED = "installment.missed"


def reminder_template(stage: str) -> str:
    """The stage's reminder. The gate swaps in the catalog's limited alternative (reminder.limited) at send time
    when the person on the channel is not yet verified as the cardholder."""
    return f"reminder.{stage}"
