"""One custom action for action_domain_probe.py, served by the action server's own rasa-sdk (app environment):
it answers with the number of responses in the domain rasa-sdk handed it (from the call or from its cache)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher


class ActionDigestProbe(Action):
    def name(self) -> str:
        return "action_digest_probe"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[Any]:
        dispatcher.utter_message(text=f"responses={len(domain.get('responses') or {})}")
        return []
