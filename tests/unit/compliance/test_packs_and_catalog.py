"""Policy packs and the wording catalog load into typed models; mistakes name file, key and reason."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from accord.config_files import ConfigError
from compliance.catalog import load_catalog
from compliance.lint import load_linter
from compliance.packs import load_packs
from compliance.wiring import load_compliance
from core.enums import Channel, MessagePurpose
from core.money import Money
from core.protection import Effect

CONFIG = Path(__file__).resolve().parents[3] / "config"
REQUIRED = ["reminder.pre_due", "reminder.dpd_1_29", "reminder.dpd_30_59", "reminder.dpd_60_89",
            "reminder.dpd_90_plus", "reminder.limited", "promise.follow_up", "promise.broken",
            "installment.reminder", "installment.missed", "payment.thanks", "opt_out.confirmation", "help.info",
            "resubscribe.confirmation", "cease.acknowledgement", "binding.link", "holding.reply",
            "distress.support", "escalation.handoff", "plan.confirmation"]


@pytest.fixture
def config_copy(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(CONFIG, target)
    return target


def test_the_four_packs_and_their_numbers() -> None:
    packs = load_packs(CONFIG)
    us, ma, cn, uk = (packs.get(j) for j in ("US", "US-MA", "CN", "UK"))
    assert us and ma and cn and uk
    assert (str(us.contact_hours.start), str(us.contact_hours.end)) == ("08:00:00", "21:00:00")
    assert str(cn.contact_hours.end) == "22:00:00"
    assert [(c.max, c.window_hours) for c in us.frequency.caps] == [(7, 168)]
    assert [(c.max, c.window_hours) for c in ma.frequency.caps] == [(2, 168)]
    assert [(c.max, c.window_hours) for c in cn.frequency.caps] == [(3, 24)]
    assert [(c.max, c.window_hours) for c in uk.frequency.caps] == [(3, 24), (10, 168)]
    # US-MA inherits everything else from US but keeps its own identity and version.
    assert ma.extends is not None and ma.pack.value == "US-MA" and ma.version == "2026.12.1"
    assert ma.consent == us.consent and ma.required_elements == us.required_elements
    assert cn.privacy.registered_phone_counts_as_verified and not us.privacy.registered_phone_counts_as_verified
    assert us.required_elements.debt_collector_disclosure and not uk.required_elements.debt_collector_disclosure
    assert us.effect("cease", MessagePurpose.CEASE_ACKNOWLEDGEMENT) is Effect.ALLOW
    assert cn.effect("cease", MessagePurpose.REMINDER) is Effect.BLOCK
    assert us.consent.required[Channel.SMS]


def test_a_wrong_number_names_file_and_key(config_copy: Path) -> None:
    path = config_copy / "policies" / "US.yaml"
    path.write_text(path.read_text("utf-8").replace("{name: per_7_days, max: 7", "{name: per_7_days, max: 0"), "utf-8")
    with pytest.raises(ConfigError, match=r"US\.yaml: frequency\.caps\.0\.max: Input should be greater than or equal to 1"):
        load_packs(config_copy)


def test_an_override_in_the_child_pack_is_validated_against_the_merged_pack(config_copy: Path) -> None:
    path = config_copy / "policies" / "US-MA.yaml"
    path.write_text(path.read_text("utf-8") + 'contact_hours: {start: "22:00"}\n', "utf-8")
    with pytest.raises(ConfigError, match=r"US-MA\.yaml: contact_hours: Value error, start 22:00:00 must be before end"):
        load_packs(config_copy)


def test_a_pack_must_be_named_like_its_file(config_copy: Path) -> None:
    path = config_copy / "policies" / "UK.yaml"
    path.write_text(path.read_text("utf-8").replace("pack: UK", "pack: US"), "utf-8")
    with pytest.raises(ConfigError, match=r"UK\.yaml: pack: must be 'UK'"):
        load_packs(config_copy)


def test_every_required_template_exists_approved_in_both_languages() -> None:
    catalog = load_compliance(CONFIG).catalog
    for template_id in REQUIRED:
        for language in ("zh", "en"):
            template = catalog.get(template_id, language)
            assert template is not None and template.approved, (template_id, language)
            assert template.approver and template.approved_at and template.version >= 1
    tones = {t.id: t.tone for t in catalog if t.id.startswith("reminder.dpd") or t.id == "reminder.pre_due"}
    assert [tones[i].value for i in REQUIRED[:5]] == ["gentle", "gentle", "firm", "serious", "final"]  # type: ignore[union-attr]


def test_a_new_file_adds_templates_and_a_duplicate_id_names_both_files(config_copy: Path) -> None:
    extra = config_copy / "templates" / "zz_dialogue_extra.yaml"
    extra.write_text(
        "templates:\n  - id: verify.ask\n    purposes: [bot_reply]\n    limited_content: true\n"
        "    en: {version: 1, status: draft, text: '{sender}: Please reply with the last 4 digits.'}\n"
        "    zh: {version: 1, status: draft, text: '【{sender}】请回复卡号后四位。'}\n", "utf-8")
    catalog = load_catalog(config_copy, load_linter(config_copy))
    draft = catalog.get("verify.ask", "en")
    assert draft is not None and not draft.approved
    extra.write_text(extra.read_text("utf-8").replace("verify.ask", "help.info"), "utf-8")
    with pytest.raises(ConfigError, match=r"zz_dialogue_extra\.yaml: template help\.info is already defined in .*system\.yaml"):
        load_catalog(config_copy, load_linter(config_copy))


def test_an_approved_template_needs_an_approver(config_copy: Path) -> None:
    path = config_copy / "templates" / "system.yaml"
    path.write_text(path.read_text("utf-8").replace('      approver: "compliance:chen.min"\n', "", 1), "utf-8")
    with pytest.raises(ConfigError, match=r"system\.yaml: templates\.0\.zh: Value error, an approved template needs approver"):
        load_catalog(config_copy, load_linter(config_copy))


def test_placeholders_are_formatted_in_the_message_language() -> None:
    catalog = load_compliance(CONFIG).catalog
    params = {"sender": "Example Bank", "amount": Money(123_456, "CNY"), "promised_date": date(2026, 12, 1)}
    zh = catalog.get("promise.follow_up", "zh")
    en = catalog.get("promise.follow_up", "en")
    assert zh and en
    assert "¥1,234.56" in catalog.render(zh, {**params, "sender": "示例银行"}) and "2026年12月1日" in catalog.render(
        zh, {**params, "sender": "示例银行"})
    text = catalog.render(en, {**params, "amount": {"minor": 123_456, "currency": "USD"}, "promised_date": "2026-12-01"})
    assert "$1,234.56" in text and "December 1, 2026" in text


def test_a_missing_or_wrong_placeholder_is_a_clear_error() -> None:
    catalog = load_compliance(CONFIG).catalog
    en = catalog.get("promise.follow_up", "en")
    assert en
    with pytest.raises(ValueError, match="needs parameter amount"):
        catalog.render(en, {"sender": "X", "promised_date": "2026-12-01"})
    with pytest.raises(ValueError, match="parameter amount: expected money"):
        catalog.render(en, {"sender": "X", "promised_date": "2026-12-01", "amount": 12.5})
    with pytest.raises(ValueError, match="is not an ISO date"):
        catalog.render(en, {"sender": "X", "promised_date": "1/12/2026", "amount": Money(1, "USD")})
