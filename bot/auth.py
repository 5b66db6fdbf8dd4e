"""Agent login, server-side sessions and CSRF protection for the console.

- Passwords: scrypt hashes from configuration (``bot.passwords``).
- Session: a random token in an HttpOnly, SameSite=Strict cookie (Secure in production / over https); only
  its SHA-256 is stored, with an expiry.
- CSRF: state-changing console calls must send ``X-CSRF-Token`` equal to the session's token (given to the
  console page); the login form carries an HMAC-signed token bound to a pre-login cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from bot.keys import AGENTS, SETTINGS, STORE
from bot.pages import render
from bot.passwords import verify_password
from bot.settings import Agent, Settings

SESSION_COOKIE = "shopdesk_session"
LOGIN_COOKIE = "shopdesk_login"
CSRF_HEADER = "X-CSRF-Token"
ADMIN_ONLY = "the analytics dashboard is for admins: ask an admin to give you the admin role"
_DUMMY_HASH = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="


@dataclass(frozen=True)
class AgentSession:
    agent: Agent
    csrf: str
    token_hash: str


AGENT_SESSION = web.RequestKey("agent_session", AgentSession)


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def enabled_agents(app: web.Application) -> list[Agent]:
    """Every agent who may use the console now: the roster (bot.agents_store) where the service runs, the
    configured agents otherwise. Status, assignment and transfer read agents here, never ``settings.agents``."""
    roster = app.get(AGENTS)
    return roster.enabled() if roster is not None else list(app[SETTINGS].agents)


def find_agent(app: web.Application, email: str) -> Agent | None:
    """The enabled agent ``email`` with their current role: the roster (bot.agents_store) where the service
    runs, which honours what admins changed; the configured agents otherwise."""
    roster = app.get(AGENTS)
    if roster is not None:
        return roster.active(email)
    return next((a for a in app[SETTINGS].agents if a.email == email), None)


def authenticate(app: web.Application, email: str, password: str) -> Agent | None:
    """The agent when the password is right and the account enabled; None otherwise (same work either way)."""
    email = email.strip().lower()
    agent = find_agent(app, email)
    ok = verify_password(password, agent.password_hash if agent else _DUMMY_HASH)
    return agent if agent is not None and ok else None


def start_session(request: web.Request, response: web.StreamResponse, agent: Agent) -> None:
    settings = request.app[SETTINGS]
    token = secrets.token_urlsafe(32)
    request.app[STORE].create_session(
        _hash_token(token), agent.email, secrets.token_urlsafe(24), settings.session_ttl_s
    )
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_ttl_s,
        httponly=True,
        samesite="Strict",
        secure=settings.cookie_secure,
        path="/",
    )


def end_session(request: web.Request, response: web.StreamResponse) -> None:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        request.app[STORE].delete_session(_hash_token(token))
    response.del_cookie(SESSION_COOKIE, path="/")


def current_session(request: web.Request) -> AgentSession | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 200:
        return None
    token_hash = _hash_token(token)
    found = request.app[STORE].session(token_hash)
    if found is None:
        return None
    email, csrf = found
    agent = find_agent(request.app, email)
    if agent is None:  # removed from configuration or disabled by an admin since login: the session ends
        request.app[STORE].delete_session(token_hash)
        return None
    return AgentSession(agent, csrf, token_hash)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json_error(status: type[web.HTTPException], message: str) -> web.HTTPException:
    return status(text=f'{{"error": "{message}"}}', content_type="application/json")


def require_agent(handler: Handler) -> Handler:
    """401 without a live session; 403 for a state-changing call without the session's CSRF token."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        session = current_session(request)
        if session is None:
            raise _json_error(web.HTTPUnauthorized, "not logged in or session expired")
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            sent = request.headers.get(CSRF_HEADER, "")
            if not hmac.compare_digest(sent.encode(), session.csrf.encode()):
                raise _json_error(web.HTTPForbidden, "missing or wrong CSRF token")
        request[AGENT_SESSION] = session
        return await handler(request)

    wrapped.__name__ = handler.__name__
    wrapped.__doc__ = handler.__doc__
    return wrapped


def require_admin(handler: Handler) -> Handler:
    """As ``require_agent``, then 403 for an agent without the admin role."""

    async def admin_only(request: web.Request) -> web.StreamResponse:
        if not request[AGENT_SESSION].agent.is_admin:
            raise _json_error(web.HTTPForbidden, ADMIN_ONLY)
        return await handler(request)

    wrapped = require_agent(admin_only)
    wrapped.__name__ = handler.__name__
    wrapped.__doc__ = handler.__doc__
    return wrapped


def admin_page(refusal: str) -> Callable[[Handler], Handler]:
    """For an HTML page only admins see: a redirect to the login page without a live session, the 403 page
    saying ``refusal`` for an agent without the admin role; the handler reads the admin's session with
    ``agent_of``."""

    def decorate(handler: Handler) -> Handler:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            session = current_session(request)
            if session is None:
                raise web.HTTPSeeOther("/console/login")
            if not session.agent.is_admin:
                return render("dashboard_forbidden.html", status=403, message=refusal)
            request[AGENT_SESSION] = session
            return await handler(request)

        wrapped.__name__ = handler.__name__
        wrapped.__doc__ = handler.__doc__
        return wrapped

    return decorate


def agent_of(request: web.Request) -> AgentSession:
    return request[AGENT_SESSION]


# --- login form CSRF -----------------------------------------------------------------------------


def login_csrf(settings: Settings, nonce: str) -> str:
    return hmac.new(settings.session_secret.encode(), f"login:{nonce}".encode(), hashlib.sha256).hexdigest()


def check_login_csrf(request: web.Request, sent: str) -> bool:
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    if not nonce:
        return False
    return hmac.compare_digest(sent.encode(), login_csrf(request.app[SETTINGS], nonce).encode())
