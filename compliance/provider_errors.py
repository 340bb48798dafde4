"""What a provider's permanent refusal says about the recipient's address, and what the gate records for it.

Codes are the ones the channel adapters report in SendResult.error_code (Twilio's numeric codes as strings,
Telegram's mapped names). A refusal not listed here fails the message without touching the address.
"""

from __future__ import annotations

# The person unsubscribed through the provider: recorded as an opt-out (method "carrier"), like a STOP.
OPT_OUT_CODES = {
    "21610": "recipient replied STOP to the carrier (Twilio 21610)",
    "telegram_forbidden": "the person blocked the bot or deleted their account",
}

# The address cannot receive messages: the contact point is marked invalid until someone corrects it.
INVALID_ADDRESS_CODES = {
    "21211": "invalid phone number (Twilio 21211)",
    "21614": "not a mobile number (Twilio 21614)",
    "21612": "Twilio cannot route to this number (21612)",
    "telegram_chat_not_found": "Telegram chat not found",
    "invalid_chat_id": "not a Telegram chat id",
}
