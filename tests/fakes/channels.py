"""A channel adapter fake at the network edge: it records what the gate sends and answers as it is told.

It implements core.ports.ChannelAdapter like the sandbox, Twilio and Telegram adapters do, so the gate under test
runs its real code path. Queue answers with `answer_next(...)`: a SendResult, or an exception to raise.
"""

from __future__ import annotations

import threading
from collections import deque

from core.enums import Channel
from core.ports import OutboundText, SendResult


class RecordingChannel:
    name = "recording"

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.sent: list[OutboundText] = []
        self._answers: deque[SendResult | Exception] = deque()
        self._lock = threading.Lock()

    def answer_next(self, *answers: SendResult | Exception) -> None:
        self._answers.extend(answers)

    def send(self, message: OutboundText) -> SendResult:
        with self._lock:
            answer = self._answers.popleft() if self._answers else None
            if isinstance(answer, Exception):
                raise answer
            self.sent.append(message)
            if answer is not None:
                return answer
            return SendResult(provider_message_id=f"FAKE-{message.message_id}", accepted=True)

    def lookup(self, provider_message_id: str) -> str | None:
        return "delivered" if provider_message_id.startswith("FAKE-") else None


def recording_channels() -> dict[Channel, RecordingChannel]:
    return {channel: RecordingChannel(channel) for channel in Channel}
