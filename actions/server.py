"""The action server: rasa-sdk's own, plus the retrieval models loaded when each worker starts.

    python -m actions.server --actions actions -p 5055        (the arguments of `python -m rasa_sdk`)

Without this the encoder, the indexes and the responder would load on the first shopper question (seconds).
Here every Sanic worker starts loading them in a thread as soon as it serves; requests that arrive before it
finishes wait for the same lock instead of loading a second copy. A failed warm-up is logged and the models load
on first use as before.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from functools import partial
from typing import Any

from rasa_sdk import utils
from rasa_sdk.constants import APPLICATION_ROOT_LOGGER_NAME
from rasa_sdk.endpoint import create_app_for_serve, create_argument_parser, create_ssl_config
from rasa_sdk.executor import ActionExecutor
from sanic import Sanic
from sanic.worker.loader import AppLoader

logger = logging.getLogger("actions.server")  # not __name__: "__mp_main__" in a spawned worker


def warm_up() -> None:
    """Load the retrieval service's encoder, indexes and ranker (the responder when one is trained)."""
    from actions.products import retrieval_service

    started = time.perf_counter()
    try:
        service = retrieval_service()
        service.warm_up()
    except Exception:  # the server still answers; the models load on first use instead
        logger.exception("retrieval warm-up failed; the models load on first use")
        return
    logger.info("retrieval ready in %.1f s (ranker: %s)", time.perf_counter() - started, service.ranker.name)


async def _start_warm_up(app: Sanic, loop: asyncio.AbstractEventLoop) -> None:
    app.ctx.warm_up = loop.run_in_executor(None, warm_up)  # not awaited: the server serves meanwhile


def create_app(action_executor: ActionExecutor, *, loglevel: str | None = None, **kwargs: Any) -> Sanic:
    """rasa-sdk's app with the warm-up listener (module level: Sanic pickles it for each worker, and a
    spawned worker configures its own logging, so what the actions log is seen)."""
    if not logging.getLogger().handlers:
        utils.configure_colored_logging(loglevel)
    app = create_app_for_serve(action_executor, **kwargs)
    app.register_listener(_start_warm_up, "after_server_start")
    return app


def main() -> None:
    parser = create_argument_parser()
    args = parser.parse_args()
    if args.grpc:
        parser.error("--grpc: run `python -m rasa_sdk --grpc` (this entry point serves HTTP)")
    logging.getLogger("matplotlib").setLevel(logging.WARNING)
    utils.configure_colored_logging(args.loglevel)
    utils.configure_file_logging(
        logging.getLogger(APPLICATION_ROOT_LOGGER_NAME),
        args.log_file,
        args.loglevel,
        args.logging_config_file,
    )
    utils.update_sanic_log_level()
    executor = ActionExecutor()
    executor.register_package(args.actions_module or args.actions)
    loader = AppLoader(
        factory=partial(
            create_app,
            executor,
            loglevel=args.loglevel,
            cors_origins=args.cors,
            auto_reload=args.auto_reload,
            endpoints=args.endpoints,
        )
    )
    app = loader.load()
    app.prepare(
        host=os.environ.get("SANIC_HOST", "0.0.0.0"),  # as rasa-sdk reads it
        port=args.port,
        ssl=create_ssl_config(args.ssl_certificate, args.ssl_keyfile, args.ssl_password),
        workers=utils.number_of_sanic_workers(),
    )
    Sanic.serve(primary=app, app_loader=loader)


if __name__ == "__main__":
    main()
