"""The socket.io channel in Rasa's Python 3.10: notices in the conversation's language, and the widget told
the conversation's language after each message (``shopdesk_language``)."""

from __future__ import annotations

import textwrap

from tests.bot.rasa_env import assert_script_passes_in_rasa_env

SCRIPT = textwrap.dedent(
    """
    import asyncio, os
    os.environ["WIDGET_SESSION_SECRET"] = "channel-test-secret-0123456789"
    from types import SimpleNamespace
    from rasa.shared.core.events import SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker
    from bot.messages import SHOPPER
    from bot.rasa_channel import ShopDeskSocketIOInput

    channel = ShopDeskSocketIOInput.from_credentials({"rate_limit": 3, "max_message_chars": 20})
    trackers = {}

    class Store:
        broken = False
        reads = 0
        async def retrieve(self, sender_id):
            self.reads += 1
            if self.broken:
                raise ConnectionError("tracker store down")
            return trackers.get(sender_id)

    store = Store()
    app = SimpleNamespace(ctx=SimpleNamespace(agent=SimpleNamespace(tracker_store=store)))
    received = []

    async def on_new_message(message):
        received.append(message)
        if message.text == "请用中文":  # what Rasa does with the detector's entity: sets the slot
            trackers[message.sender_id] = DialogueStateTracker.from_events(message.sender_id, [
                UserUttered(message.text, parse_data={"entities": [{"entity": "language", "value": "zh"}]}),
                SlotSet("language", "zh"),
            ])

    channel.blueprint(on_new_message)
    sio = channel.sio
    sent = []

    async def emit(event, data=None, room=None, **kwargs):
        sent.append((event, data, room))

    async def enter_room(sid, room, namespace=None):
        pass

    sio.emit, sio.enter_room = emit, enter_room
    handlers = sio.handlers["/"]
    environ = {"sanic.request": SimpleNamespace(ip="203.0.113.7", app=app), "REMOTE_ADDR": "127.0.0.1"}

    def notices(sid):
        return [d["text"] for e, d, r in sent if r == sid and e == "bot_uttered" and d.get("role") == "notice"]

    def languages(room):
        return [d["language"] for e, d, r in sent if r == room and e == "shopdesk_language"]

    async def session(sid):
        assert await handlers["connect"](sid, environ, None) is True
        await handlers["session_request"](sid, {})
        return [d for e, d, r in sent if r == sid and e == "session_confirm"][-1]

    async def main():
        # an English page and nothing decided: English notices; the widget is told "en"
        en = await session("en")
        await handlers["user_uttered"]("en", {"message": "x" * 21, "metadata": {"page_language": "en"}})
        assert notices("en") == [SHOPPER["en"]["too_long"].format(size=21, limit=20)], notices("en")
        await handlers["user_uttered"]("en", {"message": "hi", "metadata": {"page_language": "en"}})
        assert languages(en) == ["en"]

        # a Chinese page, nothing decided yet: the page's language
        zh = await session("zh")
        await handlers["user_uttered"]("zh", {"message": "/restart", "metadata": {"page_language": "zh-CN"}})
        assert notices("zh") == [SHOPPER["zh"]["not_allowed"]], notices("zh")

        # an English page, but the conversation switched to Chinese: the tracker's slot wins
        switch = await session("switch")
        await handlers["user_uttered"]("switch", {"message": "请用中文", "metadata": {"page_language": "en"}})
        assert languages(switch) == ["zh"], sent[-3:]
        for _ in range(3):
            await handlers["user_uttered"]("switch", {"message": "好的", "metadata": {"page_language": "en"}})
        assert notices("switch") == [SHOPPER["zh"]["too_fast"]], notices("switch")
        reads = store.reads  # a flood of refused messages reads no tracker
        for _ in range(20):
            await handlers["user_uttered"]("switch", {"message": "好的", "metadata": {"page_language": "en"}})
        assert store.reads == reads and len(notices("switch")) == 21
        assert trackers[switch].get_slot("language") == "zh"

        # the tracker store is down: the page language, and the message still reaches the dialogue
        store.broken = True
        before = len(received)
        down = await session("down")
        await handlers["user_uttered"]("down", {"message": "你好", "metadata": {"page_language": "zh"}})
        assert len(received) == before + 1 and languages(down) == ["zh"]

    asyncio.run(main())
    print("ok")
    """
)


def test_channel_speaks_the_conversations_language_in_rasas_environment() -> None:
    assert_script_passes_in_rasa_env(SCRIPT)
