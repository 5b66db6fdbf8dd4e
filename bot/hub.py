"""Pushes console events (queue changes, new transcript lines) to every connected agent websocket."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, Protocol

logger = logging.getLogger(__name__)


class Socket(Protocol):
    @property
    def closed(self) -> bool: ...

    async def send_str(self, data: str) -> None: ...


class Hub:
    def __init__(self) -> None:
        self._sockets: dict[Socket, str] = {}
        self._observers: list[Callable[[dict[str, Any]], None]] = []

    def observe(self, callback: Callable[[dict[str, Any]], None]) -> None:
        """Calls ``callback(event)`` (synchronously, before sending) for every published event."""
        self._observers.append(callback)

    def add(self, socket: Socket, agent_email: str) -> None:
        self._sockets[socket] = agent_email

    def remove(self, socket: Socket) -> None:
        self._sockets.pop(socket, None)

    def online_agents(self) -> set[str]:
        return {email for socket, email in self._sockets.items() if not socket.closed}

    async def publish(self, event: dict[str, Any], to: set[str] | None = None) -> None:
        """Sends ``event`` to every console, or only to the consoles of the agents in ``to``."""
        for observer in self._observers:
            observer(event)
        data = json.dumps(event)
        for socket in list(self._sockets):
            if to is not None and self._sockets.get(socket) not in to:
                continue
            if socket.closed:
                self.remove(socket)
                continue
            try:
                await socket.send_str(data)
            except (ConnectionError, RuntimeError) as error:
                logger.debug("dropping console socket: %s", error)
                self.remove(socket)

    async def disconnect(self, agent_email: str) -> int:
        """Closes the consoles of one agent (e.g. disabled by an admin); how many were open."""
        sockets = [socket for socket, email in self._sockets.items() if email == agent_email]
        for socket in sockets:
            self.remove(socket)
            close = getattr(socket, "close", None)
            if close is not None:
                await close()
        return len(sockets)

    async def close_all(self) -> None:
        for socket in list(self._sockets):
            close = getattr(socket, "close", None)
            if close is not None:
                await close()
        self._sockets.clear()
