"""bot/rasa_channel.py runs inside Rasa's own environment (Python 3.10): exercised there in a subprocess."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RASA_PYTHON = ROOT / ".venv" / "rasa" / "bin" / "python"

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
    if not RASA_PYTHON.exists():
        pytest.skip("Rasa's environment .venv/rasa is not installed (make setup)")
    result = subprocess.run(
        [str(RASA_PYTHON), "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=180, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")
