"""The bot service's reverse proxy: only /socket.io/ and /webhooks/ reach Rasa, with a signed client id.

The upstream here is a stand-in that echoes what it receives (the real Rasa behind the proxy is exercised by
the live channel tests and the browser tests, whose widget now goes through this proxy).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestClient

from bot.app import create_app
from bot.settings import Settings
from bot.widget_session import client_id, verified_client
from tests.bot.conftest import FakeRasa


def echo_app() -> web.Application:
    async def echo(request: web.Request) -> web.Response:
        return web.json_response(
            {
                "path": request.path_qs,
                "method": request.method,
                "headers": dict(request.headers),
                "body": (await request.read()).decode(),
            }
        )

    async def socket(request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return await echo(request)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str(
            json.dumps({"origin": request.headers.get("Origin"), "headers": dict(request.headers)})
        )
        async for frame in ws:
            if frame.type == WSMsgType.TEXT:
                await ws.send_str("echo:" + frame.data)
        return ws

    app = web.Application()
    app.router.add_route("*", "/webhooks/{tail:.*}", echo)
    app.router.add_route("*", "/socket.io/", socket)
    app.router.add_route("*", "/conversations/{tail:.*}", echo)
    app.router.add_route("*", "/", echo)
    return app


@pytest.fixture
async def proxied(settings: Settings, aiohttp_server: Any, aiohttp_client: Any) -> TestClient:
    upstream = await aiohttp_server(echo_app())
    configured = dataclasses.replace(settings, rasa_url=str(upstream.make_url("")).rstrip("/"))
    return await aiohttp_client(create_app(configured, rasa=FakeRasa(), sync=False))


async def test_rest_webhook_is_forwarded_without_credentials(proxied: TestClient, settings: Settings) -> None:
    response = await proxied.post(
        "/webhooks/rest/webhook?x=1",
        json={"sender": "s", "message": "hi"},
        headers={
            "Cookie": "shopdesk_session=agent-secret",
            "Authorization": "Bearer agent-secret",
            "X-ShopDesk-Client": "0123456789abcdef." + "0" * 32,  # forged by the client: replaced
            "X-Forwarded-For": "198.51.100.1",
        },
    )
    assert response.status == 200
    seen = await response.json()
    assert seen["path"] == "/webhooks/rest/webhook?x=1" and seen["method"] == "POST"
    assert json.loads(seen["body"]) == {"sender": "s", "message": "hi"}
    headers = {k.lower(): v for k, v in seen["headers"].items()}
    assert "cookie" not in headers and "authorization" not in headers and "x-forwarded-for" not in headers
    forwarded = verified_client(settings.widget_session_secret, headers["x-shopdesk-client"])
    assert forwarded == client_id(settings.widget_session_secret, "127.0.0.1")


async def test_only_the_widget_paths_are_proxied(proxied: TestClient) -> None:
    for path in ("/conversations/abc/tracker", "/model/parse", "/status"):
        response = await proxied.get(path)
        assert response.status == 404, path
        assert "path" not in await response.text()


async def test_oversized_bodies_are_refused(proxied: TestClient) -> None:
    response = await proxied.post("/webhooks/rest/webhook", data=b"x" * (64 * 1024 + 1))
    assert response.status == 413


async def test_socket_io_polling_and_websocket_are_forwarded(proxied: TestClient) -> None:
    polling = await proxied.get(
        "/socket.io/?EIO=4&transport=polling", headers={"Origin": "http://127.0.0.1:8080"}
    )
    assert polling.status == 200
    assert (await polling.json())["path"] == "/socket.io/?EIO=4&transport=polling"
    ws = await proxied.ws_connect(
        "/socket.io/?EIO=4&transport=websocket", headers={"Origin": "http://127.0.0.1:8080"}
    )
    hello = json.loads((await ws.receive()).data)
    assert hello["origin"] == "http://127.0.0.1:8080"  # the Rasa channel checks the browser's Origin
    assert "X-ShopDesk-Client" in hello["headers"]
    await ws.send_str('42["user_uttered",{"message":"hi"}]')
    assert (await ws.receive()).data == 'echo:42["user_uttered",{"message":"hi"}]'
    await ws.close()


async def test_rasa_down_is_a_502(settings: Settings, aiohttp_client: Any, unused_tcp_port: int) -> None:
    configured = dataclasses.replace(settings, rasa_url=f"http://127.0.0.1:{unused_tcp_port}")
    client = await aiohttp_client(create_app(configured, rasa=FakeRasa(), sync=False))
    response = await client.post("/webhooks/rest/webhook", json={"sender": "s", "message": "hi"})
    assert response.status == 502


async def test_oversized_chunked_bodies_are_refused(proxied: TestClient) -> None:
    async def chunks() -> Any:
        for _ in range(20):
            yield b"y" * 8192

    response = await proxied.post("/webhooks/rest/webhook", data=chunks())
    assert response.status == 413
    small = await proxied.post("/webhooks/rest/webhook", data=b"z" * 60_000)
    assert small.status == 200
    assert len((await small.json())["body"]) == 60_000
