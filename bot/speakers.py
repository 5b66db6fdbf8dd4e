"""Who speaks in a bot message the widget shows: the fields a bot event's metadata adds to its socket.io frame.

Standard library only and Python 3.10-compatible: the Rasa socket.io channel (``bot.rasa_channel``) and the bot
service's reply edge (``bot.reply_edge``) build the same frame from it.
"""

from __future__ import annotations

from typing import Any

SPEAKER_ROLES = ("agent", "notice")  # a person in the console, or a notice about the handoff
SPEAKER_EVENTS = ("queued", "joined", "left")  # the widget's banner: waiting / a person / the bot again


def speaker_fields(metadata: dict[str, Any]) -> dict[str, Any]:
    """``role``, ``agent_name`` and ``event`` for the widget, from ``shopdesk_role``, ``agent_name`` and
    ``shopdesk_event`` in a bot event's metadata (nothing for the bot's own messages)."""
    fields: dict[str, Any] = {}
    if metadata.get("shopdesk_role") in SPEAKER_ROLES:
        fields["role"] = metadata["shopdesk_role"]
        if metadata.get("agent_name"):
            fields["agent_name"] = str(metadata["agent_name"])
    if metadata.get("shopdesk_event") in SPEAKER_EVENTS:
        fields["event"] = metadata["shopdesk_event"]
    return fields
