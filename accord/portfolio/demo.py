"""The demo portfolio: about 200 plausible cardholders across every stage, loaded through the real importer.

Half speak Chinese and live in Asia/Shanghai under CN; half speak English across US zones under US and US-MA
(Boston), with a few in the UK. Rows are generated with a seeded random source, so the same clock gives the same
portfolio, and due dates are placed relative to each cardholder's local today so every stage is populated.
External ids start with DEMO- so demo cardholders are easy to recognise anywhere.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import phonenumbers
from sqlalchemy import func, select

from accord.bootstrap import Container
from accord.portfolio import demo_names as names
from accord.portfolio.importer import ImportReport, import_rows
from accord.portfolio.reader import RawRow
from core.enums import Stage
from core.staging import StageRule
from storage.tables.portfolio import Cardholder

DEMO_SEED = 20261122
DEMO_SIZE = 200
# Out of every 20 cardholders of a language: how many sit in each stage.
STAGE_MIX = (
    (Stage.CURRENT, 3), (Stage.PRE_DUE, 4), (Stage.DPD_1_29, 5), (Stage.DPD_30_59, 3), (Stage.DPD_60_89, 2),
    (Stage.DPD_90_PLUS, 3),
)

# Whole units of each currency: typical outstanding balances, and the smallest monthly card minimum.
AMOUNT_RANGES = {
    "credit_card": {"CNY": (2_000, 60_000), "USD": (600, 18_000), "GBP": (400, 9_000)},
    "personal_loan": {"CNY": (20_000, 300_000), "USD": (3_000, 40_000), "GBP": (2_000, 25_000)},
    "mortgage": {"CNY": (400_000, 3_000_000), "USD": (120_000, 650_000), "GBP": (90_000, 450_000)},
}
CARD_MINIMUM_FLOOR = {"CNY": 100, "USD": 35, "GBP": 25}


@dataclass(frozen=True, slots=True)
class SeedResult:
    seeded: bool
    existing: int
    report: ImportReport | None = None


def seed_demo(container: Container, *, force: bool = False, size: int = DEMO_SIZE) -> SeedResult:
    """Load the demo portfolio when the database has no cardholders (or always, with force)."""
    with container.session_factory() as session:
        existing = session.scalar(select(func.count()).select_from(Cardholder)) or 0
    if existing and not force:
        return SeedResult(seeded=False, existing=existing)
    rows = demo_rows(container.clock.now(), container.stages.rules(), size=size)
    return SeedResult(seeded=True, existing=existing, report=import_rows(container, rows, file="demo"))


def demo_rows(now: datetime, rules: tuple[StageRule, ...], *, size: int = DEMO_SIZE,
              seed: int = DEMO_SEED) -> list[RawRow]:
    """Rows as a bank's file would hold them (strings), numbered as if line 1 were the header."""
    maker = _DemoMaker(random.Random(seed), now, rules)
    zh_count = size // 2
    uk_count = (size - zh_count) * 8 // 100
    ma_count = (size - zh_count) * 14 // 100
    us_count = size - zh_count - uk_count - ma_count
    people = [maker.chinese() for _ in range(zh_count)]
    people += [maker.american(zone, area) for zone, area in _us_zones(us_count)]
    people += [maker.american("America/New_York", names.BOSTON_AREA_CODES, "US-MA") for _ in range(ma_count)]
    people += [maker.british() for _ in range(uk_count)]
    rows = []
    stages = _stage_cycle()
    for index, person in enumerate(people, start=1):
        # Each language gets the same stage mix, whatever its size.
        stage = stages[(index - 1 if index <= zh_count else index - 1 - zh_count) % len(stages)]
        person.update(maker.account(person, stage), external_id=f"DEMO-{index:04d}")
        rows.append(RawRow(index + 1, person))
    return rows


def _stage_cycle() -> list[Stage]:
    return [stage for stage, count in STAGE_MIX for _ in range(count)]


def _us_zones(count: int) -> list[tuple[str, tuple[str, ...]]]:
    total = sum(weight for *_, weight in names.US_ZONES)
    out: list[tuple[str, tuple[str, ...]]] = []
    for zone, areas, weight in names.US_ZONES:
        out += [(zone, areas)] * max(1, round(count * weight / total))
    return (out * 2)[:count]


class _DemoMaker:
    def __init__(self, rng: random.Random, now: datetime, rules: tuple[StageRule, ...]) -> None:
        self.rng = rng
        self.now = now
        self.rules = {rule.stage: rule for rule in rules}
        self.used: set[str] = set()

    def chinese(self) -> dict[str, str]:
        name = self._unique(lambda: self.rng.choice(names.CN_SURNAMES) + self.rng.choice(names.CN_GIVEN))
        phone = self._phone(lambda: "+86" + self.rng.choice(names.CN_MOBILE_PREFIXES)
                            + f"{self.rng.randrange(10**8):08d}")
        return self._person(name, phone, "zh", "Asia/Shanghai", "CN", "CNY")

    def american(self, zone: str, areas: tuple[str, ...], jurisdiction: str = "US") -> dict[str, str]:
        name = self._unique(lambda: f"{self.rng.choice(names.EN_FIRST)} {self.rng.choice(names.EN_LAST)}")
        phone = self._phone(lambda: f"+1{self.rng.choice(areas)}55501{self.rng.randrange(100):02d}")
        return self._person(name, phone, "en", zone, jurisdiction, "USD")

    def british(self) -> dict[str, str]:
        name = self._unique(lambda: f"{self.rng.choice(names.UK_FIRST)} {self.rng.choice(names.UK_LAST)}")
        phone = self._phone(lambda: "+44" + self.rng.choice(names.UK_MOBILE_PREFIXES)
                            + f"{self.rng.randrange(10**6):06d}")
        return self._person(name, phone, "en", "Europe/London", "UK", "GBP")

    def _person(self, name: str, phone: str, language: str, zone: str, jurisdiction: str,
                currency: str) -> dict[str, str]:
        rng = self.rng
        consent = rng.random()
        return {
            "full_name": name, "phone": phone, "language": language, "timezone": zone,
            "jurisdiction": jurisdiction, "currency": currency,
            "telegram_chat_id": self._unique(lambda: str(rng.randrange(10**8, 8 * 10**9))) if rng.random() < 0.8
            else "",
            "sms_consent": "no" if consent < 0.05 else "yes",
            "sms_consent_date": self._day(-rng.randrange(200, 2000)).isoformat() if consent > 0.5 else "",
            "card_last4": f"{rng.randrange(10**4):04d}",
            "birth_year": str(rng.randrange(1958, 2002)),
            "preferred_channel": "",
        }

    def account(self, person: dict[str, str], stage: Stage) -> dict[str, str]:
        rng = self.rng
        dpd = self._dpd(stage)
        roll = rng.random()
        product = "credit_card" if roll < 0.74 else "personal_loan" if roll < 0.95 else "mortgage"
        low, high = AMOUNT_RANGES[product][person["currency"]]
        balance = rng.randrange(low * 100, high * 100)
        if product == "credit_card":
            rate = 10 if person["currency"] == "CNY" else rng.choice((2, 3, 4))  # CN cards ask 10% a month
            monthly = max(CARD_MINIMUM_FLOOR[person["currency"]] * 100, balance * rate // 100)
        elif product == "personal_loan":
            monthly = balance // rng.choice((12, 24, 36))
        else:
            monthly = balance // rng.choice((180, 240, 300))
        missed = max(1, dpd // 30 + 1) if dpd > 0 else 1  # past-due minimums pile up month by month
        minimum = min(balance, monthly * missed)
        today = self.now.astimezone(ZoneInfo(person["timezone"])).date()
        return {"product": product, "balance": _amount(balance), "minimum_due": _amount(minimum),
                "due_date": (today - timedelta(days=dpd)).isoformat()}

    def _dpd(self, stage: Stage) -> int:
        if stage == Stage.CURRENT:
            first = min(rule.min_dpd for rule in self.rules.values())
            return first - self.rng.randrange(5, 25)  # due soon, but not yet in the reminder window
        rule = self.rules[stage]
        upper = rule.max_dpd if rule.max_dpd is not None else rule.min_dpd + 240
        return self.rng.randint(rule.min_dpd, upper)

    def _day(self, offset: int) -> date:
        return self.now.date() + timedelta(days=offset)

    def _unique(self, make: Callable[[], str]) -> str:
        for _ in range(1000):
            value = make()
            if value not in self.used:
                self.used.add(value)
                return str(value)
        raise RuntimeError("demo generator ran out of unique values")  # pragma: no cover

    def _phone(self, make: Callable[[], str]) -> str:
        def valid() -> str:
            while True:
                number = make()
                if phonenumbers.is_valid_number(phonenumbers.parse(number)):
                    return str(number)
        return self._unique(valid)


def _amount(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"
