"""A small console world: users of every role, cardholders in three jurisdictions, escalations of several
reasons, a thread with bot, cardholder and blocked turns, and decisions for the review pages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from storage.tables import (
    Account,
    Cardholder,
    ComplianceDecision,
    ConsoleUser,
    ContactPoint,
    Conversation,
    Escalation,
    Message,
    StageChange,
)
from web.console.accounts import add_user

PASSWORD = "correct horse battery staple"
USERS = {"olivia": "officer", "oscar": "officer", "sam": "supervisor", "cora": "compliance",
         "cody": "compliance", "adam": "admin"}
HOSTILE = '<script>window.__pwned = 1</script><b>bold?</b><img src=x onerror="window.__pwned=2">'


@dataclass
class World:
    conversations: dict[str, int] = field(default_factory=dict)
    escalations: dict[str, int] = field(default_factory=dict)
    accounts: dict[str, int] = field(default_factory=dict)
    messages: dict[str, int] = field(default_factory=dict)


def _holder(s: Session, key: str, name: str, lang: str, tz: str, juris: str, channel: str, address: str,
            currency: str, balance: int, stage: str, dpd: int, now: datetime) -> tuple[Cardholder, Account,
                                                                                     ContactPoint]:
    holder = Cardholder(external_id=f"C-{key}", full_name=name, language=lang, timezone=tz, jurisdiction=juris,
                        card_last4="4242", birth_year=1980, created_at=now, updated_at=now)
    s.add(holder)
    s.flush()
    account = Account(external_id=f"A-{key}", cardholder_id=holder.id, product="credit_card", currency=currency,
                      balance_minor=balance, minimum_due_minor=balance // 10, due_date=date(2026, 10, 15),
                      days_past_due=dpd, stage=stage, created_at=now, updated_at=now)
    point = ContactPoint(cardholder_id=holder.id, channel=channel, address=address, preferred=True,
                         consent_basis="express_written", consent_at=now, verified=True, status="active",
                         created_at=now, updated_at=now)
    s.add_all([account, point])
    s.flush()
    return holder, account, point


def _decision(s: Session, outcome: str, reasons: list[str], pack: str, tz: str, at: datetime) -> int:
    local = at.astimezone(ZoneInfo(tz)).isoformat(timespec="seconds")
    d = ComplianceDecision(outcome=outcome, reasons=reasons, policy_pack=pack, policy_version="2026.11.1",
                           checks=[{"rule": f"{pack}.contact_hours", "passed": "outside_contact_hours" not in reasons,
                                    "detail": "local time " + local[11:16]},
                                   {"rule": f"{pack}.wording", "passed": "forbidden_wording" not in reasons,
                                    "detail": "threat of arrest: 'arrest'" if "forbidden_wording" in reasons else "ok"}],
                           counters={"contacts_7d": 2}, timezone=tz, local_time=local, decided_at=at)
    s.add(d)
    s.flush()
    return d.id


def seed(s: Session, now: datetime) -> World:
    w = World()
    first = add_user(s, "olivia", USERS["olivia"], PASSWORD, now, language="en")
    for name, role in USERS.items():  # one argon2 hash for all: hashing is slow on purpose
        if name != "olivia":
            s.add(ConsoleUser(username=name, role=role, password_hash=first.password_hash, language="en",
                              active=True, session_epoch=0, created_at=now))
    cases: list[tuple[Any, ...]] = [
        ("zh", "李伟", "zh", "Asia/Shanghai", "CN", "telegram", "5550001111", "CNY", 1250000, "dpd_30_59", 40,
         "distress", 45),
        ("us", "John Smith", "en", "America/New_York", "US", "sms", "+12125550123", "USD", 348000, "dpd_1_29", 12,
         "ask_human", 20),
        ("uk", "Mary Jones", "en", "Europe/London", "UK", "sms", "+447700900123", "GBP", 99000, "dpd_60_89", 70,
         "dispute", 130),
        ("att", "Peter Law", "en", "America/Chicago", "US", "sms", "+13125550199", "USD", 150000, "dpd_90_plus",
         95, "attorney", 5),
    ]
    for key, name, lang, tz, juris, channel, address, cur, bal, stage, dpd, reason, waited in cases:
        holder, account, point = _holder(s, key, name, lang, tz, juris, channel, address, cur, bal, stage, dpd,
                                         now - timedelta(days=30))
        w.accounts[key] = account.id
        conv = Conversation(cardholder_id=holder.id, contact_point_id=point.id, channel=channel, state="officer",
                            verified=key != "uk", verification_attempts=1, opened_at=now - timedelta(hours=2),
                            last_message_at=now - timedelta(minutes=waited), cardholder_started=False)
        s.add(conv)
        s.flush()
        w.conversations[key] = conv.id
        esc = Escalation(cardholder_id=holder.id, conversation_id=conv.id, account_id=account.id, reason=reason,
                         priority=50, status="open", detail={}, created_at=now - timedelta(minutes=waited))
        s.add(esc)
        s.flush()
        w.escalations[key] = esc.id
        pack = juris
        sent_at = now - timedelta(hours=1 if key == "att" else 2)
        allow = _decision(s, "allow", [], pack, tz, sent_at)
        reminder = Message(cardholder_id=holder.id, account_id=account.id, conversation_id=conv.id,
                           contact_point_id=point.id, channel=channel, direction="outbound", status="sent",
                           purpose="reminder", author="scheduler", template_id="reminder.gentle", template_version=1,
                           language=lang, text=("您好，这是一条还款提醒。" if lang == "zh" else
                                                "Hello, this is a payment reminder."),
                           created_at=sent_at, sent_at=sent_at, decision_id=allow)
        inbound_text = HOSTILE if key == "us" else ("我失业了，现在真的很难。" if lang == "zh" else "I need to talk to a person.")
        inbound = Message(cardholder_id=holder.id, account_id=account.id, conversation_id=conv.id,
                          contact_point_id=point.id, channel=channel, direction="inbound", status="received",
                          author="cardholder", text=inbound_text, created_at=now - timedelta(minutes=waited + 1))
        block = _decision(s, "block", ["forbidden_wording"], pack, tz, now - timedelta(minutes=waited))
        blocked = Message(cardholder_id=holder.id, account_id=account.id, conversation_id=conv.id,
                          contact_point_id=point.id, channel=channel, direction="outbound", status="blocked",
                          purpose="bot_reply", author="bot", template_id="dialogue.hardship", template_version=2,
                          language=lang, text="We will arrest you.", created_at=now - timedelta(minutes=waited),
                          decision_id=block)
        s.add_all([reminder, inbound, blocked])
        s.flush()
        w.messages[f"{key}.reminder"], w.messages[f"{key}.inbound"] = reminder.id, inbound.id
        w.messages[f"{key}.blocked"] = blocked.id
        s.add(StageChange(account_id=account.id, from_stage="dpd_1_29", to_stage=stage, days_past_due=dpd,
                          changed_at=now - timedelta(days=2)))
    return w
