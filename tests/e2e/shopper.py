"""A simulated shopper that talks to the real Rasa server over its REST channel."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import aiohttp

EMAIL_QUESTION = re.compile(r"e-?mail", re.IGNORECASE)
ORDER_QUESTION = re.compile(r"order (number|id|no)", re.IGNORECASE)


@dataclass
class Shopper:
    """One conversation: `say` sends a message and returns the bot's replies."""

    session: aiohttp.ClientSession
    rest_url: str
    sender: str
    transcript: list[tuple[str, str]] = field(default_factory=list)

    async def say(self, text: str) -> list[dict[str, Any]]:
        self.transcript.append(("shopper", text))
        async with self.session.post(
            self.rest_url, json={"sender": self.sender, "message": text}
        ) as response:
            assert response.status == 200, f"REST channel answered {response.status} to {text!r}"
            replies: list[dict[str, Any]] = await response.json()
        for reply in replies:
            self.transcript.append(("bot", reply.get("text") or str(reply.get("custom") or reply)))
        return replies

    async def converse(
        self,
        opening: str,
        *,
        email: str | None = None,
        order_id: str | None = None,
        confirm: bool = True,
        extra: dict[str, str] | None = None,
        max_turns: int = 8,
    ) -> list[dict[str, Any]]:
        """Open with `opening`, then answer what the bot asks, each answer at most once.

        Answers an email question with `email`, an order-number question with `order_id`, a yes/no
        button with `/affirm` (or `/deny` when `confirm` is false), and a question matching a regex key
        of `extra` with its value. Returns every reply of the conversation.
        """
        answers: dict[str, str] = dict(extra or {})
        if email:
            answers[EMAIL_QUESTION.pattern] = email
        if order_id:
            answers[ORDER_QUESTION.pattern] = order_id
        buttons = ["/affirm" if confirm else "/deny"]
        replies = await self.say(opening)
        every = list(replies)
        for _ in range(max_turns):
            answer = self._next_answer(replies, answers, buttons)
            if answer is None:
                break
            replies = await self.say(answer)
            every.extend(replies)
        return every

    @staticmethod
    def _next_answer(
        replies: list[dict[str, Any]], answers: dict[str, str], buttons: list[str]
    ) -> str | None:
        if not replies:
            return None
        payloads = [str(b.get("payload", "")) for r in replies for b in (r.get("buttons") or [])]
        if buttons and buttons[0] in payloads:
            return buttons.pop()
        question = str(replies[-1].get("text") or "")
        for pattern in list(answers):
            if re.search(pattern, question, re.IGNORECASE):
                return answers.pop(pattern)
        return None


def all_text(replies: list[dict[str, Any]]) -> str:
    """Everything the shopper was shown, as one string (text, buttons, cards)."""
    parts: list[str] = []
    for reply in replies:
        parts.append(str(reply.get("text") or ""))
        parts.extend(str(b.get("title", "")) for b in reply.get("buttons") or [])
        if reply.get("custom"):
            parts.append(str(reply["custom"]))
    return "\n".join(parts)
