"""Rows and wiring for compliance-gate tests: a cardholder with an account and addresses, and a gate built from
the real configuration with recording channel fakes."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from compliance.audit import AuditLog
from compliance.contract import SendRequest
from compliance.gate import ComplianceGate
from compliance.packs import PackRegistry
from compliance.wiring import ComplianceConfig, load_compliance
from core.clock import Clock
from core.enums import Channel, MessagePurpose
from storage.db import transaction
from storage.tables import Account, Cardholder, ContactPoint, Conversation
from tests.fakes.channels import RecordingChannel, recording_channels

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"


@dataclass(frozen=True)
class Holder:
    id: int
    account_id: int
    sms_id: int | None
    telegram_id: int | None


def add_holder(factory: sessionmaker[Session], at: datetime, *, ext: str = "H1", jurisdiction: str = "US",
               timezone: str = "America/New_York", language: str = "en", stage: str = "dpd_1_29",
               days_past_due: int = 12, currency: str = "USD", sms: bool = True, telegram: bool = False,
               sms_consent: str | None = "express_written", verified: bool = True) -> Holder:
    with transaction(factory) as s:
        holder = Cardholder(external_id=ext, full_name="Test Person", language=language, timezone=timezone,
                            jurisdiction=jurisdiction, card_last4="4242", birth_year=1980, created_at=at, updated_at=at)
        s.add(holder)
        s.flush()
        account = Account(external_id=f"A-{ext}-0042", cardholder_id=holder.id, product="credit_card",
                          currency=currency, balance_minor=250_000, minimum_due_minor=5_000,
                          due_date=date(2026, 11, 11), days_past_due=days_past_due, stage=stage,
                          created_at=at, updated_at=at)
        s.add(account)
        points: dict[str, int | None] = {"sms": None, "telegram": None}
        digits = zlib.crc32(ext.encode())
        for channel, wanted, address in (("sms", sms, f"+1212{digits % 10_000_000:07d}"),
                                         ("telegram", telegram, str(100_000 + digits % 900_000))):
            if wanted:
                point = ContactPoint(cardholder_id=holder.id, channel=channel, address=address, preferred=True,
                                     consent_basis=sms_consent if channel == "sms" else "cardholder_initiated",
                                     consent_at=at, verified=verified, created_at=at, updated_at=at)
                s.add(point)
                s.flush()
                points[channel] = point.id
        s.flush()
        return Holder(holder.id, account.id, points["sms"], points["telegram"])


def add_conversation(factory: sessionmaker[Session], at: datetime, holder: Holder, *, channel: str = "sms",
                     cardholder_started: bool = True, verified: bool = True) -> int:
    with transaction(factory) as s:
        point_id = holder.sms_id if channel == "sms" else holder.telegram_id
        conv = Conversation(cardholder_id=holder.id, contact_point_id=point_id, channel=channel, verified=verified,
                            opened_at=at, last_message_at=at, cardholder_started=cardholder_started)
        s.add(conv)
        s.flush()
        return conv.id


@lru_cache(maxsize=1)
def compliance_config() -> ComplianceConfig:
    return load_compliance(CONFIG_DIR)


def pack_variant(jurisdiction: str, **changes: Any) -> PackRegistry:
    """The real packs with one jurisdiction's pack changed, e.g. pack_variant("US", reply_language="profile")."""
    packs = compliance_config().packs
    chosen = {pack.pack.value: pack for pack in packs}
    chosen[jurisdiction] = chosen[jurisdiction].model_copy(update=changes)
    return PackRegistry(chosen, packs.files)


def make_gate(factory: sessionmaker[Session], clock: Clock,
              channels: dict[Channel, RecordingChannel] | None = None, *,
              packs: PackRegistry | None = None) -> tuple[ComplianceGate, dict[Channel, RecordingChannel]]:
    config = compliance_config()
    channels = channels if channels is not None else recording_channels()
    gate = ComplianceGate(factory, clock, packs or config.packs, config.catalog, channels, AuditLog(clock))
    return gate, channels


def reminder(holder: Holder, *, channel: Channel = Channel.SMS, template: str = "reminder.dpd_1_29",
             purpose: MessagePurpose = MessagePurpose.REMINDER, **kw: object) -> SendRequest:
    return SendRequest(cardholder_id=holder.id, channel=channel, purpose=purpose, template_id=template,
                       author="scheduler", account_id=holder.account_id, **kw)  # type: ignore[arg-type]
