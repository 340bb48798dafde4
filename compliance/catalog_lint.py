"""`accord compliance lint`: the whole wording catalog and the packs' own wording, checked as CI checks them.

Beyond forbidden wording, it renders every approved message template under every pack with long sample values
and the pack's elements added (the first-communication disclosure, the opt-out footer), and checks the result
against the pack's SMS segment limit, so a template too long for a jurisdiction fails here, not at send time.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from compliance.catalog import Template
from compliance.compose import compose, required_elements
from compliance.formatting import CONTEXT_PARAM_TYPES, RenderError
from compliance.packs import Pack
from compliance.sms import sms_length
from compliance.wiring import ComplianceConfig
from core.enums import Channel
from core.money import Money

SAMPLE_CURRENCY = {"CN": "CNY", "US": "USD", "US-MA": "USD", "UK": "GBP"}
SAMPLE_VALUES: dict[str, Any] = {
    "date": date(2026, 9, 30),  # the longest month name in English
    "int": 999,
    "text": "Sample",
    "url": "https://t.me/ExampleBankBot?start=AbCdEf0123456789AbCdEf0123456789",
}


def lint_catalog(config: ComplianceConfig) -> list[str]:
    findings: list[str] = []
    catalog = config.catalog
    for template in catalog:
        where = f"{template.file}: {template.id} ({template.language} v{template.version})"
        findings += [f"{where}: {f.describe()}" for f in config.linter.lint(template.text, template.language)]
        if template.limited_content:
            findings += [f"{where}: {f.describe()}" for f in config.linter.lint_limited(template.text, template.language)]
        findings += [f"{where}: {problem}" for problem in _structure(config, template)]
    for pack in config.packs:
        findings += _pack_wording(config, pack)
        findings += _rendered(config, pack)
    return findings


def _structure(config: ComplianceConfig, template: Template) -> list[str]:
    problems = []
    known = set(template.params) | set(CONTEXT_PARAM_TYPES) | {n for p in config.packs for n in p.phrases}
    for name in template.fields:
        if name not in known:
            problems.append(f"placeholder {{{name}}} is neither declared in params nor filled by the gate")
    if template.limited_content:
        details = [n for n in template.fields if (template.params.get(n) or CONTEXT_PARAM_TYPES.get(n)) in ("money", "date")]
        details += [n for n in template.fields if n in ("account_last4", "days_past_due")]
        if details:
            problems.append(f"limited content uses account details {sorted(set(details))}")
    other = config.catalog.get(template.id, "en" if template.language == "zh" else "zh")
    if template.kind == "message" and other is None:
        problems.append("has no text in the other language (zh and en are both required)")
    elif other is not None and sorted(set(other.fields)) != sorted(set(template.fields)):
        problems.append(f"placeholders differ between languages: {sorted(set(template.fields))} vs {sorted(set(other.fields))}")
    if template.limited_alternative:
        alternative = config.catalog.get(template.limited_alternative, template.language)
        if alternative is None or not alternative.limited_content or not alternative.approved:
            problems.append(f"limited_alternative {template.limited_alternative} is not an approved limited-content template")
        elif not set(template.purposes) <= set(alternative.purposes):
            problems.append(f"limited_alternative {alternative.id} does not serve {[p.value for p in template.purposes]}")
    return problems


def _pack_wording(config: ComplianceConfig, pack: Pack) -> list[str]:
    where = f"{config.packs.files[pack.pack.value].name}"
    texts = [(f"help_resources.{lang}", text, lang) for lang, text in pack.help_resources.items()]
    texts += [(f"phrases.{name}.{lang}", text, lang) for name, by in pack.phrases.items() for lang, text in by.items()]
    return [f"{where}: {key}: {f.describe()}" for key, text, lang in texts for f in config.linter.lint(text, lang)]


def _rendered(config: ComplianceConfig, pack: Pack) -> list[str]:
    findings = []
    catalog = config.catalog
    limit = pack.channels.sms.max_segments
    for template in catalog:
        if template.kind != "message" or not template.approved:
            continue
        where = f"{template.file}: {template.id} ({template.language}) under {pack.pack.value}"
        params = _sample_params(config, pack, template)
        try:
            body = catalog.render(template, params, SAMPLE_CURRENCY[pack.pack.value])
            elements, first = required_elements(
                pack, catalog, language=template.language, channel=Channel.SMS, purpose=template.purposes[0],
                carries_details=not template.limited_content, first_communication=True, params=params)
        except (RenderError, LookupError) as exc:
            findings.append(f"{where}: does not render: {exc}")
            continue
        text = compose(body, elements, language=template.language, first_disclosure=first).text
        findings += [f"{where}: rendered: {f.describe()}" for f in config.linter.lint(text, template.language)]
        length = sms_length(text)
        if length.segments > limit:
            findings.append(f"{where}: {length.segments} SMS segments with sample values, over the limit of {limit}")
    return findings


def _sample_params(config: ComplianceConfig, pack: Pack, template: Template) -> dict[str, Any]:
    currency = SAMPLE_CURRENCY[pack.pack.value]
    params: dict[str, Any] = {**config.catalog.base_params(template.language), **pack.template_params(template.language)}
    params.update({"account_last4": "0042", "days_past_due": 999})
    for name in template.fields:
        kind = template.params.get(name) or CONTEXT_PARAM_TYPES.get(name)
        if name in params or kind is None:
            continue
        params[name] = Money(1_234_567, currency) if kind == "money" else SAMPLE_VALUES[kind]
    return params
