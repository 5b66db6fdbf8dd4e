"""SQLite implementation of ``Inbox``: feedback, handoff requests and the verification throttle."""

from __future__ import annotations

from datetime import timedelta

from shop.errors import InvalidInputError
from shop.ids import normalize_order_number
from shop.model import (
    Feedback,
    FeedbackKind,
    HandoffRequest,
)
from shop.sqlite.base import FEEDBACK_KINDS, SqliteBase, clean_text, to_db


class SqliteInbox(SqliteBase):
    """``Inbox`` on SQLite: feedback, handoff requests and the verification throttle."""

    def record_feedback(
        self,
        kind: FeedbackKind,
        text: str,
        order_number: str | None,
        conversation_id: str,
        rating: int | None = None,
    ) -> Feedback:
        if kind not in FEEDBACK_KINDS:
            raise InvalidInputError("feedback kind", kind, FEEDBACK_KINDS)
        body = clean_text("feedback text", text)
        conv = clean_text("conversation_id", conversation_id, max_len=200)
        if rating is not None and (
            isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5
        ):
            raise InvalidInputError("rating", rating, "a whole number 1..5 or None")
        number = normalize_order_number(order_number) if order_number is not None else None
        now = self.now()
        with self.transaction() as conn:
            if number is not None:
                self._load_order(conn, number)
            feedback_id = self.next_id(conn, "feedback")
            conn.execute(
                "INSERT INTO feedback (id, kind, text, order_number, conversation_id, rating, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (feedback_id, kind, body, number, conv, rating, to_db(now)),
            )
        return Feedback(feedback_id, kind, body, number, conv, rating, now)

    def record_handoff_request(self, conversation_id: str, reason: str) -> HandoffRequest:
        conv = clean_text("conversation_id", conversation_id, max_len=200)
        why = clean_text("reason", reason, max_len=500, allow_empty=True)
        now = self.now()
        with self.transaction() as conn:
            handoff_id = self.next_id(conn, "handoff")
            conn.execute(
                "INSERT INTO handoff_requests (id, conversation_id, reason, created_at) VALUES (?, ?, ?, ?)",
                (handoff_id, conv, why, to_db(now)),
            )
        return HandoffRequest(handoff_id, conv, why, now)

    # --- verification throttle -----------------------------------------------------------------
    def record_verification_failure(self, order_number: str, client: str, window_s: int) -> None:
        """One failed verification of ``order_number`` by ``client``; rows older than the window go."""
        number = clean_text("order number", order_number, max_len=40)
        who = clean_text("client", client, max_len=200)
        now = self.now()
        with self.transaction() as conn:
            conn.execute(
                "DELETE FROM verification_failures WHERE failed_at < ?",
                (to_db(now - timedelta(seconds=window_s)),),
            )
            conn.execute(
                "INSERT INTO verification_failures (order_number, client, failed_at) VALUES (?, ?, ?)",
                (number, who, to_db(now)),
            )

    def verification_failures(self, order_number: str, client: str, window_s: int) -> tuple[int, int]:
        """Failed verifications within the last ``window_s`` seconds: (of this order number, by this client)."""
        since = to_db(self.now() - timedelta(seconds=window_s))
        with self.read() as conn:
            by_order = conn.execute(
                "SELECT COUNT(*) FROM verification_failures WHERE order_number = ? AND failed_at >= ?",
                (order_number, since),
            ).fetchone()[0]
            by_client = conn.execute(
                "SELECT COUNT(*) FROM verification_failures WHERE client = ? AND failed_at >= ?",
                (client, since),
            ).fetchone()[0]
        return int(by_order), int(by_client)
