"""Every protective state x every outbound purpose x every pack: the gate allows, limits or blocks exactly as the
pack's matrix says, and the sweep plans a reminder exactly where the matrix allows one.

The gate is asked through its dry run (`evaluate`, the same checks `deliver` runs) so one cardholder per state
serves all fourteen purposes; a blocked cell must be blocked by that state's rule, an allowed cell must pass
it, and a limited cell must pass it with the person no longer counted as the cardholder.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from accord.bootstrap import Container
from compliance import consent
from compliance.contract import Decision, SendRequest
from compliance.packs import Pack
from compliance.protection import set_state
from core.enums import Channel, MessagePurpose
from core.protection import ADDRESS_KINDS, Effect, ProtectiveKind
from scheduler.sweep import run_sweep
from storage.db import transaction
from tests.compliance_builders import Holder, add_conversation, add_holder, compliance_config, make_gate

# 15:00 UTC: inside contact hours in New York (10:00), London (15:00) and Shanghai (23:00 is not: CN runs at 03:00)
AT = {"US": datetime(2026, 11, 23, 16, 0, tzinfo=UTC), "US-MA": datetime(2026, 11, 23, 16, 0, tzinfo=UTC),
      "UK": datetime(2026, 11, 23, 12, 0, tzinfo=UTC), "CN": datetime(2026, 11, 23, 4, 0, tzinfo=UTC)}
ZONE = {"US": ("America/New_York", "en", "USD"), "US-MA": ("America/New_York", "en", "USD"),
        "UK": ("Europe/London", "en", "GBP"), "CN": ("Asia/Shanghai", "zh", "CNY")}
PACKS = {pack.pack.value: pack for pack in compliance_config().packs}


def template_for(purpose: MessagePurpose) -> str:
    """A catalog template that serves the purpose, preferring one that carries account details (so a limited
    cell shows as the limited alternative or a privacy block, not as a plain send)."""
    serving = [t for t in compliance_config().catalog if purpose in t.purposes and t.kind == "message"]
    assert serving, f"no template serves {purpose}"
    serving.sort(key=lambda t: (t.limited_content, t.id))
    return serving[0].id


def _holder(container: Container, jurisdiction: str, kind: ProtectiveKind) -> tuple[Holder, int]:
    zone, language, currency = ZONE[jurisdiction]
    at = AT[jurisdiction]
    holder = add_holder(container.session_factory, at, ext=f"{jurisdiction}-{kind.value}", jurisdiction=jurisdiction,
                        timezone=zone, language=language, currency=currency, verified=True)
    conversation = add_conversation(container.session_factory, at, holder, verified=True)
    pack = PACKS[jurisdiction]
    with transaction(container.session_factory) as s:
        if kind is ProtectiveKind.CHANNEL_OPT_OUT:
            assert holder.sms_id is not None
            consent.record_opt_out(s, holder.sms_id, "keyword", at, "cardholder", pack=pack)
        else:
            set_state(s, cardholder_id=holder.id, kind=kind, set_by="officer", actor="officer:matrix", at=at,
                      reason="matrix test", pack=pack,
                      contact_point_id=holder.sms_id if kind in ADDRESS_KINDS else None)
    return holder, conversation


def _request(holder: Holder, conversation: int, purpose: MessagePurpose) -> SendRequest:
    author = "officer:matrix" if purpose is MessagePurpose.OFFICER_REPLY else "bot"
    return SendRequest(cardholder_id=holder.id, channel=Channel.SMS, purpose=purpose, template_id=template_for(purpose),
                       author=author, account_id=holder.account_id, conversation_id=conversation,
                       contact_point_id=holder.sms_id,
                       params={"amount_minor": 5_000, "promised_date": "2026-11-30", "promise_id": 1,
                               "due_date": "2026-11-30", "installment": 1, "installment_id": 1, "term_months": 3,
                               "monthly_amount_minor": 2_000, "first_due_date": "2026-12-01",
                               "plan_total_minor": 6_000, "balance_minor": 0, "link": "https://t.me/x?start=y",
                               "expires_hours": 24})


def _state_check(decision: Decision, pack: Pack, kind: ProtectiveKind) -> tuple[bool, str | None]:
    rule = pack.rule("opt_out" if kind is ProtectiveKind.CHANNEL_OPT_OUT else "protective_states")
    checks = [c for c in decision.checks if c.rule == rule]
    assert checks, f"no {rule} check in {decision.checks}"
    return checks[0].passed, checks[0].reason


@pytest.mark.parametrize("jurisdiction", sorted(PACKS))
def test_the_gate_obeys_every_cell_of_the_matrix(container: Container, jurisdiction: str) -> None:
    container.clock.set(AT[jurisdiction])  # type: ignore[attr-defined]
    pack = PACKS[jurisdiction]
    gate, channels = make_gate(container.session_factory, container.clock)
    wrong: list[str] = []
    for kind in ProtectiveKind:
        holder, conversation = _holder(container, jurisdiction, kind)
        for purpose in MessagePurpose:
            expected = pack.effect(kind, purpose)
            if kind is ProtectiveKind.CHANNEL_OPT_OUT and purpose is MessagePurpose.OPT_OUT_CONFIRMATION:
                continue  # its own rule: exactly one confirmation, checked in test_gate_rules
            decision = gate.evaluate(_request(holder, conversation, purpose))
            passed, reason = _state_check(decision, pack, kind)
            cell = f"{kind.value} x {purpose.value} = {expected.value}"
            if expected is Effect.BLOCK and (passed or decision.allowed):
                wrong.append(f"{cell}: not blocked ({decision.outcome}, {decision.reasons})")
            elif expected is not Effect.BLOCK and not passed:
                wrong.append(f"{cell}: blocked by the state ({reason})")
            elif expected is Effect.LIMITED:
                privacy = [c for c in decision.checks if c.rule == pack.rule("privacy")]
                if any("account details to the cardholder" in c.detail for c in privacy):
                    wrong.append(f"{cell}: account details went out ({privacy})")
    assert wrong == []
    assert all(channel.sent == [] for channel in channels.values())  # a dry run sends nothing


@pytest.mark.parametrize("jurisdiction", sorted(PACKS))
def test_the_sweep_plans_a_reminder_exactly_where_the_matrix_allows_one(container: Container,
                                                                          jurisdiction: str) -> None:
    container.clock.set(AT[jurisdiction])  # type: ignore[attr-defined]
    pack = PACKS[jurisdiction]
    holders = {kind: _holder(container, jurisdiction, kind)[0] for kind in ProtectiveKind}
    report = run_sweep(container, AT[jurisdiction])
    with container.session_factory() as s:
        from sqlalchemy import select

        from storage.tables import OutboxItem

        planned = set(s.scalars(select(OutboxItem.cardholder_id).where(OutboxItem.purpose == "reminder")))
    for kind, holder in holders.items():
        effect = pack.effect(kind, MessagePurpose.REMINDER)
        if kind is ProtectiveKind.CHANNEL_OPT_OUT:
            # The person's only address opted out: nothing to plan, whatever the cell says.
            assert holder.id not in planned
            continue
        assert (holder.id in planned) is (effect is not Effect.BLOCK), f"{kind.value}: {effect.value}"
    blocked = sum(1 for kind in ProtectiveKind
                  if kind not in ADDRESS_KINDS and pack.effect(kind, MessagePurpose.REMINDER) is Effect.BLOCK)
    assert sum(v for k, v in report.skipped.items() if k.startswith("protective_state:")) == blocked
