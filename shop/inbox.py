"""The inbox aggregate: what conversations leave for people: feedback, handoff requests, failed verifications."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from shop.model import Feedback, FeedbackKind, HandoffRequest


@runtime_checkable
class Inbox(Protocol):
    def record_feedback(
        self,
        kind: FeedbackKind,
        text: str,
        order_number: str | None,
        conversation_id: str,
        rating: int | None = None,
    ) -> Feedback: ...

    def record_handoff_request(self, conversation_id: str, reason: str) -> HandoffRequest: ...

    # --- verification throttle (issue 10) ---
    def record_verification_failure(self, order_number: str, client: str, window_s: int) -> None:
        """Count one failed verification of ``order_number`` (existing or not) by ``client``."""
        ...

    def verification_failures(self, order_number: str, client: str, window_s: int) -> tuple[int, int]:
        """Failures within the last ``window_s`` seconds: (for this order number, by this client)."""
        ...
