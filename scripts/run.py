"""`make run`: start the whole platform on the embedded defaults and keep it running until Ctrl-C.

A process that crashes is restarted with backoff by `scripts.supervise.Supervisor` (why it died is logged);
only Ctrl-C or SIGTERM stops the platform.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from pathlib import Path

from scripts.stack import (
    DEV_ACTION_SERVER_TOKEN,
    DEV_HANDOFF_TOKEN,
    DEV_RASA_TOKEN,
    DEV_VERIFICATION_KEY,
    DEV_WIDGET_SESSION_SECRET,
    LOOPBACK,
    ROOT,
    Stack,
    StackConfig,
    StackError,
)
from scripts.supervise import supervise_until_interrupted

logger = logging.getLogger("shopdesk.run")


def config_from_env() -> StackConfig:
    """The stack's configuration: the environment over the embedded defaults."""
    return StackConfig(
        var_dir=ROOT / "var",
        index_dir=Path(os.environ.get("INDEX_DIR", ROOT / "var" / "index")),
        responder_dir=Path(os.environ.get("RESPONDER_DIR", ROOT / "var" / "responder")),
        sentiment_dir=Path(os.environ.get("SENTIMENT_DIR", ROOT / "var" / "sentiment")),
        rasa_port=int(os.environ.get("RASA_PORT", "5005")),
        action_port=int(os.environ.get("ACTION_SERVER_PORT", "5055")),
        bot_port=int(os.environ.get("BOT_PORT", "8080")),
        chain_port=int(os.environ.get("LEDGER_RPC_PORT", "8545")),
        rasa_token=os.environ.get("RASA_TOKEN") or DEV_RASA_TOKEN,
        handoff_token=os.environ.get("HANDOFF_TOKEN") or DEV_HANDOFF_TOKEN,
        action_token=os.environ.get("ACTION_SERVER_TOKEN") or DEV_ACTION_SERVER_TOKEN,
        widget_session_secret=os.environ.get("WIDGET_SESSION_SECRET") or DEV_WIDGET_SESSION_SECRET,
        verification_key=os.environ.get("VERIFICATION_KEY") or DEV_VERIFICATION_KEY,
        rasa_host=os.environ.get("RASA_HOST") or LOOPBACK,
        action_host=os.environ.get("ACTION_SERVER_HOST") or LOOPBACK,
        bot_host=os.environ.get("BOT_HOST") or LOOPBACK,
        with_bot=(ROOT / "bot" / "__main__.py").exists(),
        with_chain=(ROOT / "ledger" / "node.py").exists(),
    )


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    config = config_from_env()
    stack = Stack(config)
    began = time.monotonic()

    def report(name: str, seconds: float) -> None:
        print(f"  ✔ {name:<14} ready ({seconds:.1f} s)", flush=True)

    def stop(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    print("Starting ShopDesk (logs in var/logs/) ...", flush=True)
    try:
        stack.start(on_ready=report)
    except StackError as error:
        print(f"ShopDesk did not start: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        stack.stop()
        return 130
    print(
        f"""
ShopDesk is up after {time.monotonic() - began:.1f} s.

  Chat in this terminal:   make shell            (in a second terminal)
  REST channel:            POST {config.rest_url}
                           {{"sender": "me", "message": "where is my order SD-100003?"}}
  Rasa HTTP API:           {config.rasa_url}  (token: RASA_TOKEN)
  Action server:           {config.action_url}/health""",
        flush=True,
    )
    if config.with_bot:
        print(
            f"""  Shop with the widget:    {config.bot_url}/
  Agent console:           {config.bot_url}/console
  Demo agent login:        agent@shopdesk.test / shopdesk-demo   (refused when SHOPDESK_ENV=production)""",
            flush=True,
        )
    if config.with_chain:
        print(f"  Chain node (JSON-RPC):   {config.chain_url}", flush=True)
    print("\nPress Ctrl-C to stop everything. A process that crashes is restarted.", flush=True)
    return supervise_until_interrupted(stack, "ShopDesk")


if __name__ == "__main__":
    sys.exit(main())
