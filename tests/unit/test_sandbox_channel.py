"""The sandbox adapter behaves like a provider that never loses a message, and is the default without credentials."""

from __future__ import annotations

from accord.settings import Settings
from bot.channels.registry import build_channels, describe_channels
from bot.channels.sandbox import SandboxChannel
from core.enums import Channel
from core.ports import ChannelAdapter, OutboundText


def text(channel: Channel, body: str = "hello") -> OutboundText:
    return OutboundText(channel, "+12125550123", body, message_id=7, idempotency_key="k7")


def test_send_accepts_with_a_sandbox_id_and_lookup_reports_delivered() -> None:
    adapter = SandboxChannel(Channel.SMS)
    result = adapter.send(text(Channel.SMS))
    assert result.accepted and result.provider_message_id is not None
    assert result.provider_message_id.startswith("SBX-")
    assert adapter.lookup(result.provider_message_id) == "delivered"
    assert adapter.send(text(Channel.SMS)).provider_message_id != result.provider_message_id


def test_lookup_survives_a_restart_but_knows_nothing_of_other_providers() -> None:
    issued = SandboxChannel(Channel.TELEGRAM).send(text(Channel.TELEGRAM)).provider_message_id
    assert issued is not None
    fresh = SandboxChannel(Channel.TELEGRAM)
    assert fresh.lookup(issued) == "delivered"
    assert fresh.lookup("SM0123456789abcdef0123456789abcdef") is None
    assert fresh.lookup("SBX-not-a-uuid") is None


def test_wrong_channel_and_empty_text_are_permanent_refusals() -> None:
    adapter = SandboxChannel(Channel.SMS)
    wrong = adapter.send(text(Channel.TELEGRAM))
    assert not wrong.accepted and wrong.permanent and wrong.error_code == "wrong_channel"
    empty = adapter.send(text(Channel.SMS, "   "))
    assert not empty.accepted and empty.permanent


def test_every_channel_is_sandboxed_without_credentials() -> None:
    settings = Settings(accord_env="test", _env_file=None)  # type: ignore[call-arg]
    channels = build_channels(settings)
    assert set(channels) == set(Channel)
    for channel, adapter in channels.items():
        assert isinstance(adapter, SandboxChannel) and adapter.channel is channel
        _: ChannelAdapter = adapter  # satisfies the port
    assert describe_channels(channels) == {"sms": "sandbox", "telegram": "sandbox"}

