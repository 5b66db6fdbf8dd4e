"""The action server: rasa-sdk's own, plus the retrieval models loaded when each worker starts.

    python -m actions.server --actions actions -p 5055        (the arguments of `python -m rasa_sdk`)

Without this the encoder, the indexes and the responder would load on the first shopper question (seconds).
Here every Sanic worker starts loading them in a thread as soon as it serves; requests that arrive before it
finishes wait for the same lock instead of loading a second copy. A failed warm-up is logged and the models load
on first use as before.

Only Rasa may run actions: ``/webhook`` and ``/actions`` answer 401 unless the request carries
``Authorization: Bearer $ACTION_SERVER_TOKEN`` (constant-time compare, checked before any action runs);
``/health`` stays open. The server binds to ``ACTION_SERVER_HOST`` (127.0.0.1 unless set).

The composition root (``actions.services``): ``main`` reads and validates every setting and builds
``Services.from_settings`` (the order store opened and seeded, the ledger keys checked) before serving, so a bad,
short or (in production) placeholder value stops the start with exit code 2 and the variable's name. Each Sanic
worker builds its own ``Services`` from the same validated settings in the app factory (a spawned worker shares no
objects with the main process) and ``configure``s the actions with it before the first request.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from functools import partial
from typing import Any

from rasa_sdk import utils
from rasa_sdk.constants import APPLICATION_ROOT_LOGGER_NAME
from rasa_sdk.endpoint import create_app_for_serve, create_argument_parser, create_ssl_config
from rasa_sdk.executor import ActionExecutor
from sanic import Request, Sanic
from sanic.exceptions import SanicException
from sanic.response import HTTPResponse, json
from sanic.worker.loader import AppLoader

from actions.services import Services, configure, is_configured, services
from actions.settings import Settings, SettingsError

logger = logging.getLogger("actions.server")  # not __name__: "__mp_main__" in a spawned worker


def warm_up() -> None:
    """Load the sentiment scorer's lazy parts (VADER's lexicon, snownlp), then the retrieval service's encoder,
    indexes and ranker (the responder when one is trained)."""
    started = time.perf_counter()
    try:
        services().sentiment.predict(["thanks", "谢谢"])
    except Exception:  # the mood action logs its own failures; serving goes on
        logger.exception("sentiment warm-up failed")
    try:
        service = services().retrieval
        service.warm_up()
    except Exception:  # the server still answers; the models load on first use instead
        logger.exception("retrieval warm-up failed; the models load on first use")
        return
    logger.info("retrieval ready in %.1f s (ranker: %s)", time.perf_counter() - started, service.ranker.name)


# Sanic kills the server when a worker has not finished starting within 30 s (WorkerManager.THRESHOLD, in tenths
# of a second). A worker builds its Services (the sentiment model, the order store) before it acknowledges, which
# on a busy small box, beside Rasa loading its model at the same time, can take longer: allow three minutes.
WORKER_START_TENTHS = 1800


def allow_slow_worker_start(tenths: int = WORKER_START_TENTHS) -> None:
    from sanic.worker.manager import WorkerManager
    from sanic.worker.process import WorkerProcess

    WorkerManager.THRESHOLD = max(WorkerManager.THRESHOLD, tenths)
    WorkerProcess.THRESHOLD = max(WorkerProcess.THRESHOLD, tenths)


def limit_threads(threads: int) -> None:
    """Cap torch's intra-op pool and Faiss's OpenMP pool at `threads` (ACTION_THREADS, default 1): by default
    each takes every core, which Rasa needs too."""
    import faiss
    import torch

    torch.set_num_threads(threads)
    faiss.omp_set_num_threads(threads)


async def _start_warm_up(app: Sanic, loop: asyncio.AbstractEventLoop) -> None:
    app.ctx.warm_up = loop.run_in_executor(None, warm_up)  # not awaited: the server serves meanwhile


PROTECTED_PATHS = frozenset({"/webhook", "/actions"})


def bearer_ok(header: str | None, token: str) -> bool:
    """``Authorization: Bearer <token>``, compared in constant time."""
    scheme, _, given = (header or "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


def require_token(app: Sanic, token: str) -> None:
    """Answer 401 on the action endpoints unless the caller holds ``token``; ``/health`` stays open."""

    async def check(request: Request) -> HTTPResponse | None:
        path = request.path.rstrip("/") or "/"
        if path in PROTECTED_PATHS and not bearer_ok(request.headers.get("authorization"), token):
            logger.warning("refused %s %s from %s: missing or wrong token", request.method, path, request.ip)
            return json(
                {"error": "unauthorized: send Authorization: Bearer <ACTION_SERVER_TOKEN>"},
                status=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        return None

    app.on_request(check, priority=100)


async def _internal_error(request: Request, exception: Exception) -> HTTPResponse:
    """Instead of rasa-sdk's handler, which echoes the whole tracker (shopper texts, slots) back."""
    if isinstance(exception, SanicException):  # 404, 405, 413...: say what it is, nothing more
        return json(
            {"error": str(exception.message or type(exception).__name__)}, status=exception.status_code
        )
    logger.error("action server error on %s: %s", request.path, type(exception).__name__)
    logger.debug("action server error details", exc_info=exception)
    return json({"error": "internal error in the action server"}, status=500)


def create_app(
    action_executor: ActionExecutor,
    *,
    token: str,
    settings: Settings | None = None,
    loglevel: str | None = None,
    **kwargs: Any,
) -> Sanic:
    """rasa-sdk's app with the token check and the warm-up listener (module level: Sanic pickles it for each
    worker, and a spawned worker configures its own logging, so what the actions log is seen). A worker process
    builds its ``Services`` here, from the ``settings`` ``main`` validated (tests configure their own)."""
    if not logging.getLogger().handlers:
        utils.configure_colored_logging(loglevel)
    if settings is not None and not is_configured():
        limit_threads(settings.threads)
        configure(Services.from_settings(settings))
    app = create_app_for_serve(action_executor, **kwargs)
    require_token(app, token)
    app.error_handler.cached_handlers[(Exception, None)] = _internal_error  # replaces rasa-sdk's
    app.register_listener(_start_warm_up, "after_server_start")
    return app


def main() -> None:
    parser = create_argument_parser()
    args = parser.parse_args()
    if args.grpc:
        parser.error("--grpc: run `python -m rasa_sdk --grpc` (this entry point serves HTTP)")
    try:
        settings = Settings.from_env()
        limit_threads(settings.threads)
        configure(Services.from_settings(settings))  # every setting checked, the store opened: before serving
    except SettingsError as error:
        parser.error(str(error))
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
            token=settings.action_server_token,
            settings=settings,
            loglevel=args.loglevel,
            cors_origins=args.cors,
            auto_reload=args.auto_reload,
            endpoints=args.endpoints,
        )
    )
    app = loader.load()
    allow_slow_worker_start()
    app.prepare(
        host=settings.action_server_host,
        port=args.port,
        ssl=create_ssl_config(args.ssl_certificate, args.ssl_keyfile, args.ssl_password),
        workers=utils.number_of_sanic_workers(),
    )
    Sanic.serve(primary=app, app_loader=loader)


if __name__ == "__main__":
    main()
