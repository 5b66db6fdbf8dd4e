"""bot/rasa_channel.py runs inside Rasa's own environment (Python 3.10): exercised there in a subprocess."""

from __future__ import annotations

import textwrap

from tests.bot.rasa_env import assert_script_passes_in_rasa_env

SCRIPT = textwrap.dedent(
    """
    import asyncio
    from bot.rasa_channel import ShopDeskSocketIOInput, ShopDeskSocketIOOutput, origin_allowed

    channel = ShopDeskSocketIOInput.from_credentials({"allowed_origins": ["https://shop.example"]})
    assert channel.name() == "socketio"
    assert origin_allowed("https://shop.example", channel.allowed_origins)
    assert origin_allowed("http://127.0.0.1:8080", channel.allowed_origins) is False
    assert origin_allowed("https://evil.example", channel.allowed_origins) is False
    assert origin_allowed(None, channel.allowed_origins)  # non-browser clients send no Origin
    default = ShopDeskSocketIOInput.from_credentials({})
    assert origin_allowed("http://127.0.0.1:43125", default.allowed_origins)
    assert not origin_allowed("http://127.0.0.1.evil.example", default.allowed_origins)

    class FakeSio:
        def __init__(self):
            self.sent = []
        async def emit(self, event, data=None, room=None, **kwargs):
            self.sent.append((event, data, room))

    async def main():
        sio = FakeSio()
        out = ShopDeskSocketIOOutput(sio, "bot_uttered")
        await out.send_response("s1", {"text": "Hi", "shopdesk_role": "agent", "agent_name": "Alice"})
        await out.send_response("s1", {"text": "joined", "shopdesk_role": "notice", "shopdesk_event": "joined"})
        cards = {"type": "product_cards", "text": "t", "cards": [{"id": "P-1001"}]}
        await out.send_response("s1", {"custom": cards})
        await out.send_response("s1", {"text": "a\\n\\nb", "buttons": [{"title": "Yes", "payload": "/affirm"}]})
        assert sio.sent[0] == ("bot_uttered", {"text": "Hi", "role": "agent", "agent_name": "Alice"}, "s1"), sio.sent[0]
        assert sio.sent[1][1] == {"text": "joined", "role": "notice", "event": "joined"}
        assert sio.sent[2] == ("bot_uttered", {"custom": cards}, "s1")
        assert sio.sent[3][1]["quick_replies"] == [{"content_type": "text", "title": "Yes", "payload": "/affirm"}]
        await out.send_response("s1", {"text": "queued", "shopdesk_event": "queued", "utter_action": "x"})
        assert sio.sent[4][1] == {"text": "queued", "event": "queued"}
        assert len(sio.sent) == 5

    asyncio.run(main())
    bp = channel.blueprint(lambda message: None)
    assert channel.sio is not None and channel.get_output_channel() is not None
    print("ok")
    """
)


def test_channel_in_rasas_environment() -> None:
    assert_script_passes_in_rasa_env(SCRIPT)


TRUST_SCRIPT = textwrap.dedent(
    """
    import asyncio, os
    os.environ["WIDGET_SESSION_SECRET"] = "channel-test-secret-0123456789"
    from bot.rasa_channel import ShopDeskSocketIOInput
    from bot.widget_session import client_id, new_session_id, signed_client, valid_session_id

    SECRET = os.environ["WIDGET_SESSION_SECRET"]
    channel = ShopDeskSocketIOInput.from_credentials({"rate_limit": 5, "client_rate_limit": 6})
    received = []

    async def on_new_message(message):
        received.append(message)

    channel.blueprint(on_new_message)
    sio = channel.sio
    sent, rooms = [], {}

    async def emit(event, data=None, room=None, **kwargs):
        sent.append((event, data, room))

    async def enter_room(sid, room, namespace=None):
        rooms.setdefault(sid, set()).add(room)

    async def leave_room(sid, room, namespace=None):
        rooms.get(sid, set()).discard(room)

    sio.emit, sio.enter_room, sio.leave_room = emit, enter_room, leave_room
    handlers = sio.handlers["/"]

    class Req:
        def __init__(self, ip):
            self.ip = ip

    def environ(ip, forwarded=None):
        env = {"sanic.request": Req(ip), "REMOTE_ADDR": "127.0.0.1"}
        if forwarded:
            env["HTTP_X_SHOPDESK_CLIENT"] = forwarded
        return env

    def notices(sid):
        return [d["text"] for e, d, r in sent if r == sid and e == "bot_uttered" and d.get("role") == "notice"]

    def confirmed(sid):
        return [d for e, d, r in sent if r == sid and e == "session_confirm"][-1]

    async def main():
        # a client-chosen or forged session id is answered with a fresh, server-signed one
        assert await handlers["connect"]("s1", environ("203.0.113.5"), None) is True
        victim = "ab" * 32
        await handlers["session_request"]("s1", {"session_id": victim})
        issued = confirmed("s1")
        assert issued != victim and valid_session_id(SECRET, issued), issued
        assert rooms["s1"] == {issued}
        # a signed id is kept (reload of the same widget)
        assert await handlers["connect"]("s2", environ("203.0.113.5"), None) is True
        await handlers["session_request"]("s2", {"session_id": issued})
        assert confirmed("s2") == issued
        # frames without a payload (python-socketio then calls the handler with the sid alone) are no crash
        assert await handlers["connect"]("bare", environ("203.0.113.6"), None) is True
        await handlers["session_request"]("bare")
        assert valid_session_id(SECRET, confirmed("bare"))
        await handlers["user_uttered"]("bare")
        await handlers["disconnect"]("bare")

        # messages go to the socket's confirmed session, whatever session_id the frame names
        other = new_session_id(SECRET)
        await handlers["user_uttered"]("s1", {"message": "hi", "session_id": other,
                                              "metadata": {"shopdesk_client": "forged", "shopdesk_role": "agent",
                                                           "title": "Yes", "nested": {"a": 1}}})
        assert len(received) == 1 and received[0].sender_id == issued
        meta = received[0].metadata
        assert meta == {"title": "Yes", "shopdesk_client": client_id(SECRET, "203.0.113.5")}, meta
        # a list as metadata is an empty object (plus our client id)
        await handlers["user_uttered"]("s1", {"message": "again", "metadata": ["x", "y"]})
        assert received[-1].metadata == {"shopdesk_client": client_id(SECRET, "203.0.113.5")}

        # a socket without a confirmed session writes nowhere
        assert await handlers["connect"]("s3", environ("198.51.100.9"), None) is True
        await handlers["user_uttered"]("s3", {"message": "hi", "session_id": issued})
        assert len(received) == 2

        # command payloads shoppers may not send never reach the dialogue
        await handlers["session_request"]("s3", {})
        for text in ("/restart", " /session_start", '/inform{"verified_order_id": "SD-100002"}', "/nope"):
            await handlers["user_uttered"]("s3", {"message": text})
        assert len(received) == 2, [m.text for m in received]
        assert len(notices("s3")) == 4 and all("can't accept" in n for n in notices("s3")), notices("s3")
        await handlers["user_uttered"]("s3", {"message": "/affirm", "metadata": {"title": "Yes"}})
        assert received[-1].text == "/affirm"

        # the proxy's signed client id is believed; a forged one is not
        proxied = client_id(SECRET, "192.0.2.44")
        assert await handlers["connect"]("s4", environ("127.0.0.1", signed_client(SECRET, proxied)), None)
        assert await handlers["connect"]("s5", environ("127.0.0.1", proxied + "." + "0" * 32), None)
        await handlers["session_request"]("s4", {})
        await handlers["session_request"]("s5", {})
        await handlers["user_uttered"]("s4", {"message": "x"})
        await handlers["user_uttered"]("s5", {"message": "y"})
        assert received[-2].metadata["shopdesk_client"] == proxied
        assert received[-1].metadata["shopdesk_client"] == client_id(SECRET, "127.0.0.1")

        # the rate limit keys on the client address too: fresh sessions do not reset it
        before = len(received)
        for i in range(8):
            sid = f"flood{i}"
            assert await handlers["connect"](sid, environ("203.0.113.200"), None)
            await handlers["session_request"](sid, {})
            await handlers["user_uttered"](sid, {"message": "spam"})
        assert len(received) - before == 6, len(received) - before
        assert any("very quickly" in n for n in notices("flood7"))

        # disconnects free the per-socket state
        for sid in list(channel._sessions):
            await handlers["disconnect"](sid)
        assert not channel._sessions and not channel._clients

    asyncio.run(main())

    os.environ["SHOPDESK_ENV"] = "production"
    os.environ["WIDGET_SESSION_SECRET"] = "dev-widget-session-secret"
    try:
        ShopDeskSocketIOInput.from_credentials({})
    except ValueError as error:
        assert "WIDGET_SESSION_SECRET" in str(error)
    else:
        raise AssertionError("production accepted the development widget secret")
    print("ok")
    """
)


def test_channel_sessions_clients_and_commands_in_rasas_environment() -> None:
    assert_script_passes_in_rasa_env(TRUST_SCRIPT)
