"""`collect_status`: opt-outs outrank status, open escalations exclude resolved ones, extras add policy versions."""

from __future__ import annotations

from sqlalchemy import select

from accord.bootstrap import Container
from accord.status import collect_status, policy_versions
from storage.db import transaction
from storage.tables.portfolio import ContactPoint
from storage.tables.work import Escalation, OutboxItem
from tests import builders


def test_status_counts_states_queues_and_open_escalations(container: Container) -> None:
    now = container.clock.now()
    with transaction(container.session_factory) as session:
        ana = builders.cardholder(session, now, external_id="C1", phone="+12125550101", chat_id="1001")
        bo = builders.cardholder(session, now, external_id="C2", phone="+12125550102", chat_id=None, stage="pre_due")
        sms = session.scalars(select(ContactPoint).where(ContactPoint.address == "+12125550101")).one()
        sms.opted_out_at, sms.status = now, "invalid"  # opted out wins over the provider's status
        telegram = session.scalars(select(ContactPoint).where(ContactPoint.address == "1001")).one()
        telegram.status = "review"
        for key, status in (("k1", "queued"), ("k2", "queued"), ("k3", "sent")):
            session.add(OutboxItem(idempotency_key=key, cardholder_id=ana.id, channel="sms", purpose="reminder",
                                   template_id="t", language="en", params={}, not_before=now, status=status,
                                   created_at=now, updated_at=now))
        for reason, status in (("distress", "open"), ("dispute", "claimed"), ("distress", "resolved")):
            session.add(Escalation(cardholder_id=bo.id, reason=reason, priority=1, status=status, created_at=now))

    snapshot = collect_status(container)
    assert snapshot["cardholders"] == 2
    assert snapshot["accounts_by_stage"]["dpd_1_29"] == 1 and snapshot["accounts_by_stage"]["pre_due"] == 1
    assert snapshot["contact_points"]["sms"] == {"active": 1, "opted_out": 1, "invalid": 0, "review": 0}
    assert snapshot["contact_points"]["telegram"] == {"active": 0, "opted_out": 0, "invalid": 0, "review": 1}
    assert snapshot["outbox_by_status"]["queued"] == 2 and snapshot["outbox_by_status"]["sent"] == 1
    assert snapshot["open_escalations"] == {"total": 2, "by_reason": {"dispute": 1, "distress": 1}}


class _PackRegistry:
    def policy_versions(self) -> dict[str, str]:
        return {"pack:CN": "2026.11.1"}


def test_policy_versions_include_what_extras_report(container: Container) -> None:
    container.extras["packs"] = _PackRegistry()
    versions = policy_versions(container)
    assert versions["pack:CN"] == "2026.11.1" and versions["stages"] == container.stages.version
