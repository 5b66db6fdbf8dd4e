"""``POST /api/widget/csat``: a shopper's 1–5 rating of a conversation, stored once and written to Rasa's tracker.

The widget (bot/static/widget_csat.js) asks when a conversation ends — goodbye, a resolved task, an agent's
hand-back, inactivity (docs/csat.md) — and posts ``{"survey_id", "rating", "comment", "trigger"}`` with the
widget session in the ``X-ShopDesk-Session`` header, as ``GET /api/widget/history`` does. The server decides
the rest: ``by`` ("agent" when a person took the conversation since its last rating — the handoff store knows —
else "bot"), ``handoff_id`` and the language (Rasa's tracker, ``bot.language``).

Answers: 201 stored; 400 with field errors (rating not an integer from 1 to 5, comment not text or over 1,000
characters, survey id or trigger malformed); 401 without a session; 403 for a session our servers did not sign
or a foreign Origin; 409 "already rated" for a second rating of the same survey or of the same episode (no
shopper message since the last rating); 429 when a client posts too fast.

The rating is stored first; then ``SlotSet("csat", …)`` is appended to the tracker (Rasa's tracker events API,
``bot.rasa_client``) so the event broker publishes it to analytics. When Rasa is unreachable the rating stays
stored with its tracker write pending, and ``CsatTrackerWriter`` retries it (exponential backoff) from the
service's background loop.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from bot.clients import client_key
from bot.csat_store import (
    MAX_COMMENT_CHARS,
    MAX_RATING,
    MIN_RATING,
    TRIGGERS,
    AlreadyRatedError,
    CsatStore,
    RatedBy,
    Rating,
    slot_value,
)
from bot.errors import RasaError
from bot.keys import RASA, SETTINGS, STORE
from bot.language import decided_language, normalize_language
from bot.rasa_client import RasaApi
from bot.ratelimit import RateLimiter
from bot.validate import bad_request, json_object
from bot.widget_session import SESSION_ID_RE, valid_session_id
from rasa_addons.redact import redact_text

logger = logging.getLogger(__name__)

routes = web.RouteTableDef()

CSAT_STORE = web.AppKey("csat_store", CsatStore)
CSAT_LIMITER = web.AppKey("csat_limiter", RateLimiter)
SESSION_HEADER = "X-ShopDesk-Session"
SLOT = "csat"
SURVEY_ID_RE = re.compile(r"[A-Za-z0-9_-]{8,64}")
RETRY_FIRST_S = 30.0
RETRY_MAX_S = 3600.0
# The custom payload that makes the widget ask (domain/csat.yml documents the markers on the domain's responses).
CSAT_ASK_HANDBACK = {"shopdesk": "csat", "end": "handback"}


def _json_error(status: type[web.HTTPException], message: str, **extra: object) -> web.HTTPException:
    return status(text=json.dumps({"error": message, **extra}), content_type="application/json")


def slot_event(rating: Rating) -> dict[str, Any]:
    """The tracker event that carries a rating into Rasa (and from there the event broker and analytics).

    The comment leaves this service with email addresses, phone numbers and street addresses redacted
    (``rasa_addons.redact``, as the tracker store redacts what shoppers type); the ratings table keeps it whole,
    as the handoff transcripts beside it do.
    """
    value = dict(slot_value(rating))
    value["comment"] = redact_text(rating["comment"])
    return {
        "event": "slot",
        "name": SLOT,
        "value": value,
        "timestamp": rating["created_at"],
    }


def validate_body(body: Mapping[str, Any]) -> tuple[str, int, str, str, str | None]:
    """(survey_id, rating, comment, trigger, language hint) or a 400 naming every bad field."""
    errors: dict[str, str] = {}
    valid_range = f"an integer from {MIN_RATING} to {MAX_RATING}"
    rating = body.get("rating")
    if rating is None:
        errors["rating"] = f"required: {valid_range}"
    elif isinstance(rating, bool) or not isinstance(rating, int):
        errors["rating"] = f"must be {valid_range} (got {str(rating)[:20]!r})"
    elif not MIN_RATING <= rating <= MAX_RATING:
        errors["rating"] = f"must be {valid_range} (got {rating})"
    survey_id = body.get("survey_id")
    if not isinstance(survey_id, str) or not SURVEY_ID_RE.fullmatch(survey_id):
        errors["survey_id"] = "required: 8 to 64 letters, digits, '-' or '_'"
    comment = body.get("comment")
    if comment is None:
        comment = ""
    elif not isinstance(comment, str):
        errors["comment"] = f"must be text of at most {MAX_COMMENT_CHARS} characters"
        comment = ""
    else:
        comment = comment.strip()
        if len(comment) > MAX_COMMENT_CHARS:
            errors["comment"] = f"at most {MAX_COMMENT_CHARS} characters (got {len(comment)})"
        else:
            try:
                comment.encode("utf-8")
            except UnicodeEncodeError:
                errors["comment"] = "must be valid Unicode text (it has a lone surrogate)"
    trigger = body.get("trigger")
    if trigger not in TRIGGERS:
        errors["trigger"] = f"required: one of {', '.join(TRIGGERS)} (got {str(trigger)[:20]!r})"
    if errors:
        raise bad_request(errors)
    assert isinstance(rating, int)  # checked above
    return str(survey_id), rating, comment, str(trigger), normalize_language(body.get("language"))


def _session(request: web.Request) -> str:
    """The widget session of this request: 401 without one, 403 for one our servers did not sign."""
    origin = request.headers.get("Origin")
    if origin is not None and origin.rstrip("/") not in request.app[SETTINGS].origins:
        raise _json_error(web.HTTPForbidden, "foreign Origin")
    session_id = request.headers.get(SESSION_HEADER)
    if not session_id:
        raise _json_error(web.HTTPUnauthorized, f"no widget session: send it in the {SESSION_HEADER} header")
    if not SESSION_ID_RE.fullmatch(session_id) or not valid_session_id(
        request.app[SETTINGS].widget_session_secret, session_id
    ):
        raise _json_error(web.HTTPForbidden, "unknown session; ask for a new one")
    return session_id


def _last_user_ts(events: list[dict[str, Any]]) -> float | None:
    stamps = [
        float(e["timestamp"])
        for e in events
        if isinstance(e, dict) and e.get("event") == "user" and isinstance(e.get("timestamp"), (int, float))
    ]
    return max(stamps) if stamps else None


@routes.post("/api/widget/csat")
async def rate(request: web.Request) -> web.Response:
    session_id = _session(request)
    if not request.app[CSAT_LIMITER].allow(client_key(request)):
        raise _json_error(web.HTTPTooManyRequests, "too many requests")
    survey_id, score, comment, trigger, hint = validate_body(await json_object(request))
    store, handoffs = request.app[CSAT_STORE], request.app[STORE]
    already = _json_error(
        web.HTTPConflict,
        "already rated",
        detail="this conversation was rated; thank you",
        survey_id=survey_id,
    )
    if any(r["survey_id"] == survey_id for r in store.for_conversation(session_id)):
        raise already
    last_rated = store.last_rated_at(session_id)
    try:
        events: list[dict[str, Any]] | None = await request.app[RASA].tracker_events(session_id)
    except RasaError as error:  # the rating is still taken; its tracker write is retried later
        logger.warning("CSAT: could not read the tracker (%s); rating without it", error.status)
        events = None
    language = hint
    if events is not None:
        last_user = _last_user_ts(events)
        if last_user is None:
            raise _json_error(web.HTTPConflict, "nothing to rate yet: the conversation has no message")
        if last_rated is not None and last_user <= last_rated:
            raise already  # one rating per episode: nothing was said since the last one
        decided, page = decided_language(reversed(events))
        language = decided or page or hint
    if store.last_rated_at(session_id) != last_rated:  # another rating won while the tracker was read
        raise already
    handoff = handoffs.handled_since(session_id, last_rated or 0.0)
    by: RatedBy = "agent" if handoff is not None else "bot"
    if language is None and handoff is not None:
        language = normalize_language(handoff["language"])
    try:
        rating = store.add(
            session_id,
            survey_id,
            score,
            comment,
            by,
            language or "en",
            handoff["id"] if handoff is not None else None,
            trigger,
        )
    except AlreadyRatedError:
        raise already from None
    logger.info("CSAT %s by=%s trigger=%s", rating["rating"], by, trigger)
    written = await write_to_tracker(store, request.app[RASA], rating)
    return web.json_response(
        {
            "status": "stored",
            "tracker": "written" if written else "pending",
            "by": by,
            "language": rating["language"],
        },
        status=201,
    )


async def write_to_tracker(store: CsatStore, rasa: RasaApi, rating: Rating) -> bool:
    """Appends ``SlotSet("csat", …)`` for a stored rating; on failure schedules a retry (exponential backoff)."""
    try:
        await rasa.append_events(rating["conversation_id"], [slot_event(rating)])
    except RasaError as error:
        delay = min(RETRY_FIRST_S * 2 ** rating["tracker_attempts"], RETRY_MAX_S)
        logger.warning("CSAT: tracker write failed (%s); retrying in %.0f s", error.status, delay)
        store.mark_failed(rating["id"], delay)
        return False
    store.mark_written(rating["id"])
    return True


class CsatTrackerWriter:
    """Retries the tracker writes Rasa missed (run every ``interval_s`` by the service's background loop)."""

    def __init__(self, store: CsatStore, rasa: RasaApi) -> None:
        self.store = store
        self.rasa = rasa

    async def retry_pending(self) -> int:
        """Writes what is due; returns how many reached Rasa. Stops at the first failure (Rasa is down)."""
        written = 0
        for rating in self.store.pending_tracker_writes():
            if not await write_to_tracker(self.store, self.rasa, rating):
                break
            written += 1
        if written:
            logger.info("CSAT: %s pending tracker writes reached Rasa", written)
        return written
