"""Write validated rows in chunks: prefetch what exists, then bulk insert and bulk update what differs.

Per-row ORM work would take minutes for a large portfolio, so each chunk costs a handful of statements: three
lookups, then executemany inserts and updates through SQLAlchemy Core. A row whose stored values already match is
left alone, which is why importing the same file twice changes nothing.

Contact points follow the bank's file for the channels it names: the file's number becomes the cardholder's
active one and a previous number on that channel is retired (status invalid, reason replaced_by_import). An
import never clears an opt-out, and a blank telegram_chat_id leaves a chat the cardholder bound themselves alone.

The vulnerability column becomes protective states in `finish`, after the last chunk (see vulnerability.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table, and_, bindparam, select, update
from sqlalchemy.orm import Session

from accord.portfolio.csv_schema import ImportRow
from accord.portfolio.errors import RowError
from accord.portfolio.vulnerability import Stated, VulnerabilityRecorder
from compliance.packs import Pack
from core.delinquency import assess
from core.enums import Channel, ConsentBasis, ContactPointStatus
from core.staging import StageRule
from storage.bulk import among, bulk_insert
from storage.tables.portfolio import Account, Cardholder, ContactLedger, ContactPoint, StageChange

CARDHOLDERS: Table = Cardholder.__table__  # type: ignore[assignment]
ACCOUNTS: Table = Account.__table__  # type: ignore[assignment]
CONTACTS: Table = ContactPoint.__table__  # type: ignore[assignment]
LEDGER: Table = ContactLedger.__table__  # type: ignore[assignment]
STAGE_CHANGES: Table = StageChange.__table__  # type: ignore[assignment]

CARDHOLDER_FIELDS = ("full_name", "language", "timezone", "jurisdiction", "card_last4", "birth_year")
ACCOUNT_FIELDS = ("cardholder_id", "product", "currency", "balance_minor", "minimum_due_minor", "due_date",
                  "days_past_due", "stage", "stage_changed_at", "touches_in_stage")
CONTACT_FIELDS = ("consent_basis", "consent_at", "verified", "verified_at", "preferred", "status", "status_reason")
REPLACED = "replaced_by_import"


@dataclass
class WriteReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    stage_changes: int = 0
    vulnerabilities: int = 0  # vulnerability states set (or replaced) from the file
    errors: list[RowError] = field(default_factory=list)


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


class PortfolioWriter:
    """Upserts chunks of rows inside the caller's transaction. After the first conflict it only checks.
    `file` names the source in the evidence of the states it sets; `pack_for` gives a jurisdiction's pack."""

    def __init__(self, session: Session, now: datetime, rules: tuple[StageRule, ...], *, file: str,
                 pack_for: Callable[[str], Pack | None]) -> None:
        self.session = session
        self.now = now
        self.rules = rules
        self.report = WriteReport()
        self._today: dict[str, date] = {}
        self._vulnerabilities = VulnerabilityRecorder(session, now, file, pack_for)

    def write(self, rows: list[ImportRow]) -> None:
        ids = [r.external_id for r in rows]
        holders = self._fetch(CARDHOLDERS, ("id", "external_id", *CARDHOLDER_FIELDS), ids)
        accounts = self._fetch(ACCOUNTS, ("id", "external_id", "stage", *ACCOUNT_FIELDS), ids)
        contacts = self._contacts(rows, [h["id"] for h in holders.values()])
        plan = _Plan()
        for row in rows:
            conflict = self._check_addresses(row, contacts)
            if conflict:
                self.report.errors.append(conflict)
        if self.report.errors:
            return  # the import will be rolled back; keep looking for conflicts but write nothing more
        for row in rows:
            self._plan_cardholder(row, holders.get(row.external_id), plan)
        self._insert_cardholders(plan, holders)
        for row in rows:
            holder = holders[row.external_id]
            changed = row.external_id in plan.changed
            changed |= self._plan_account(row, holder["id"], accounts.get(row.external_id), plan)
            changed |= self._plan_contacts(row, holder["id"], contacts, plan)
            if row.external_id in plan.created:
                self.report.created += 1
            elif changed:
                self.report.updated += 1
            else:
                self.report.unchanged += 1
            if row.vulnerability:
                self._vulnerabilities.add(Stated(holder["id"], row.line, row.jurisdiction, row.vulnerability,
                                                 counted_unchanged=row.external_id not in plan.created and not changed))
        self._flush(plan)

    def finish(self) -> None:
        """After the last chunk: record the vulnerabilities the file states (their audit events come last)."""
        if self.report.errors:
            return
        recorded, errors = self._vulnerabilities.record()
        self.report.errors.extend(errors)
        self.report.vulnerabilities += len(recorded)
        moved = sum(1 for stated in recorded if stated.counted_unchanged)  # a new state is a change to the row
        self.report.unchanged -= moved
        self.report.updated += moved

    # -- lookups ---------------------------------------------------------------------------------------------

    def _fetch(self, table: Table, columns: tuple[str, ...], external_ids: list[str]) -> dict[str, dict[str, Any]]:
        query = select(*(table.c[name] for name in dict.fromkeys(columns)))
        query = query.where(among(self.session, table.c.external_id, external_ids))
        return {row["external_id"]: dict(row) for row in self.session.execute(query).mappings()}

    def _contacts(self, rows: list[ImportRow], holder_ids: list[int]) -> dict[tuple[str, str], dict[str, Any]]:
        """Every point of the chunk's known cardholders, and the chunk's other addresses wherever registered."""
        query = select(CONTACTS.c.id, CONTACTS.c.cardholder_id, CONTACTS.c.channel, CONTACTS.c.address,
                       *(CONTACTS.c[name] for name in CONTACT_FIELDS),
                       CARDHOLDERS.c.external_id.label("owner"))
        query = query.join(CARDHOLDERS, CARDHOLDERS.c.id == CONTACTS.c.cardholder_id)
        found: dict[tuple[str, str], dict[str, Any]] = {}

        def load(condition: Any) -> None:
            for point in self.session.execute(query.where(condition)).mappings():
                found.setdefault((point["channel"], point["address"]), dict(point))

        if holder_ids:
            load(among(self.session, CONTACTS.c.cardholder_id, holder_ids))
        # Addresses not yet seen may belong to someone else. One query per channel, so the (channel, address)
        # index serves it; on a re-import everything was found above and these are skipped.
        by_channel = {Channel.SMS.value: [r.phone for r in rows],
                      Channel.TELEGRAM.value: [r.telegram_chat_id for r in rows if r.telegram_chat_id]}
        for channel, addresses in by_channel.items():
            missing = [a for a in addresses if (channel, a) not in found]
            if missing:
                load(and_(CONTACTS.c.channel == channel, among(self.session, CONTACTS.c.address, missing)))
        return found

    def _check_addresses(self, row: ImportRow, contacts: dict[tuple[str, str], dict[str, Any]]) -> RowError | None:
        for channel, column, address in _wanted(row):
            point = contacts.get((channel, address))
            if point and point["owner"] != row.external_id:
                return RowError(row.line, column, f"is already registered to cardholder {point['owner']}")
        return None

    # -- planning --------------------------------------------------------------------------------------------

    def _plan_cardholder(self, row: ImportRow, holder: dict[str, Any] | None, plan: _Plan) -> None:
        values = {name: getattr(row, name) for name in CARDHOLDER_FIELDS}
        if holder is None:
            plan.created.add(row.external_id)
            plan.new_holders.append({"external_id": row.external_id, **values, **self._stamps()})
        elif any(holder[k] != v for k, v in values.items()):
            plan.changed.add(row.external_id)
            plan.holder_updates.append({"b_id": holder["id"], **values, "updated_at": self.now})

    def _plan_account(self, row: ImportRow, holder_id: int, account: dict[str, Any] | None, plan: _Plan) -> bool:
        today = self._local_today(row.timezone)
        standing = assess(row.balance_minor, row.minimum_due_minor, row.due_date, today, self.rules)
        dpd, stage = standing.days_past_due, standing.stage
        values: dict[str, Any] = {
            "cardholder_id": holder_id, "product": row.product, "currency": row.currency,
            "balance_minor": row.balance_minor, "minimum_due_minor": row.minimum_due_minor,
            "due_date": row.due_date, "days_past_due": dpd, "stage": stage.value,
        }
        if account is None:
            values.update(stage_changed_at=self.now, touches_in_stage=0)
            plan.new_accounts.append({"external_id": row.external_id, **values, **self._stamps()})
            plan.initial_stages[row.external_id] = (stage.value, dpd)
            return True
        if account["stage"] != stage.value:
            values.update(stage_changed_at=self.now, touches_in_stage=0)  # a new stage starts a new episode
            plan.stage_changes.append(self._stage_change(account["id"], account["stage"], stage.value, dpd))
        else:
            values.update(stage_changed_at=account["stage_changed_at"], touches_in_stage=account["touches_in_stage"])
        if all(account[k] == values[k] for k in ACCOUNT_FIELDS):
            return False
        plan.account_updates.append({"b_id": account["id"], **values, "updated_at": self.now})
        return True

    def _plan_contacts(
        self, row: ImportRow, holder_id: int, contacts: dict[tuple[str, str], dict[str, Any]], plan: _Plan
    ) -> bool:
        changed = False
        for channel, _column, address in _wanted(row):
            point = contacts.get((channel, address))
            values = self._contact_values(row, channel, point)
            if point is None:
                plan.new_contacts.append({"cardholder_id": holder_id, "channel": channel, "address": address,
                                          **values, **self._stamps()})
                changed = True
            elif any(point[k] != v for k, v in values.items()):
                plan.contact_updates.append({"b_id": point["id"], **values, "updated_at": self.now})
                changed = True
            for other in plan.points_of(holder_id, contacts):  # the file's address replaces the channel's others
                if (other["channel"] == channel and other["address"] != address
                        and other["status"] == ContactPointStatus.ACTIVE):
                    retired = {k: other[k] for k in CONTACT_FIELDS}
                    retired.update(status=ContactPointStatus.INVALID.value, status_reason=REPLACED, preferred=False)
                    plan.contact_updates.append({"b_id": other["id"], **retired, "updated_at": self.now})
                    other["status"] = ContactPointStatus.INVALID.value
                    changed = True
        return changed

    def _contact_values(self, row: ImportRow, channel: str, point: dict[str, Any] | None) -> dict[str, Any]:
        old = point or {}
        status, reason = old.get("status", ContactPointStatus.ACTIVE.value), old.get("status_reason")
        if reason == REPLACED:  # the bank gave this number again: it is current once more
            status, reason = ContactPointStatus.ACTIVE.value, None
        values: dict[str, Any] = {"preferred": row.preferred_channel == channel, "status": status,
                                  "status_reason": reason}
        if channel == Channel.TELEGRAM:
            # A chat id only exists once the cardholder has written to the bank's bot, so the bank vouches for it.
            values.update(consent_basis=ConsentBasis.CARDHOLDER_INITIATED.value, verified=True,
                          consent_at=old.get("consent_at") or self.now,
                          verified_at=old.get("verified_at") or self.now)
            return values
        values.update(verified=old.get("verified", False), verified_at=old.get("verified_at"),
                      consent_basis=row.consent_basis, consent_at=None)
        if row.consent_basis is not None:
            if row.consent_date is not None:
                values["consent_at"] = datetime.combine(row.consent_date, time(), _zone(row.timezone))
                values["consent_at"] = values["consent_at"].astimezone(UTC)
            elif old.get("consent_basis") == row.consent_basis and old.get("consent_at"):
                values["consent_at"] = old["consent_at"]  # the same consent, first recorded earlier
            else:
                values["consent_at"] = self.now  # recorded when the bank's file first said so
        return values

    # -- writing ---------------------------------------------------------------------------------------------

    def _insert_cardholders(self, plan: _Plan, holders: dict[str, dict[str, Any]]) -> None:
        new = self._insert_with_ids(CARDHOLDERS, plan.new_holders)
        for holder_id, external_id in new:
            holders[external_id] = {"id": holder_id}
        bulk_insert(self.session, LEDGER, [{"cardholder_id": hid, "contacts_total": 0} for hid, _ in new])

    def _insert_with_ids(self, table: Table, rows: list[dict[str, Any]]) -> list[tuple[int, str]]:
        """Insert, then read back the new ids by external_id (one indexed query instead of RETURNING)."""
        if not rows:
            return []
        bulk_insert(self.session, table, rows)
        query = select(table.c.id, table.c.external_id).where(
            among(self.session, table.c.external_id, [row["external_id"] for row in rows])
        )
        return [(int(i), str(e)) for i, e in self.session.execute(query).tuples()]

    def _flush(self, plan: _Plan) -> None:
        run = self.session.execute
        for account_id, external_id in self._insert_with_ids(ACCOUNTS, plan.new_accounts):
            stage, dpd = plan.initial_stages[external_id]
            plan.stage_changes.append(self._stage_change(account_id, None, stage, dpd))
        for table, updates in ((CARDHOLDERS, plan.holder_updates), (ACCOUNTS, plan.account_updates),
                               (CONTACTS, plan.contact_updates)):
            if updates:
                run(update(table).where(table.c.id == bindparam("b_id")), updates)
        bulk_insert(self.session, CONTACTS, plan.new_contacts)
        bulk_insert(self.session, STAGE_CHANGES, plan.stage_changes)
        self.report.stage_changes += len(plan.stage_changes)

    def _stage_change(self, account_id: int, before: str | None, after: str, dpd: int) -> dict[str, Any]:
        return {"account_id": account_id, "from_stage": before, "to_stage": after, "days_past_due": dpd,
                "changed_at": self.now}

    def _stamps(self) -> dict[str, datetime]:
        return {"created_at": self.now, "updated_at": self.now}

    def _local_today(self, timezone: str) -> date:
        if timezone not in self._today:
            self._today[timezone] = self.now.astimezone(_zone(timezone)).date()
        return self._today[timezone]


@dataclass
class _Plan:
    created: set[str] = field(default_factory=set)
    changed: set[str] = field(default_factory=set)
    new_holders: list[dict[str, Any]] = field(default_factory=list)
    holder_updates: list[dict[str, Any]] = field(default_factory=list)
    new_accounts: list[dict[str, Any]] = field(default_factory=list)
    initial_stages: dict[str, tuple[str, int]] = field(default_factory=dict)
    account_updates: list[dict[str, Any]] = field(default_factory=list)
    new_contacts: list[dict[str, Any]] = field(default_factory=list)
    contact_updates: list[dict[str, Any]] = field(default_factory=list)
    stage_changes: list[dict[str, Any]] = field(default_factory=list)
    _by_holder: dict[int, list[dict[str, Any]]] | None = None

    def points_of(self, holder_id: int, contacts: dict[tuple[str, str], dict[str, Any]]) -> list[dict[str, Any]]:
        if self._by_holder is None:
            self._by_holder = {}
            for point in contacts.values():
                self._by_holder.setdefault(point["cardholder_id"], []).append(point)
        return self._by_holder.get(holder_id, [])


def _wanted(row: ImportRow) -> list[tuple[str, str, str]]:
    """(channel, column, address) for each contact point the row names."""
    wanted = [(Channel.SMS.value, "phone", row.phone)]
    if row.telegram_chat_id:
        wanted.append((Channel.TELEGRAM.value, "telegram_chat_id", row.telegram_chat_id))
    return wanted
