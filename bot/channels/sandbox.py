"""The sandbox channel: a real adapter that delivers nowhere, so Accord runs end to end without providers.

It is the default for any channel without credentials. The messages themselves already live in the messages
table (the compliance gate writes them), which is what the simulator shows as the cardholder's phone; the
adapter only has to accept them and answer status lookups like a provider would.
"""

from __future__ import annotations

import threading
import uuid

from core.enums import Channel
from core.ports import OutboundText, SendResult

PREFIX = "SBX-"


class SandboxChannel:
    name = "sandbox"

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self._issued: set[str] = set()
        self._lock = threading.Lock()

    def send(self, message: OutboundText) -> SendResult:
        if message.channel is not self.channel and message.channel != self.channel.value:
            # A wiring mistake, not a delivery failure: retrying would never help.
            return SendResult(
                provider_message_id=None,
                accepted=False,
                error_code="wrong_channel",
                error_detail=f"sandbox {self.channel} adapter got a {message.channel} message",
                permanent=True,
            )
        if not message.text.strip():
            return SendResult(None, False, error_code="empty_text", error_detail="empty message", permanent=True)
        provider_id = f"{PREFIX}{uuid.uuid4()}"
        with self._lock:
            self._issued.add(provider_id)
        return SendResult(provider_message_id=provider_id, accepted=True)

    def lookup(self, provider_message_id: str) -> str | None:
        """Ids this adapter issued are delivered; a sandbox id from before a restart is delivered too, since
        the sandbox never loses a message. Anything else is not ours to judge."""
        with self._lock:
            if provider_message_id in self._issued:
                return "delivered"
        if provider_message_id.startswith(PREFIX) and _is_uuid(provider_message_id[len(PREFIX) :]):
            return "delivered"
        return None

    def __repr__(self) -> str:
        return f"SandboxChannel({self.channel.value})"


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
