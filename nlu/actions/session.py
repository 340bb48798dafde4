"""Session start and small talk. Small talk needs nothing from Accord beyond the template ids."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, FollowupAction, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.accord_client import AccordUnavailable, call
from actions.common import TemplateAction, ranking, step, turn_language


class ActionSessionStart(Action):
    """Start (or restart) a session with Accord's view of the conversation: a bound chat is already verified."""

    def name(self) -> str:
        return "action_session_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        events: list[EventType] = [SessionStarted()]
        carried = {k: v for k, v in tracker.slots.items() if v is not None and k != "requested_slot"}
        events += [SlotSet(k, v) for k, v in carried.items()]
        try:
            context = await call(tracker.sender_id, "context", method="GET", language=turn_language(tracker))
        except AccordUnavailable:
            context = None
        if context is not None:
            events += [SlotSet("verified", bool(context["verified"])),
                       SlotSet("verification_locked", bool(context["verification_locked"]))]
        events.append(ActionExecuted("action_listen"))
        return events


class ActionGreet(TemplateAction):
    action_name, template_id = "action_greet", "dialogue.greet"


class ActionGoodbye(TemplateAction):
    action_name, template_id = "action_goodbye", "dialogue.goodbye"


class ActionThank(TemplateAction):
    action_name, template_id = "action_thank", "dialogue.you_are_welcome"


class ActionBusy(TemplateAction):
    action_name, template_id = "action_busy", "dialogue.busy"


class ActionWhoWeAre(TemplateAction):
    action_name, template_id = "action_who_we_are", "dialogue.who_we_are"


class ActionHowCanHelp(TemplateAction):
    action_name, template_id = "action_how_can_help", "dialogue.how_can_help"


class ActionFallback(Action):
    """Misunderstood: ask again, or after too many in a row (Accord's limit) hand over to an officer."""

    def name(self) -> str:
        return "action_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        # The ranking lets Accord send a weak distress reading to a person instead of asking again.
        events = await step(dispatcher, tracker, "fallback", {"in_a_row": _fallbacks_in_a_row(tracker) + 1,
                                                              "ranking": ranking(tracker)})
        # Always wait for the cardholder next: a state no policy recognises must not loop through fallbacks.
        if not any(e.get("event") == "pause" for e in events):
            events.append(FollowupAction("action_listen"))
        return events


def _fallbacks_in_a_row(tracker: Tracker) -> int:
    """How many user turns in a row, before the current one, the bot answered with action_fallback."""
    count, expecting = 0, False
    for event in reversed(tracker.events):
        kind, name = event.get("event"), event.get("name")
        if kind == "user":
            expecting = True  # the next action back in time answered this user message
        elif kind == "action" and expecting and name != "action_listen":
            if name != "action_fallback":
                break
            count, expecting = count + 1, False
    # The current user message is the first one met, so its own answer is not counted.
    return count
