"""Pick each channel's adapter from the settings: a provider when its credentials are configured, otherwise the
sandbox. The bootstrap calls this once; tests pass `channels=` to bootstrap instead.
"""

from __future__ import annotations

from accord.settings import Settings
from bot.channels.sandbox import SandboxChannel
from core.enums import Channel
from core.ports import ChannelAdapter


def build_channels(settings: Settings) -> dict[Channel, ChannelAdapter]:
    channels: dict[Channel, ChannelAdapter] = {}
    # Provider branches go first, one per channel. Imports stay local so a sandbox-only Accord never loads them.
    if settings.twilio_configured:
        from bot.channels import twilio_sms

        channels[Channel.SMS] = twilio_sms.from_settings(settings)
    if settings.telegram_configured:
        from bot.channels import telegram

        channels[Channel.TELEGRAM] = telegram.from_settings(settings)
    for channel in Channel:
        channels.setdefault(channel, SandboxChannel(channel))
    return channels


def describe_channels(channels: dict[Channel, ChannelAdapter]) -> dict[str, str]:
    """Which adapter serves each channel, for `accord run` and /healthz: {"sms": "sandbox", ...}."""
    return {channel.value: getattr(adapter, "name", type(adapter).__name__) for channel, adapter in channels.items()}
