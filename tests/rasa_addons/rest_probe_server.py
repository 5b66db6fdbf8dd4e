"""Rasa's own Sanic app (rasa.core.run.configure_app) with our REST channel, for tests/rasa_addons/test_rest_channel.py.

Run with Rasa's interpreter: `.venv/rasa/bin/python tests/rasa_addons/rest_probe_server.py PORT`. The app is built
as serve.py builds Rasa's (same environment, same Sanic config), but the agent only echoes what reached the
dialogue (text, input channel, metadata), so the channel's checks are tested without a trained model.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from rasa_addons.serve import export_environment, install_body_limit
from rasa_addons.settings import load_settings


class EchoAgent:
    """Stands in for Rasa's Agent: answers with what the dialogue would have been given."""

    async def handle_message(self, message: Any) -> None:
        if message.text.startswith("busy:"):  # what a turn whose conversation lock timed out raises
            from rasa.core.lock_store import LockError

            raise LockError(f"could not acquire the lock of {message.sender_id}")
        seen = {"text": message.text, "input_channel": message.input_channel, "metadata": message.metadata}
        await message.output_channel.send_text_message(message.sender_id, json.dumps(seen))


def main() -> None:
    port = int(sys.argv[1])
    settings = load_settings()
    export_environment(settings, os.environ)
    install_body_limit(settings.max_body_bytes)  # as serve.py does

    from rasa.core.run import configure_app

    from rasa_addons.rest_channel import GuardedRestInput

    app = configure_app(
        [GuardedRestInput.from_credentials({"max_message_chars": 5000})], enable_api=False, port=port
    )
    app.ctx.agent = EchoAgent()
    app.run(host="127.0.0.1", port=port, access_log=False, workers=1)


if __name__ == "__main__":
    main()
