"""The import service against real SQLite and PostgreSQL: upsert by external_id, all or nothing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from accord.bootstrap import Container
from accord.portfolio.errors import ImportRejected
from accord.portfolio.importer import import_file
from storage.db import transaction
from storage.tables.portfolio import Account, Cardholder, ContactLedger, ContactPoint, StageChange
from tests.portfolio_files import portfolio_rows, write_csv


def count(container: Container, model: type) -> int:
    with container.session_factory() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def points(container: Container, external_id: str) -> dict[tuple[str, str], ContactPoint]:
    with container.session_factory() as session:
        query = select(ContactPoint).join(Cardholder).where(Cardholder.external_id == external_id)
        return {(p.channel, p.address): p for p in session.scalars(query)}


def test_import_then_reimport_changes_nothing(container: Container, tmp_path: Path) -> None:
    rows = portfolio_rows(container.clock.now(), 40)
    path = write_csv(tmp_path / "p.csv", rows)
    first = import_file(container, path)
    assert (first.created, first.updated, first.unchanged, first.stage_changes) == (40, 0, 0, 40)
    assert count(container, Cardholder) == count(container, Account) == count(container, ContactLedger) == 40
    chats = sum(1 for r in rows if r["telegram_chat_id"])
    assert count(container, ContactPoint) == 40 + chats

    second = import_file(container, path)
    assert (second.created, second.updated, second.unchanged, second.stage_changes) == (0, 0, 40, 0)
    assert count(container, StageChange) == 40


def test_contact_points_carry_consent_and_verification(container: Container, tmp_path: Path) -> None:
    rows = portfolio_rows(container.clock.now(), 4)
    rows[0].update(sms_consent="yes", sms_consent_date="2024-03-02", telegram_chat_id="734920118")
    rows[1].update(sms_consent="no", telegram_chat_id="")
    import_file(container, write_csv(tmp_path / "p.csv", rows))
    first = points(container, rows[0]["external_id"])
    sms, telegram = first[("sms", rows[0]["phone"])], first[("telegram", "734920118")]
    assert (sms.consent_basis, sms.verified, sms.preferred) == ("express_written", False, False)
    assert sms.consent_at is not None and sms.consent_at.isoformat() == "2024-03-01T16:00:00+00:00"  # Shanghai
    assert (telegram.consent_basis, telegram.verified, telegram.preferred) == ("cardholder_initiated", True, True)
    assert telegram.verified_at == container.clock.now()
    second = points(container, rows[1]["external_id"])
    assert [(p.channel, p.consent_basis, p.consent_at, p.preferred) for p in second.values()] == [
        ("sms", None, None, True)]


def test_a_changed_row_updates_the_account_and_records_the_stage_change(
    container: Container, tmp_path: Path
) -> None:
    rows = portfolio_rows(container.clock.now(), 6)
    import_file(container, write_csv(tmp_path / "p.csv", rows))
    target = rows[2]
    new_due = container.clock.now().date() - timedelta(days=45)
    target.update(balance="999.99", minimum_due="99.99", due_date=new_due.isoformat(), full_name="李伟")
    report = import_file(container, write_csv(tmp_path / "p.csv", rows))
    assert (report.created, report.updated, report.unchanged, report.stage_changes) == (0, 1, 5, 1)
    with container.session_factory() as session:
        account = session.scalars(select(Account).where(Account.external_id == target["external_id"])).one()
        assert (account.balance_minor, account.minimum_due_minor, account.stage) == (99_999, 9_999, "dpd_30_59")
        assert account.days_past_due == 45 and account.stage_changed_at == container.clock.now()
        assert account.cardholder.full_name == "李伟"
        change = session.scalars(select(StageChange).where(StageChange.account_id == account.id)
                                 .order_by(StageChange.id.desc())).first()
        assert change is not None and (change.to_stage, change.days_past_due) == ("dpd_30_59", 45)


def test_a_new_phone_retires_the_old_one_and_opt_outs_survive(container: Container, tmp_path: Path) -> None:
    rows = portfolio_rows(container.clock.now(), 3)
    import_file(container, write_csv(tmp_path / "p.csv", rows))
    opted = rows[1]
    with transaction(container.session_factory) as session:
        point = session.scalars(select(ContactPoint).where(ContactPoint.address == opted["phone"])).one()
        point.opted_out_at, point.opted_out_method = container.clock.now(), "keyword"
    old_phone, rows[0]["phone"] = rows[0]["phone"], "+8613912345678"
    report = import_file(container, write_csv(tmp_path / "p.csv", rows))
    assert (report.updated, report.unchanged) == (1, 2)
    holder = points(container, rows[0]["external_id"])
    assert (holder[("sms", old_phone)].status, holder[("sms", old_phone)].status_reason) == (
        "invalid", "replaced_by_import")
    assert holder[("sms", "+8613912345678")].status == "active"
    kept = points(container, opted["external_id"])[("sms", opted["phone"])]
    assert kept.opted_out_at == container.clock.now() and kept.opted_out_method == "keyword"


def test_an_address_owned_by_another_cardholder_rejects_the_whole_file(
    container: Container, tmp_path: Path
) -> None:
    rows = portfolio_rows(container.clock.now(), 3)
    import_file(container, write_csv(tmp_path / "p.csv", rows[:2]))
    rows[2]["phone"] = rows[0]["phone"]
    rows[1]["balance"] = "1.00"
    rows[1]["minimum_due"] = "1.00"
    with pytest.raises(ImportRejected) as caught:
        import_file(container, write_csv(tmp_path / "q.csv", rows[1:]))
    [error] = caught.value.errors
    assert (error.line, error.column) == (3, "phone")
    assert error.reason == f"is already registered to cardholder {rows[0]['external_id']}"
    assert count(container, Cardholder) == 2
    with container.session_factory() as session:
        balances = session.scalars(select(Account.balance_minor).order_by(Account.id)).all()
    assert 100 not in balances  # the good row in the rejected file was not applied either


def test_progress_is_reported_for_both_phases(container: Container, tmp_path: Path) -> None:
    calls: list[tuple[str, int, int]] = []
    import_file(container, write_csv(tmp_path / "p.csv", portfolio_rows(container.clock.now(), 5)),
                progress=lambda phase, done, total: calls.append((phase, done, total)))
    assert calls == [("validate", 5, 5), ("write", 5, 5)]
