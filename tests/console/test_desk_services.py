"""Desk services against real SQLite and PostgreSQL: claiming under a race, plan limits, outcomes."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import select

from accord.bootstrap import Container
from accord.dialogue.config import load_negotiation
from storage.db import transaction
from storage.tables import (
    Cardholder,
    Conversation,
    Escalation,
    Installment,
    InstallmentPlan,
    OutboxItem,
    Promise,
    ProtectiveState,
)
from tests.console.seed import seed
from web.console.config import load_console_config
from web.console.desk import plans
from web.console.desk.outcomes import OutcomeError, OutcomeForm, record_outcome
from web.console.desk.queue import ClaimLost, claim, open_queue
from web.console.masking import Viewer


def test_queue_is_ordered_by_urgency_and_shows_sla(container: Container) -> None:
    now = container.clock.now()
    with transaction(container.session_factory) as s:
        seed(s, now)
    config = load_console_config(container.settings.accord_config_dir)
    with transaction(container.session_factory) as s:
        items = open_queue(s, config, now, Viewer(unmasked=False))
    assert [i.reason for i in items] == ["distress", "attorney", "dispute", "ask_human"]
    distress = items[0]
    assert distress.late and distress.sla.total_seconds() == 15 * 60  # waited 45 min against 15
    assert "*" in distress.cardholder  # names are masked on the queue for officers


def test_two_officers_racing_for_one_conversation_never_both_win(container: Container) -> None:
    now = container.clock.now()
    with transaction(container.session_factory) as s:
        world = seed(s, now)
    escalation = world.escalations["us"]
    winners: list[str] = []
    losers: list[str] = []
    barrier = threading.Barrier(6)

    def attempt(name: str) -> None:
        barrier.wait()
        try:
            with transaction(container.session_factory) as s:
                claim(s, escalation, name, now)
            winners.append(name)
        except ClaimLost:
            losers.append(name)
        except Exception:  # SQLite may report "database is locked" under the race: that is a loss, not a win
            losers.append(name)

    threads = [threading.Thread(target=attempt, args=(f"officer{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1, (winners, losers)
    with transaction(container.session_factory) as s:
        esc = s.get(Escalation, escalation)
        conv = s.get(Conversation, world.conversations["us"])
        assert esc is not None and conv is not None
        assert esc.claimed_by == winners[0] == conv.held_by
        assert (esc.status, conv.state) == ("claimed", "officer")


def test_claim_rolls_back_when_the_conversation_is_held_elsewhere(container: Container) -> None:
    now = container.clock.now()
    with transaction(container.session_factory) as s:
        world = seed(s, now)
        s.get(Conversation, world.conversations["uk"]).held_by = "someone"  # type: ignore[union-attr]
    with pytest.raises(ClaimLost), transaction(container.session_factory) as s:
        claim(s, world.escalations["uk"], "olivia", now)
    with transaction(container.session_factory) as s:
        esc = s.get(Escalation, world.escalations["uk"])
        assert esc is not None and (esc.status, esc.claimed_by) == ("open", None)


def test_plans_beyond_the_officers_limits_wait_for_a_supervisor(container: Container) -> None:
    now = container.clock.now()
    config = load_console_config(container.settings.accord_config_dir)
    with transaction(container.session_factory) as s:
        world = seed(s, now)
        holder = s.scalars(select(Cardholder).where(Cardholder.external_id == "C-us")).one()
        account = holder.accounts[0]
        inside, why_inside = plans.propose(s, account, world.conversations["us"], plans.PlanTerms(6), "officer:o",
                                           config.plan_limits["officer"], now)
        policy = load_negotiation(container.settings.accord_config_dir).policy()
        beyond, why_beyond = plans.propose(s, account, world.conversations["us"],
                                           plans.PlanTerms(18, settlement_discount_bp=1000, interest_waived=True),
                                           "officer:o", config.plan_limits["officer"], now, policy)
        assert (inside.status, why_inside) == ("proposed", [])
        assert inside.total_minor == 348000 and inside.monthly_minor == 58000
        assert beyond.status == "pending_approval"
        assert why_beyond == ["term 18 > 12 months", "discount 1000 > 0 bp", "interest waiver",
                              "settlement discount at dpd_1_29 (only at dpd_90_plus)"]
        tiny, why_tiny = plans.propose(s, account, None, plans.PlanTerms(12, down_payment_minor=340000), "officer:o",
                                       config.plan_limits["officer"], now, policy)
        assert tiny.status == "pending_approval" and why_tiny == ["monthly 666 below the minimum 2500 (minor units)"]
        assert beyond.total_minor == 348000 - 34800
    with transaction(container.session_factory) as s:
        assert [p.id for p in plans.pending(s)] == [beyond.id, tiny.id]
        approved = plans.decide(s, beyond.id, "supervisor:sam", approve=True)
        assert approved is not None and (approved.status, approved.approved_by) == ("proposed", "supervisor:sam")
        assert plans.decide(s, beyond.id, "supervisor:sam", approve=True) is None  # only once


def test_plan_arithmetic_is_exact_in_minor_units() -> None:
    with pytest.raises(plans.PlanError, match="down payment is larger"):
        plans.plan_amounts(10000, plans.PlanTerms(3, down_payment_minor=20000))
    total, monthly = plans.plan_amounts(100001, plans.PlanTerms(3))
    assert (total, monthly) == (100001, 33333)
    plan = InstallmentPlan(id=1, total_minor=total, down_payment_minor=0, monthly_minor=monthly, term_months=3)
    schedule = plans.schedule(plan, date(2026, 12, 31))
    assert [i.amount_minor for i in schedule] == [33333, 33333, 33335]  # the remainder on the last, as the bot does
    assert [i.due_date for i in schedule] == [date(2026, 12, 31), date(2027, 1, 31), date(2027, 2, 28)]
    with_down = InstallmentPlan(id=2, total_minor=100000, down_payment_minor=10000, monthly_minor=45000,
                                term_months=2)
    assert [(i.seq, i.amount_minor) for i in plans.schedule(with_down, date(2026, 12, 1))] == [
        (0, 10000), (1, 45000), (2, 45000)]


def test_outcomes_record_promises_plans_and_do_not_contact(container: Container) -> None:
    now = container.clock.now()
    config = load_console_config(container.settings.accord_config_dir)
    with transaction(container.session_factory) as s:
        world = seed(s, now)
        conv = s.get(Conversation, world.conversations["us"])
        assert conv is not None
        today = date(2026, 11, 22)
        with pytest.raises(OutcomeError, match="in the past"):
            record_outcome(s, conv, OutcomeForm("promise", amount_minor=5000, promised_date=date(2026, 11, 1)),
                           "olivia", now, today)
        record_outcome(s, conv, OutcomeForm("promise", amount_minor=5000, promised_date=date(2026, 11, 30)),
                       "olivia", now, today)
        account = s.get(Cardholder, conv.cardholder_id).accounts[0]  # type: ignore[union-attr]
        plan, _ = plans.propose(s, account, conv.id, plans.PlanTerms(4), "officer:olivia",
                                config.plan_limits["officer"], now)
        record_outcome(s, conv, OutcomeForm("plan", plan_id=plan.id), "olivia", now, today)
        record_outcome(s, conv, OutcomeForm("do_not_contact", dnc_reason="attorney_represented"), "olivia", now,
                       today)
    with transaction(container.session_factory) as s:
        promise = s.scalars(select(Promise)).one()
        assert (promise.amount_minor, promise.recorded_by, promise.status) == (5000, "officer:olivia", "open")
        assert s.get(InstallmentPlan, plan.id).status == "active"  # type: ignore[union-attr]
        assert len(s.scalars(select(Installment).where(Installment.plan_id == plan.id)).all()) == 4
        confirmation = s.scalars(select(OutboxItem).where(OutboxItem.purpose == "plan_confirmation")).one()
        assert confirmation.idempotency_key == f"plan-confirmation:{plan.id}" and confirmation.status == "queued"
        (state,) = s.scalars(select(ProtectiveState).where(ProtectiveState.cardholder_id == conv.cardholder_id)).all()
        assert (state.kind, state.status, state.set_by, state.actor) == ("attorney", "active", "officer",
                                                                         "officer:olivia")
        conv_after = s.get(Conversation, conv.id)
        assert conv_after is not None and (conv_after.state, conv_after.held_by) == ("closed", None)
        esc = s.get(Escalation, world.escalations["us"])
        assert esc is not None and esc.status == "resolved"
