"""The Rasa process's composition root: `python -m rasa_addons.serve run <rasa run arguments>`.

Run it with Rasa's interpreter (`.venv/rasa/bin/python -m rasa_addons.serve run --enable-api ...`). Before
Rasa's own command line takes over it

1. reads and validates our settings (rasa_addons.settings; a bad value stops the start with a message naming
   the variable) and exports the defaults endpoints.yml expands (ACTION_SERVER_TOKEN, ...);
2. reads `RASA_TOKEN` from the environment and hands it to Rasa's parser in-process, so the token never appears
   on a command line (`ps`, the launcher's logs); `--auth-token` on our command line is refused;
3. binds to 127.0.0.1 unless `RASA_HOST` (or `-i`) says otherwise;
4. caps request bodies (`RASA_MAX_BODY_BYTES`, 64 KB) through Sanic's REQUEST_MAX_SIZE on the app Rasa builds,
   which Sanic enforces from Content-Length / while streaming, before a body is buffered (a JSON 413);
5. redacts emails, phone numbers and street addresses in every log record above DEBUG;
6. makes action-server failures answer `utter_technical_problem` (rasa_addons.action_guard);
7. caps TensorFlow / OpenMP / BLAS threads at `RASA_THREADS` (default 1) and, unless `RASA_FAST_PATHS=0`,
   installs the per-message cost cuts of rasa_addons.speedups (the cached action-answer and events validators) and
   rasa_addons.action_domain (the domain sent to the action server once, then its digest);
8. unless `RASA_FAST_LOAD=0`, loads DIET and TED without tracing a training step (rasa_addons.model_load);
9. unless `RASA_POLICY_GATE=0`, runs TEDPolicy only when its prediction could win (rasa_addons.policy_gate);

then runs Rasa's normal CLI.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any, List, MutableMapping, Optional, Sequence

from rasa_addons import action_domain, model_load, policy_gate, speedups
from rasa_addons.redact import install_log_redaction
from rasa_addons.settings import ENDPOINT_DEFAULTS, RasaSettings, SettingsError, load_settings

logger = logging.getLogger(__name__)

USAGE = "usage: python -m rasa_addons.serve run [rasa run arguments, without --auth-token]"


class UsageError(ValueError):
    """The command line cannot be served."""


def rasa_argv(args: Sequence[str], settings: RasaSettings) -> List[str]:
    """The argument list for Rasa's own parser: our arguments plus the host and the token from settings."""
    if not args or args[0] != "run":
        raise UsageError(USAGE)
    for arg in args:
        if arg == "--auth-token" or arg.startswith("--auth-token=") or arg == "-t":
            raise UsageError(
                "--auth-token is not accepted on the command line: set RASA_TOKEN in the environment"
            )
    argv = ["rasa", *args]
    has_host = any(a in {"-i", "--interface"} or a.startswith("--interface=") for a in args)
    if not has_host:
        argv += ["--interface", settings.host or "127.0.0.1"]
    argv += ["--auth-token", settings.rasa_token]
    return argv


def export_environment(settings: RasaSettings, env: MutableMapping[str, str]) -> None:
    """Export what Rasa and our channels read from the environment: endpoint defaults and the body cap."""
    for name, value in ENDPOINT_DEFAULTS.items():
        env.setdefault(name, value)
    env["SHOPDESK_MAX_BODY_BYTES"] = str(settings.max_body_bytes)


def install_body_limit(max_body_bytes: int) -> None:
    """Cap request bodies on the Sanic app Rasa builds (rasa.core.run.configure_app), with a JSON 413.

    Sanic enforces REQUEST_MAX_SIZE from Content-Length (and while streaming) before the body is buffered; its
    default is 100 MB. The 413 names the limit like the REST channel's own answers do.
    """
    import rasa.core.run as rasa_run
    from sanic import response
    from sanic.exceptions import PayloadTooLarge

    original = rasa_run.configure_app
    if getattr(original, "shopdesk_body_limit", None) is not None:
        return

    def configure_app(*args: Any, **kwargs: Any) -> Any:
        app = original(*args, **kwargs)
        app.config.REQUEST_MAX_SIZE = max_body_bytes

        @app.exception(PayloadTooLarge)
        async def too_large(request: Any, exception: Exception) -> Any:
            return response.json(
                {"error": f"the request body is over the limit of {max_body_bytes} bytes", "field": "body"},
                status=413,
            )

        return app

    configure_app.shopdesk_body_limit = max_body_bytes  # type: ignore[attr-defined]
    rasa_run.configure_app = configure_app


def prepare(args: Sequence[str], env: Optional[MutableMapping[str, str]] = None) -> List[str]:
    """Everything but starting Rasa: validate, export, install the hooks; returns Rasa's argv."""
    env = os.environ if env is None else env
    settings = load_settings(env)
    argv = rasa_argv(args, settings)
    export_environment(settings, env)
    speedups.limit_threads(settings.threads, env)  # before anything imports TensorFlow
    install_log_redaction()

    from rasa_addons import action_guard  # imports Rasa: only once the settings are known to be good

    if settings.fast_paths:
        speedups.install_validator_cache()
        speedups.install_events_validator_cache()
        action_domain.install_domain_digest()
    if settings.fast_load:
        model_load.install_fast_model_load()
    if settings.policy_gate:
        policy_gate.install_policy_gate()
    action_guard.install(settings.action_timeout_s)
    install_body_limit(settings.max_body_bytes)
    return argv


def main(args: Optional[Sequence[str]] = None) -> int:
    args = list(sys.argv[1:] if args is None else args)
    try:
        argv = prepare(args)
    except (SettingsError, UsageError) as error:
        print(f"rasa_addons.serve: {error}", file=sys.stderr)  # noqa: T201
        return 2
    sys.argv = argv  # Rasa's parser reads sys.argv; /proc/<pid>/cmdline keeps the original, token-free line
    from rasa.__main__ import main as rasa_main

    rasa_main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
