"""nginx in front of the cluster: its config, rendered from the addresses of the parts, and the process.

Two server blocks, each on its own port:

- **rasa** (the one port browsers' traffic reaches, through the bot service's proxy, and the Rasa HTTP API):
  ``/socket.io/`` to the *sticky* upstream — ``hash`` on the ``X-ShopDesk-Client`` header the bot service's
  proxy adds (a keyed hash of the browser's address, the same on the engine.io handshake and every later
  poll or upgrade, where the ``sid`` is not: the server picks it in the handshake's answer), the client address
  without it; everything else (``/webhooks/``, ``/conversations/``, ``/model/``, ``/status``, ``/``) to the
  round-robin upstream: the lock store serialises a conversation's messages wherever they land.
- **actions**: Rasa's action calls (``/webhook``, ``/health``, ``/actions``) to the action-server workers.

A request that could not reach an instance (connection refused: it was killed or restarts) goes to the next
one. A shopper's message that an instance took and then failed on (connection reset: it was killed with the
message in its listen queue — the restart test hit this in the milliseconds after kill -9) goes to the next
instance too (``non_idempotent`` on the Rasa upstream): otherwise the message is lost with a 502. The price: an
instance that dies after saving a turn and before answering makes the other one take the message again (one
duplicate turn, never a lost one). Action calls are never sent twice (no ``non_idempotent`` there: an action
may place an order). No upstream keepalive: a fresh connection to a dead instance is refused before anything is
sent (loopback connects cost well under a millisecond). Standard library only.
"""

from __future__ import annotations

import logging
import os
import pwd
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from scripts.engines import Engine, EngineError, find_binary, spawn, wait_until
from scripts.stack import LOOPBACK

logger = logging.getLogger(__name__)

NGINX_WORKER_USER = "nobody"  # what nginx started as root runs its workers as


class NginxConfigError(ValueError):
    """An address the config would be rendered from is not a host:port."""


@dataclass(frozen=True)
class NginxSite:
    """The ports nginx listens on and the addresses (host:port) of the parts behind it."""

    rasa_port: int
    action_port: int
    rasa_upstreams: tuple[str, ...]
    action_upstreams: tuple[str, ...]
    listen_host: str = LOOPBACK
    max_body: str = "1m"

    def __post_init__(self) -> None:
        for name in ("rasa_upstreams", "action_upstreams"):
            addresses = getattr(self, name)
            if not addresses:
                raise NginxConfigError(f"{name} is empty: nginx needs at least one address")
            for address in addresses:
                check_address(address, name)
        for name in ("rasa_port", "action_port"):
            port = getattr(self, name)
            if not 0 < port < 65536:
                raise NginxConfigError(f"{name}={port!r} is not a TCP port (1-65535)")


def check_address(address: str, what: str) -> None:
    """`address` must be host:port (no scheme, path or spaces: it goes into nginx's config verbatim)."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536 or any(c in address for c in " ;{}/\n\t"):
        raise NginxConfigError(f"{what}: {address!r} is not host:port (e.g. 127.0.0.1:5005)")


def _servers(addresses: tuple[str, ...]) -> str:
    return "\n".join(f"        server {a} max_fails=1 fail_timeout=2s;" for a in addresses)


PROXY_COMMON = """            proxy_http_version 1.1;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_connect_timeout 2s;
            proxy_read_timeout 120s;"""


def render(site: NginxSite, prefix: Path, temp_dir: Path) -> str:
    """The whole nginx.conf: pid, logs and temp files under `prefix` / `temp_dir`, in the foreground."""
    listen = f"{site.listen_host}:"
    return f"""# rendered by scripts/nginx.py: do not edit (it is written again at every start)
worker_processes 1;
daemon off;
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"} warn;
events {{
    worker_connections 1024;
}}
http {{
    access_log {prefix / "access.log"};
    client_body_temp_path {temp_dir / "client_body"};
    proxy_temp_path {temp_dir / "proxy"};
    fastcgi_temp_path {temp_dir / "fastcgi"};
    uwsgi_temp_path {temp_dir / "uwsgi"};
    scgi_temp_path {temp_dir / "scgi"};
    client_max_body_size {site.max_body};
    server_tokens off;

    map $http_upgrade $connection_upgrade {{
        default upgrade;
        "" "";
    }}
    # socket.io must reach one instance for a whole connection: the per-client header the bot's proxy adds
    map $http_x_shopdesk_client $sticky_key {{
        "" $remote_addr;
        default $http_x_shopdesk_client;
    }}
    upstream rasa {{
{_servers(site.rasa_upstreams)}
    }}
    upstream rasa_sticky {{
        hash $sticky_key consistent;
{_servers(site.rasa_upstreams)}
    }}
    upstream actions {{
{_servers(site.action_upstreams)}
    }}

    server {{
        listen {listen}{site.rasa_port};
        location /socket.io/ {{
            proxy_pass http://rasa_sticky;
{PROXY_COMMON}
            proxy_next_upstream error timeout;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
        }}
        location = /nginx-health {{
            return 200 "ok";
        }}
        location / {{
            proxy_pass http://rasa;
{PROXY_COMMON}
            proxy_next_upstream error timeout non_idempotent;  # a message a dying instance took: the next one
            proxy_set_header Connection "";
        }}
    }}
    server {{
        listen {listen}{site.action_port};
        location = /nginx-health {{
            return 200 "ok";
        }}
        location / {{
            proxy_pass http://actions;
{PROXY_COMMON}
            proxy_next_upstream error timeout;  # an action call an instance took is never sent twice
            proxy_set_header Connection "";
        }}
    }}
}}
"""


def nginx_argv(binary: str, prefix: Path) -> list[str]:
    return [binary, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", str(prefix / "error.log")]


def temp_dir_for_workers() -> Path:
    """nginx's temp files (large proxied bodies) in a dir its workers can reach: as root they run as `nobody`,
    who cannot enter 0700 dirs such as pytest's."""
    temp = Path(tempfile.mkdtemp(prefix="sdnginx-"))
    if os.geteuid() == 0:
        user = pwd.getpwnam(NGINX_WORKER_USER)
        os.chown(temp, user.pw_uid, user.pw_gid)
    return temp


def write_config(site: NginxSite, prefix: Path, temp_dir: Path) -> Path:
    prefix.mkdir(parents=True, exist_ok=True)
    path = prefix / "nginx.conf"
    path.write_text(render(site, prefix, temp_dir))
    return path


def check_config(binary: str, prefix: Path) -> None:
    """`nginx -t` on the rendered config; EngineError with nginx's words when it is refused."""
    result = subprocess.run([*nginx_argv(binary, prefix), "-t"], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise EngineError(f"nginx refused {prefix / 'nginx.conf'}:\n{result.stderr}")


def health_ok(port: int, host: str = LOOPBACK) -> bool:
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/nginx-health", timeout=2.0) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


@contextmanager
def nginx_server(site: NginxSite, prefix: Path, timeout_s: float = 20.0) -> Iterator[Engine]:
    """nginx with `site`'s config in `prefix`; the Engine's port and url are the rasa server block's."""
    binary = find_binary("nginx")
    temp = temp_dir_for_workers()
    write_config(site, prefix, temp)
    check_config(binary, prefix)
    log = prefix / "nginx.out"
    url = f"http://{LOOPBACK}:{site.rasa_port}"
    engine = Engine("nginx", LOOPBACK, site.rasa_port, url, spawn(nginx_argv(binary, prefix), log), prefix)
    engine.on_stop.append(lambda: shutil.rmtree(temp, ignore_errors=True))
    try:
        wait_until(lambda: health_ok(site.rasa_port), f"nginx on port {site.rasa_port}", timeout_s,
                   engine.process, prefix / "error.log")  # fmt: skip
        logger.info("nginx ready on %s (actions on port %d)", url, site.action_port)
        yield engine
    finally:
        engine.stop()
