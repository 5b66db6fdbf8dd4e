"""Rooms across Rasa instances: the socket.io channel shares them through Redis when SOCKETIO_MANAGER_URL is set."""

from __future__ import annotations

from tests.bot.rasa_env import assert_script_passes_in_rasa_env


def test_the_client_manager_follows_the_setting() -> None:
    assert_script_passes_in_rasa_env(
        "from bot.rasa_channel import socketio_manager\n"
        "assert socketio_manager('') is None\n"
        "m = socketio_manager('redis://127.0.0.1:6399/0')\n"
        "assert type(m).__name__ == 'AsyncRedisManager' and m.channel == 'shopdesk-socketio', m\n"
        "try:\n"
        "    socketio_manager('http://user:pw@host:1/')\n"
        "    raise SystemExit('accepted an http URL')\n"
        "except ValueError as e:\n"
        "    assert str(e) == \"SOCKETIO_MANAGER_URL='host:1/' is not valid: expected redis://host:port/db\", e\n"
        "    assert 'pw' not in str(e)\n"
        "print('ok')\n"
    )
