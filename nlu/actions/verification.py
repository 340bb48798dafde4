"""Right-party verification: the form asks, Accord reads and checks the answers."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.accord_client import AccordUnavailable, call
from actions.common import UNAVAILABLE, AskSlotAction, say, step


async def parse_slot(dispatcher: CollectingDispatcher, tracker: Tracker, slot: str, text: Any,
               quiet: bool = False) -> dict[str, Any]:
    """Ask Accord to read one form answer; an unreadable one is cleared and Accord's re-ask template said."""
    if not isinstance(text, str) or not text.strip():
        return {slot: None}
    try:
        result = await call(tracker.sender_id, "parse", {"slot": slot, "text": text})
    except AccordUnavailable:
        dispatcher.utter_message(json_message=UNAVAILABLE)
        return {slot: None}
    value = result.get("data", {}).get("value")
    if value is None and not quiet:
        for reply in result.get("replies", []):
            say(dispatcher, reply["template_id"], reask=slot, **reply.get("params", {}))
    return {slot: value}


class ValidateVerificationForm(FormValidationAction):
    def name(self) -> str:
        return "validate_verification_form"

    async def validate_card_last4(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: dict) -> dict[str, Any]:
        return await parse_slot(dispatcher, tracker, "card_last4", value)

    async def validate_birth_year(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: dict) -> dict[str, Any]:
        return await parse_slot(dispatcher, tracker, "birth_year", value)


class ActionAskCardLast4(AskSlotAction):
    action_name, template_id = "action_ask_card_last4", "verify.ask_card_last4"


class ActionAskBirthYear(AskSlotAction):
    action_name, template_id = "action_ask_birth_year", "verify.ask_birth_year"


class ActionVerify(Action):
    def name(self) -> str:
        return "action_verify"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        card, year = tracker.get_slot("card_last4"), tracker.get_slot("birth_year")
        if not card or not year:
            say(dispatcher, "verify.ask_card_last4")
            return []
        return await step(dispatcher, tracker, "verify", {"card_last4": str(card), "birth_year": str(year)})
