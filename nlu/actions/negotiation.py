"""Hardship, plans and promises. Accord computes every option and records every agreement."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.common import AskSlotAction, step
from actions.verification import parse_slot


def _activating(tracker: Tracker) -> bool:
    return tracker.get_slot("requested_slot") is None


def _topic_text(tracker: Tracker) -> str | None:
    return tracker.get_slot("topic_text")


class ValidateHardshipForm(FormValidationAction):
    def name(self) -> str:
        return "validate_hardship_form"

    async def extract_affordable_amount(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                        domain: dict) -> dict[str, Any]:
        # "I lost my job, can I pay 200 a month?" already answers the form's second question.
        if _activating(tracker) and tracker.get_slot("affordable_amount") is None and _topic_text(tracker):
            value = await parse_slot(dispatcher, tracker, "affordable_amount", _topic_text(tracker), quiet=True)
            return value if value["affordable_amount"] else {}
        return {}

    async def validate_hardship_reason(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                       domain: dict) -> dict[str, Any]:
        return {"hardship_reason": value if isinstance(value, str) and value.strip() else None}

    async def validate_affordable_amount(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                         domain: dict) -> dict[str, Any]:
        if isinstance(value, str) and value.isdigit():
            return {"affordable_amount": value}  # already read by Accord (minor units)
        return await parse_slot(dispatcher, tracker, "affordable_amount", value)


class ValidatePromiseForm(FormValidationAction):
    def name(self) -> str:
        return "validate_promise_form"

    async def extract_promise_date(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: dict) -> dict[str, Any]:
        return await self._from_topic(dispatcher, tracker, "promise_date")

    async def extract_promise_amount(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                     domain: dict) -> dict[str, Any]:
        return await self._from_topic(dispatcher, tracker, "promise_amount")

    @staticmethod
    async def _from_topic(dispatcher: CollectingDispatcher, tracker: Tracker, slot: str) -> dict[str, Any]:
        # "I'll pay 200 next Friday" fills both slots before the form asks anything.
        if _activating(tracker) and tracker.get_slot(slot) is None and _topic_text(tracker):
            value = await parse_slot(dispatcher, tracker, slot, _topic_text(tracker), quiet=True)
            return value if value[slot] else {}
        return {}

    async def validate_promise_date(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: dict) -> dict[str, Any]:
        if isinstance(value, str) and len(value) == 10 and value[4] == "-":
            return {"promise_date": value}  # already an ISO date from Accord
        # When the form starts from the promise itself, a missing date is simply asked for, not complained about.
        return await parse_slot(dispatcher, tracker, "promise_date", value, quiet=_activating(tracker))

    async def validate_promise_amount(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                      domain: dict) -> dict[str, Any]:
        if isinstance(value, str) and value.isdigit():
            return {"promise_amount": value}
        return await parse_slot(dispatcher, tracker, "promise_amount", value)


class ActionAskHardshipReason(AskSlotAction):
    action_name, template_id = "action_ask_hardship_reason", "hardship.ask_reason"


class ActionAskAffordableAmount(AskSlotAction):
    action_name, template_id = "action_ask_affordable_amount", "hardship.ask_amount"


class ActionAskPromiseDate(AskSlotAction):
    action_name, template_id = "action_ask_promise_date", "promise.ask_date"


class ActionAskPromiseAmount(AskSlotAction):
    action_name, template_id = "action_ask_promise_amount", "promise.ask_amount"


class ActionOfferPlan(Action):
    def name(self) -> str:
        return "action_offer_plan"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        amount = tracker.get_slot("affordable_amount")
        return await step(dispatcher, tracker, "hardship", {
            "hardship_type": tracker.get_slot("hardship_type"),
            # Every hardship span the model marked in this conversation; Accord keeps the first it knows.
            "hardship_types": _hardship_spans(tracker),
            "reason": tracker.get_slot("hardship_reason"),
            # The form slot holds what Accord already read from the cardholder's words: integer minor units.
            "affordable_minor": int(amount) if isinstance(amount, str) and amount.isdigit() else None,
        })


def _hardship_spans(tracker: Tracker) -> list[str]:
    values = []
    for event in tracker.events:
        if event.get("event") == "user":
            for entity in (event.get("parse_data") or {}).get("entities") or []:
                if entity.get("entity") == "hardship_type" and isinstance(entity.get("value"), str):
                    values.append(entity["value"])
    return values


class ActionSelectPlan(Action):
    def name(self) -> str:
        return "action_select_plan"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        return await step(dispatcher, tracker, "plan/select", {"text": tracker.latest_message.get("text") or ""})


class ActionConfirmPlan(Action):
    def name(self) -> str:
        return "action_confirm_plan"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        return await step(dispatcher, tracker, "plan/confirm")


class ActionRejectPlan(Action):
    def name(self) -> str:
        return "action_reject_plan"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        return await step(dispatcher, tracker, "plan/reject")


class ActionCounterOffer(Action):
    def name(self) -> str:
        return "action_counter_offer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        return await step(dispatcher, tracker, "plan/counter", {"text": tracker.latest_message.get("text") or ""})


class ActionRecordPromise(Action):
    def name(self) -> str:
        return "action_record_promise"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        return await step(dispatcher, tracker, "promise", {
            "date": str(tracker.get_slot("promise_date") or ""),
            "amount": str(tracker.get_slot("promise_amount") or ""),
        })


class ActionTellBalance(Action):
    def name(self) -> str:
        return "action_tell_balance"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        return await step(dispatcher, tracker, "balance")
