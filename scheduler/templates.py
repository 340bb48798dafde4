"""Which catalog template a planned message uses. The ids are the wording catalog's (config/templates)."""

from __future__ import annotations

from core.contact_choice import ContactOption

PAYMENT_THANKS = "payment.thanks"
PROMISE_FOLLOW_UP = "promise.follow_up"
PROMISE_BROKEN = "promise.broken"
INSTALLMENT_REMINDER = "installment.reminder"
INSTALLMENT_MISSED = "installment.missed"


def reminder_template(stage: str, contact: ContactOption) -> str:
    """The stage's reminder; the gate decides at send time whether only limited content may go out."""
    return f"reminder.{stage}"
