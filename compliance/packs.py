"""Jurisdiction policy packs: `config/policies/<PACK>.yaml`, one versioned file per jurisdiction.

Every limit the gate applies comes from here, so a deployment changes a number in a file, never in code. A pack
may `extends:` another (US-MA extends US): the child's keys are merged over the parent's, mappings key by key,
lists and scalars replaced whole. Errors name the file, the key path and the reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import time
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from accord.config_files import ConfigError, read_yaml, validate_model
from core.enums import Channel, ConsentBasis, Jurisdiction, MessagePurpose
from core.protection import Effect, ProtectiveKind

Language = Literal["zh", "en"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ContactHours(_Strict):
    start: time = Field(description="first allowed local wall-clock time (inclusive)")
    end: time = Field(description="local wall-clock time from which contact stops (exclusive)")
    # Answers to the cardholder's own keyword (STOP, HELP, START) are expected at once, at any hour.
    exempt_purposes: tuple[MessagePurpose, ...] = ()
    # A reply within this many minutes of the cardholder's own message may go out of hours: they chose the time.
    reply_grace_minutes: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> ContactHours:
        if not self.start < self.end:
            raise ValueError(f"start {self.start} must be before end {self.end} (windows across midnight are not supported)")
        return self


class Blackouts(_Strict):
    sundays: bool = False
    public_holidays: bool = False
    # "holidays": the `holidays` package for `country`/`subdivision`; "chinesecalendar": the State Council's
    # statutory holidays (with the `holidays` package's CN calendar for years it does not cover yet).
    calendar: Literal["holidays", "chinesecalendar"] = "holidays"
    country: str | None = None
    subdivision: str | None = None
    exempt_purposes: tuple[MessagePurpose, ...] = ()

    @model_validator(mode="after")
    def _country(self) -> Blackouts:
        if self.public_holidays and self.calendar == "holidays" and not self.country:
            raise ValueError("public_holidays with calendar 'holidays' needs a country (e.g. US, GB)")
        return self


class Cap(_Strict):
    name: str = Field(pattern=r"^[a-z0-9_]+$")
    max: int = Field(ge=1, description="at most this many counted contacts ...")
    window_hours: int = Field(ge=1, description="... in any rolling window of this many hours")


class Replies(_Strict):
    """How replies inside a conversation count toward the caps."""

    cardholder_started: Literal["count", "exempt"] = "count"
    bank_started: Literal["count", "exempt"] = "count"
    window_hours: int = Field(default=24, ge=1, description="a reply must follow the cardholder's message within this")
    purposes: tuple[MessagePurpose, ...] = (MessagePurpose.BOT_REPLY, MessagePurpose.OFFICER_REPLY)


class Frequency(_Strict):
    caps: tuple[Cap, ...] = Field(min_length=1)
    exempt_purposes: tuple[MessagePurpose, ...] = ()
    replies: Replies = Replies()

    @model_validator(mode="after")
    def _unique(self) -> Frequency:
        names = [cap.name for cap in self.caps]
        if len(names) != len(set(names)):
            raise ValueError(f"cap names must be unique, got {names}")
        return self


class Consent(_Strict):
    # channel -> the consent bases that allow automated messages on it. A channel not listed needs none.
    required: dict[Channel, tuple[ConsentBasis, ...]] = {}


class OptOut(_Strict):
    confirmations_allowed: int = Field(default=1, ge=0)
    confirmation_within_minutes: int | None = Field(default=None, ge=1)


class Cease(_Strict):
    # What "stop contacting me" means under this pack: a cease request with the statutory exceptions (US Reg F
    # 1006.6(c)), or a plain stop of all contact where the law gives no cease right of its own.
    request_means: Literal["cease", "stop_all_contact"] = "cease"
    acknowledgements_allowed: int = Field(default=1, ge=0)


class StateRule(_Strict):
    """One row of the protective-state matrix: what the state does to each outbound purpose."""

    default: Effect = Field(description="the effect on every purpose not listed under `purposes`")
    purposes: dict[MessagePurpose, Effect] = {}
    # Who may lift the state in the console: any officer, or only a supervisor.
    lift_requires: Literal["officer", "supervisor"] = "officer"
    # After a rejected dispute: days from the validation notice before collection messages resume.
    resume_after_days: int = Field(default=0, ge=0)
    # A state that must be looked at again (a vulnerability): days from its start to its review date.
    review_after_days: int | None = Field(default=None, ge=1)

    def effect(self, purpose: MessagePurpose) -> Effect:
        return self.purposes.get(purpose, self.default)


class Privacy(_Strict):
    # True: an SMS to the phone number the bank holds on record counts as reaching the cardholder.
    registered_phone_counts_as_verified: bool = False


class SenderIdentification(_Strict):
    prefix: str = Field(description="approved template prepended when the text does not name the sender")
    at_start: bool = True


class OptOutInstruction(_Strict):
    footer: str
    channels: tuple[Channel, ...] = (Channel.SMS,)
    skip_purposes: tuple[MessagePurpose, ...] = ()


class Disclosure(_Strict):
    first: str = Field(description="template appended to the first communication that conveys account details")
    later: str = Field(description="template appended to every later one")


class RequiredElements(_Strict):
    sender_identification: SenderIdentification | None = None
    opt_out_instruction: OptOutInstruction | None = None
    debt_collector_disclosure: Disclosure | None = None


class SmsLimits(_Strict):
    max_segments: int = Field(ge=1, le=10)


class TelegramLimits(_Strict):
    max_chars: int = Field(default=4096, ge=1, le=4096)


class ChannelLimits(_Strict):
    sms: SmsLimits
    telegram: TelegramLimits = TelegramLimits()


class Pack(_Strict):
    pack: Jurisdiction
    version: str = Field(min_length=1)
    extends: Jurisdiction | None = None
    name: str
    sources: tuple[str, ...] = ()
    support_phone: str
    contact_hours: ContactHours
    blackouts: Blackouts = Blackouts()
    frequency: Frequency
    consent: Consent = Consent()
    opt_out: OptOut = OptOut()
    cease: Cease = Cease()
    # The matrix: protective state x outbound purpose -> allow, limited content, or block.
    protective_states: dict[ProtectiveKind, StateRule]
    privacy: Privacy = Privacy()
    required_elements: RequiredElements = RequiredElements()
    channels: ChannelLimits
    # Jurisdiction-specific wording the templates use by name, e.g. {credit_bureau}; approved with the pack.
    phrases: dict[str, dict[Language, str]] = {}
    help_resources: dict[Language, str]
    # The language of the bot's answer: the one the cardholder wrote in ("message"), or their profile's.
    reply_language: Literal["message", "profile"] = "message"

    @model_validator(mode="after")
    def _complete(self) -> Pack:
        missing = [kind.value for kind in ProtectiveKind if kind not in self.protective_states]
        if missing:
            raise ValueError(f"protective_states must say what each state allows; missing {missing}")
        for name, texts in self.phrases.items():
            if set(texts) != {"zh", "en"}:
                raise ValueError(f"phrases.{name} needs exactly the languages zh and en")
        if set(self.help_resources) != {"zh", "en"}:
            raise ValueError("help_resources needs exactly the languages zh and en")
        return self

    def effect(self, kind: ProtectiveKind | str, purpose: MessagePurpose) -> Effect:
        """The matrix cell: what an active state of `kind` does to a message of `purpose`."""
        return self.protective_states[ProtectiveKind(kind)].effect(purpose)

    def rule(self, name: str) -> str:
        """The name a decision records for one of this pack's rules, e.g. "US-MA.frequency_cap"."""
        return f"{self._rule_prefix}.{name}"

    @cached_property
    def _rule_prefix(self) -> str:
        # Asked about ten times per decision: an enum's .value is a Python-level property lookup each time.
        return str(self.pack.value)

    def template_params(self, language: str) -> dict[str, str]:
        """Pack-level wording templates may use: support phone, help resources and the pack's phrases."""
        params = {"support_phone": self.support_phone, "help_resources": self.help_resources[language]}  # type: ignore[index]
        params.update({name: texts[language] for name, texts in self.phrases.items()})  # type: ignore[index]
        return params

    def element_templates(self) -> tuple[str, ...]:
        """Template ids the required elements add to messages; the catalog must hold them approved."""
        elements = self.required_elements
        ids: list[str] = []
        if elements.sender_identification:
            ids.append(elements.sender_identification.prefix)
        if elements.opt_out_instruction:
            ids.append(elements.opt_out_instruction.footer)
        if elements.debt_collector_disclosure:
            ids += [elements.debt_collector_disclosure.first, elements.debt_collector_disclosure.later]
        return tuple(ids)


class PackRegistry:
    """Every jurisdiction's pack, loaded once at start."""

    def __init__(self, packs: dict[str, Pack], files: dict[str, Path]) -> None:
        self._packs = packs
        self.files = files

    def get(self, jurisdiction: str) -> Pack | None:
        return self._packs.get(jurisdiction)

    def __iter__(self) -> Iterator[Pack]:
        return iter(self._packs.values())

    def policy_versions(self) -> dict[str, str]:
        return {f"policy.{name}": pack.version for name, pack in sorted(self._packs.items())}


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _raw(directory: Path, name: str, chain: tuple[str, ...] = ()) -> dict[str, Any]:
    path = directory / f"{name}.yaml"
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, found {type(data).__name__}")
    if data.get("pack") != name:
        raise ConfigError(f"{path}: pack: must be {name!r} (the file name), found {data.get('pack')!r}")
    parent = data.get("extends")
    if parent is None:
        return data
    if parent in chain or parent == name:
        raise ConfigError(f"{path}: extends: circular ({' -> '.join((*chain, name, str(parent)))})")
    base = _raw(directory, str(parent), (*chain, name))
    merged = _merge(base, data)
    merged["extends"] = parent  # the child's own identity and version, the parent's rules
    return merged


def load_packs(config_dir: Path) -> PackRegistry:
    directory = config_dir / "policies"
    packs: dict[str, Pack] = {}
    files: dict[str, Path] = {}
    for jurisdiction in Jurisdiction:
        path = directory / f"{jurisdiction.value}.yaml"
        data = _raw(directory, jurisdiction.value)
        packs[jurisdiction.value] = validate_model(path, data, Pack)
        files[jurisdiction.value] = path
    return PackRegistry(packs, files)
