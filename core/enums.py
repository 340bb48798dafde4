"""Vocabulary shared by every layer. Values are the strings stored in the database and written in config."""

from enum import StrEnum


class Language(StrEnum):
    ZH = "zh"
    EN = "en"


class Jurisdiction(StrEnum):
    CN = "CN"
    US = "US"
    US_MA = "US-MA"
    UK = "UK"


class Product(StrEnum):
    CREDIT_CARD = "credit_card"
    PERSONAL_LOAN = "personal_loan"
    MORTGAGE = "mortgage"


class Channel(StrEnum):
    SMS = "sms"
    TELEGRAM = "telegram"


class Stage(StrEnum):
    CURRENT = "current"  # not delinquent and outside the pre-due window: no reminders
    PRE_DUE = "pre_due"
    DPD_1_29 = "dpd_1_29"
    DPD_30_59 = "dpd_30_59"
    DPD_60_89 = "dpd_60_89"
    DPD_90_PLUS = "dpd_90_plus"
    SETTLED = "settled"  # balance paid off


class Tone(StrEnum):
    GENTLE = "gentle"
    FIRM = "firm"
    SERIOUS = "serious"
    FINAL = "final"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class MessageStatus(StrEnum):
    RECEIVED = "received"  # inbound
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    DEFERRED = "deferred"
    BLOCKED = "blocked"
    FAILED = "failed"
    REVIEW = "review"  # outcome unknown after a crash; a person decides, never a blind resend


class OutboxStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DEFERRED = "deferred"
    BLOCKED = "blocked"
    FAILED = "failed"
    REVIEW = "review"
    CANCELLED = "cancelled"  # no longer wanted before it went out (account paid, stage moved on, reminders paused)


class ConsentBasis(StrEnum):
    EXPRESS_WRITTEN = "express_written"
    EXPRESS_ORAL = "express_oral"
    CARDHOLDER_AGREEMENT = "cardholder_agreement"
    CARDHOLDER_INITIATED = "cardholder_initiated"  # e.g. they started the Telegram chat


class OptOutMethod(StrEnum):
    KEYWORD = "keyword"
    NATURAL_LANGUAGE = "natural_language"
    OFFICER = "officer"
    IMPORT = "import"
    CARRIER = "carrier"  # provider reported the number unsubscribed (Twilio 21610)


class ContactPointStatus(StrEnum):
    ACTIVE = "active"
    INVALID = "invalid"  # provider said the address cannot receive
    REVIEW = "review"  # e.g. someone said "wrong number"


class ConversationState(StrEnum):
    BOT = "bot"
    OFFICER = "officer"
    CLOSED = "closed"


class EscalationReason(StrEnum):
    DISTRESS = "distress"
    ATTORNEY = "attorney"
    BANKRUPTCY = "bankruptcy"
    DISPUTE = "dispute"
    COMPLAINT = "complaint"
    ASK_HUMAN = "ask_human"
    FALLBACK = "fallback"
    VERIFICATION_FAILED = "verification_failed"
    OFFER_OUTSIDE_POLICY = "offer_outside_policy"
    BALANCE_THRESHOLD = "balance_threshold"
    FINAL_STAGE = "final_stage"
    DIALOGUE_UNAVAILABLE = "dialogue_unavailable"
    BROKEN_PROMISE = "broken_promise"
    BROKEN_PLAN = "broken_plan"
    PAYMENT_CLAIMED = "payment_claimed"  # the cardholder says they already paid: someone checks, reminders pause
    WRONG_NUMBER = "wrong_number"  # the contact point is under review
    IDENTITY_CLAIM = "identity_claim"  # someone said they were not the cardholder, then that they are
    VULNERABILITY_REVIEW = "vulnerability_review"  # the dialogue proposed a vulnerability for an officer to confirm


class EscalationStatus(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    RESOLVED = "resolved"


class PromiseStatus(StrEnum):
    OPEN = "open"
    KEPT = "kept"
    BROKEN = "broken"
    CANCELLED = "cancelled"


class PlanStatus(StrEnum):
    PROPOSED = "proposed"
    PENDING_APPROVAL = "pending_approval"
    ACTIVE = "active"
    COMPLETED = "completed"
    BROKEN = "broken"
    CANCELLED = "cancelled"


class InstallmentStatus(StrEnum):
    SCHEDULED = "scheduled"
    PAID = "paid"
    MISSED = "missed"


class DecisionOutcome(StrEnum):
    ALLOW = "allow"
    DEFER = "defer"
    BLOCK = "block"


class MessagePurpose(StrEnum):
    """Why a message goes out. Packs treat purposes differently (a cease request still allows some)."""

    REMINDER = "reminder"
    BOT_REPLY = "bot_reply"
    OFFICER_REPLY = "officer_reply"
    OPT_OUT_CONFIRMATION = "opt_out_confirmation"
    HELP = "help"
    BINDING_LINK = "binding_link"
    PROMISE_FOLLOW_UP = "promise_follow_up"
    INSTALLMENT_REMINDER = "installment_reminder"
    PAYMENT_THANKS = "payment_thanks"
    PLAN_CONFIRMATION = "plan_confirmation"
    CEASE_ACKNOWLEDGEMENT = "cease_acknowledgement"
    RESUBSCRIBE_CONFIRMATION = "resubscribe_confirmation"  # answer to START after an opt-out
    VALIDATION_NOTICE = "validation_notice"  # the answer to a rejected dispute, before collection resumes
    # The one reply that tells the person a protective statement was recorded (a lawyer, a dispute, distress...).
    STATE_ACKNOWLEDGEMENT = "state_acknowledgement"
