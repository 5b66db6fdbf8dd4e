"""``python -m bot``: run the web service. ``python -m bot hash-password``: hash an agent password."""

from __future__ import annotations

import argparse
import getpass
import logging
import sys

from bot.errors import ConfigError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="run the web service (default)")
    hashing = sub.add_parser("hash-password", help="print a password hash for AGENTS_FILE")
    hashing.add_argument("--stdin", action="store_true", help="read the password from stdin")
    args = parser.parse_args(argv)

    if args.command == "hash-password":
        from bot.passwords import hash_password

        password = sys.stdin.readline().rstrip("\n") if args.stdin else getpass.getpass("password: ")
        print(hash_password(password))
        return 0

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from aiohttp import web

    from bot.app import create_app
    from bot.settings import DEMO_ADMIN_EMAIL, DEMO_AGENT_EMAIL, DEMO_AGENT_PASSWORD, from_env

    try:
        settings = from_env()
    except ConfigError as error:
        print(f"bot: {error}", file=sys.stderr)
        return 2
    print(f"ShopDesk shop page:     {settings.base_url}/", flush=True)
    print(f"ShopDesk agent console: {settings.base_url}/console", flush=True)
    if any(agent.email == DEMO_AGENT_EMAIL for agent in settings.agents):
        print(f"Demo agent login:       {DEMO_AGENT_EMAIL} / {DEMO_AGENT_PASSWORD}", flush=True)
    if any(agent.email == DEMO_ADMIN_EMAIL for agent in settings.agents):
        print(f"Demo admin login:       {DEMO_ADMIN_EMAIL} / {DEMO_AGENT_PASSWORD}", flush=True)
    web.run_app(create_app(settings), host=settings.host, port=settings.port, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
