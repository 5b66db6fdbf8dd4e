"""nginx's rendered config: addresses checked, socket.io sticky, the rest round-robin; nothing is started."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from scripts.nginx import NginxConfigError, NginxSite, render


def site(**overrides: object) -> NginxSite:
    values: dict[str, object] = {
        "rasa_port": 8000,
        "action_port": 8001,
        "rasa_upstreams": ("127.0.0.1:5005", "127.0.0.1:5006"),
        "action_upstreams": ("127.0.0.1:5055",),
    }
    values.update(overrides)
    return NginxSite(**values)  # type: ignore[arg-type]


def block(conf: str, head: str) -> str:
    start = conf.index(head)
    return conf[start : conf.index("}", start)]


def test_socket_io_is_sticky_per_client_and_the_rest_round_robin(tmp_path: Path) -> None:
    conf = render(site(), tmp_path, tmp_path / "tmp")
    sticky = block(conf, "upstream rasa_sticky {")
    assert "hash $sticky_key consistent;" in sticky
    assert "$http_x_shopdesk_client" in block(conf, "map $http_x_shopdesk_client $sticky_key {")
    plain = block(conf, "upstream rasa {")
    assert "hash" not in plain
    assert plain.count("server ") == sticky.count("server ") == 2
    socket_io = block(conf, "location /socket.io/ {")
    assert "proxy_pass http://rasa_sticky;" in socket_io
    assert "Upgrade $http_upgrade" in socket_io, "the websocket transport passes through"
    assert "server 127.0.0.1:5055" in block(conf, "upstream actions {")


def test_every_file_nginx_writes_is_under_the_prefix_or_the_temp_dir(tmp_path: Path) -> None:
    conf = render(site(), tmp_path / "nginx", tmp_path / "tmp")
    paths = re.findall(r"(?:pid|error_log|access_log|_temp_path) (\S+?)[ ;]", conf)
    assert len(paths) == 8
    for path in paths:
        assert path.startswith(str(tmp_path)), path
    assert "daemon off;" in conf


def test_listeners_are_on_the_configured_host_and_ports(tmp_path: Path) -> None:
    conf = render(site(listen_host="10.0.0.2"), tmp_path, tmp_path)
    assert "listen 10.0.0.2:8000;" in conf
    assert "listen 10.0.0.2:8001;" in conf


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"rasa_upstreams": ()}, "rasa_upstreams is empty"),
        ({"rasa_upstreams": ("http://127.0.0.1:5005",)}, "'http://127.0.0.1:5005' is not host:port"),
        ({"action_upstreams": ("127.0.0.1:5055; evil",)}, "is not host:port"),
        ({"action_upstreams": ("127.0.0.1",)}, "'127.0.0.1' is not host:port"),
        ({"rasa_port": 70000}, "rasa_port=70000 is not a TCP port"),
    ],
)
def test_a_bad_address_is_refused_by_name(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(NginxConfigError, match=re.escape(message)):
        site(**overrides)


def test_only_shoppers_messages_are_retried_after_an_instance_took_them(tmp_path: Path) -> None:
    """A message a dying Rasa instance accepted goes to the next one (else it is lost with a 502); an action call
    is never sent twice (an action may place an order); each location says it exactly once (nginx refuses
    duplicates)."""
    conf = render(site(), tmp_path, tmp_path / "tmp")
    rasa_server, action_server = conf.split("    server {")[1:3]
    messages = block(rasa_server, "location / {")
    assert "proxy_pass http://rasa;" in messages
    assert re.findall(r"proxy_next_upstream ([^;]*);", messages) == ["error timeout non_idempotent"]
    for location in (block(rasa_server, "location /socket.io/ {"), block(action_server, "location / {")):
        assert re.findall(r"proxy_next_upstream ([^;]*);", location) == ["error timeout"]
