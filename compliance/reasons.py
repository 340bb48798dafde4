"""Reason codes a decision records, with the plain-language sentence `accord compliance explain` prints.

Codes are stable strings: metrics, the console's "blocked because" filters and exports group by them.
A code may carry a suffix after a colon, e.g. "protective_state:bankruptcy" or "lint:insults".
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    NO_POLICY_PACK = "no_policy_pack"
    TIMEZONE_UNKNOWN = "timezone_unknown"
    OUTSIDE_CONTACT_HOURS = "outside_contact_hours"
    BLACKOUT_DAY = "blackout_day"
    NO_ALLOWED_TIME = "no_allowed_time"
    FREQUENCY_CAP = "frequency_cap"
    PROTECTIVE_STATE = "protective_state"
    CEASE_ACKNOWLEDGED = "cease_already_acknowledged"
    OPTED_OUT = "opted_out"
    OPT_OUT_CONFIRMED = "opt_out_already_confirmed"
    OPT_OUT_CONFIRMATION_LATE = "opt_out_confirmation_too_late"
    NOT_OPTED_OUT = "not_opted_out"
    NO_CONTACT_POINT = "no_contact_point"
    CONTACT_POINT_INVALID = "contact_point_invalid"
    CONTACT_POINT_MISMATCH = "contact_point_mismatch"
    NO_CONSENT = "no_consent"
    NOT_VERIFIED = "not_verified"
    THIRD_PARTY = "third_party"
    NO_ACCOUNT = "no_account"
    NOTHING_DUE = "nothing_due"
    REMINDERS_PAUSED = "reminders_paused"
    TEMPLATE_UNKNOWN = "template_unknown"
    TEMPLATE_NOT_APPROVED = "template_not_approved"
    TEMPLATE_PURPOSE = "template_purpose_mismatch"
    TEMPLATE_PARAMS = "template_params"
    FREE_TEXT_NOT_ALLOWED = "free_text_not_allowed"
    LINT = "lint"
    REQUIRED_ELEMENT = "required_element_missing"
    TOO_LONG = "too_long"
    CHANNEL_UNAVAILABLE = "channel_unavailable"


# Blocks that only the clock causes: such a message is deferred to the next allowed time, never dropped.
TIME_ONLY = frozenset({Reason.OUTSIDE_CONTACT_HOURS.value, Reason.BLACKOUT_DAY.value})

PLAIN = {
    Reason.NO_POLICY_PACK: "no policy pack is configured for the cardholder's jurisdiction",
    Reason.TIMEZONE_UNKNOWN: "the cardholder's timezone is unknown or invalid, so local time cannot be known",
    Reason.OUTSIDE_CONTACT_HOURS: "it was outside the contact hours in the cardholder's local time",
    Reason.BLACKOUT_DAY: "the cardholder's local date is a day the pack keeps free of contact",
    Reason.NO_ALLOWED_TIME: "no allowed send time exists within a year under the pack's hours and blackouts",
    Reason.FREQUENCY_CAP: "the cardholder already had the most contacts the pack allows in the window",
    Reason.PROTECTIVE_STATE: "a protective state in force (attorney, dispute, distress, cease...) does not allow this message",
    Reason.CEASE_ACKNOWLEDGED: "the cease request was already acknowledged",
    Reason.OPTED_OUT: "the cardholder opted out on this channel",
    Reason.OPT_OUT_CONFIRMED: "the one opt-out confirmation was already sent",
    Reason.OPT_OUT_CONFIRMATION_LATE: "the opt-out confirmation window had passed",
    Reason.NOT_OPTED_OUT: "an opt-out confirmation can only follow an opt-out",
    Reason.NO_CONTACT_POINT: "the cardholder has no address on this channel",
    Reason.CONTACT_POINT_INVALID: "the address cannot receive messages",
    Reason.CONTACT_POINT_MISMATCH: "the address, conversation or account belongs to someone else",
    Reason.NO_CONSENT: "no recorded consent basis for this channel",
    Reason.NOT_VERIFIED: "the person on the channel is not verified as the cardholder and the text has account details",
    Reason.THIRD_PARTY: "the person on the channel said they are someone else",
    Reason.NO_ACCOUNT: "a reminder needs an account",
    Reason.NOTHING_DUE: "nothing is due on the account any more",
    Reason.REMINDERS_PAUSED: "reminders on the account are paused",
    Reason.TEMPLATE_UNKNOWN: "the template does not exist in this language",
    Reason.TEMPLATE_NOT_APPROVED: "the template is not approved",
    Reason.TEMPLATE_PURPOSE: "the template may not be used for this purpose",
    Reason.TEMPLATE_PARAMS: "the template could not be filled in",
    Reason.FREE_TEXT_NOT_ALLOWED: "free text is only for officers' replies",
    Reason.LINT: "the text contains forbidden wording",
    Reason.REQUIRED_ELEMENT: "the text lacks an element the pack requires",
    Reason.TOO_LONG: "the text is longer than the channel limit",
    Reason.CHANNEL_UNAVAILABLE: "no channel adapter is configured for this channel",
}


def plain(code: str) -> str:
    base, _, suffix = code.partition(":")
    try:
        sentence = PLAIN[Reason(base)]
    except ValueError:
        return code
    return f"{sentence} ({suffix})" if suffix else sentence
