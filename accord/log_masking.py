"""Mask personal data and secrets in log events before anything renders them.

Logs travel further than the database (terminals, log shippers, support tickets), so they carry only enough to
correlate: a phone keeps its country code and last four digits, a chat id its last four, a name its initials.
Message text is never logged. Values are masked by the key they sit under, and every free string is also
scanned for phone numbers, card-number-like digit runs, credentials in URLs and bot tokens.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping
from typing import Any

import phonenumbers

# Keys whose values are personal data. Matched case-insensitively on the key's last dotted/underscored form.
PHONE_KEYS = frozenset({"phone", "phone_number", "msisdn", "to", "from", "from_", "from_number", "to_number"})
CHAT_KEYS = frozenset({"chat_id", "telegram_chat_id", "user_id", "sender_id"})
ADDRESS_KEYS = frozenset({"address", "contact", "recipient"})
NAME_KEYS = frozenset({"full_name", "name", "first_name", "last_name", "username", "display_name"})
TEXT_KEYS = frozenset({"text", "body", "message_text", "reply_text", "rendered", "free_text", "caption"})
FACT_KEYS = frozenset({"card_last4", "birth_year", "last4", "dob", "date_of_birth", "email"})
SECRET_PARTS = ("token", "secret", "password", "passwd", "auth", "api_key", "apikey", "signature", "cookie")
# Keys that merely contain a secret-looking word but are safe and useful to keep.
SAFE_KEYS = frozenset({"author", "authored_by", "auth_method", "token_count"})

E164_RE = re.compile(r"(?<![\w+])\+\d[\d ()-]{6,18}\d")
LONG_DIGITS_RE = re.compile(r"(?<![\d*])\d{11,19}(?!\d)")  # bare mobile numbers, card numbers, chat ids
URL_CREDENTIALS_RE = re.compile(r"(\b[a-zA-Z][\w+.-]*://[^:/?#\s@]*:)[^@\s/]+@")
# No leading \b: in Bot API URLs the token follows "/bot" directly, where a word boundary never matches.
BOT_TOKEN_RE = re.compile(r"(?<!\d)\d{6,12}:[A-Za-z0-9_-]{30,}")
# A secret passed in a query string, e.g. Rasa's REST channel `?token=…`, which httpx logs with the URL.
QUERY_SECRET_RE = re.compile(r"(?i)([?&](?:token|access_token|auth|key|api_key|secret|password|signature)=)[^&#\s\"']+")
BEARER_RE = re.compile(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{8,}")

REDACTED_SECRET = "[secret]"


def mask_phone(value: str) -> str:
    """'+8613812345678' -> '+86*******5678': the country code and last four digits stay for correlation."""
    digits = re.sub(r"\D", "", value)
    if len(digits) < 7:
        return "*" * len(digits)
    country = _country_code(digits)
    hidden = len(digits) - len(country) - 4
    return f"+{country}{'*' * max(hidden, 1)}{digits[-4:]}"


def _country_code(digits: str) -> str:
    try:
        parsed = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return digits[:2]
    return str(parsed.country_code) if parsed.country_code else digits[:2]


def mask_digits(value: str, keep: int = 4) -> str:
    """A chat id or other identifier: keep the last `keep` digits, star the rest (sign included)."""
    text = str(value)
    if len(text) <= keep:
        return "*" * len(text)
    return "*" * (len(text) - keep) + text[-keep:]


def mask_name(value: str) -> str:
    """'Zhang Wei' -> 'Z**** W**', '张伟' -> '张*': initials survive so an officer can tell two people apart."""
    words = str(value).split()
    return " ".join(w[0] + "*" * (len(w) - 1) if len(w) > 1 else "*" for w in words) or ""


def mask_address(value: str) -> str:
    """A contact address of unknown kind: a phone, a chat id, or an e-mail."""
    text = str(value).strip()
    if text.startswith("+"):
        return mask_phone(text)
    if re.fullmatch(r"-?\d+", text):
        return mask_digits(text)
    if "@" in text:
        local, _, domain = text.partition("@")
        return (local[:1] + "***@" + domain) if local else "***@" + domain
    return mask_name(text)


def mask_text(value: str) -> str:
    """Message content is never logged, only its size, which is enough to debug truncation."""
    return f"[{len(str(value))} chars]"


def scrub_string(value: str) -> str:
    """Mask what looks personal or secret inside a free string (event names, errors, tracebacks)."""
    value = URL_CREDENTIALS_RE.sub(r"\1***@", value)
    value = BOT_TOKEN_RE.sub("[bot-token]", value)
    value = QUERY_SECRET_RE.sub(lambda m: m.group(1) + REDACTED_SECRET, value)
    value = BEARER_RE.sub(lambda m: f"{m.group(1)} {REDACTED_SECRET}", value)
    value = E164_RE.sub(lambda m: mask_phone(m.group(0)), value)
    return LONG_DIGITS_RE.sub(lambda m: mask_digits(m.group(0)), value)


def _is_secret_key(key: str) -> bool:
    return key not in SAFE_KEYS and any(part in key for part in SECRET_PARTS)


def mask_value(key: str, value: Any) -> Any:
    """Mask one value according to the key it is logged under; recurse into containers."""
    k = key.lower().rsplit(".", 1)[-1]
    if value is None or isinstance(value, bool):
        return value
    if _is_secret_key(k):
        return REDACTED_SECRET
    if isinstance(value, Mapping):
        return {str(sub): mask_value(str(sub), item) for sub, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [mask_value(key, item) for item in value]
    if k in TEXT_KEYS:
        return mask_text(str(value))
    if k in PHONE_KEYS:
        return mask_address(str(value))
    if k in CHAT_KEYS or k in ADDRESS_KEYS:
        return mask_address(str(value))
    if k in NAME_KEYS:
        return mask_name(str(value))
    if k in FACT_KEYS:
        return "*" * len(str(value))
    if isinstance(value, str):
        return scrub_string(value)
    if isinstance(value, int | float):
        return value
    return scrub_string(str(value))


def mask_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """Return a masked copy of a structlog event dict."""
    masked: dict[str, Any] = {}
    for key, value in event.items():
        if key == "event" and isinstance(value, str):
            masked[key] = scrub_string(value)
        elif key in ("timestamp", "level", "logger", "logger_name"):
            masked[key] = value
        else:
            masked[key] = mask_value(key, value)
    return masked


def masking_processor(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> dict[str, Any]:
    """structlog processor: the last step before rendering, so nothing reaches output unmasked."""
    return mask_event(event_dict)
