"""`make shell`: talk to the running assistant over its REST channel, in the terminal."""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
import uuid


def send(url: str, sender: str, text: str) -> list[dict[str, object]]:
    body = json.dumps({"sender": sender, "message": text}).encode()
    request = urllib.request.Request(
        f"{url.rstrip('/')}/webhooks/rest/webhook", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return list(json.loads(response.read()))


def render(message: dict[str, object]) -> str:
    lines = []
    if message.get("text"):
        lines.append(str(message["text"]))
    buttons = message.get("buttons")
    for button in buttons if isinstance(buttons, list) else []:
        lines.append(f"   [{button.get('title')}]  → type: {button.get('payload')}")
    custom = message.get("custom")
    if isinstance(custom, dict) and custom.get("type") == "product_cards":
        for card in custom.get("cards", []):
            lines.append(f"   • {card.get('title')} — {card.get('price_text', card.get('price'))}")
    if message.get("image"):
        lines.append(f"   (image: {message['image']})")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:5005", help="the Rasa server")
    parser.add_argument("--sender", default=f"shell-{uuid.uuid4().hex[:8]}", help="conversation id")
    args = parser.parse_args()
    print(f"Chatting as {args.sender} with {args.url}. Type /quit to leave.")
    while True:
        try:
            text = input("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if text in {"/quit", "/exit"}:
            return 0
        try:
            replies = send(args.url, args.sender, text)
        except (urllib.error.URLError, OSError) as error:
            print(
                f"cannot reach the assistant at {args.url} ({error}); is `make run` running?", file=sys.stderr
            )
            return 1
        for message in replies:
            print(f"bot> {render(message)}")


if __name__ == "__main__":
    sys.exit(main())
