"""The shipped nginx config (deploy/nginx.conf), run by the real nginx in front of a real server.

The server is the Procfile's web process with ``PROXY_COUNT=1``, as in docker-compose.yml;
nginx is the shipped site config with the TLS example uncommented (``tests/support/nginx.py``).
What is checked is what the config is for: websockets upgrade through both server blocks,
the replica sees the scheme (HSTS over TLS only) and the address nginx saw, not one a client
wrote into X-Forwarded-For, and the per-address request and connection limits bite, with
the API's JSON error and a Retry-After.
"""

from __future__ import annotations

import json
import re
import ssl
import warnings

import pytest
import requests
import socketio
import urllib3
import websocket

from bench.live import procfile_web
from tests.support import nginx
from tests.support.server_process import TEACHER_HEADERS, TEACHER_TOKEN, running_server
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow
PROXY_MESSAGE = "Too many requests from this address; try again in a second."
SERVER_LOG: list = []


@pytest.fixture(scope="module")
def upstream(tmp_path_factory):
    settings = {
        "PROXY_COUNT": "1",
        # Small enough that a few API calls spend it (the forged-address test); pages are not counted.
        "REST_RATE_LIMIT_PER_SECOND": "2",
        "REST_RATE_LIMIT_BURST": "10",
        # Polling handshakes are connections: the proxy, not the server, is to refuse the flood here.
        "MAX_CONNECTIONS_PER_ADDRESS": "1000",
    }
    data = tmp_path_factory.mktemp("proxied")
    with running_server(data, procfile_web(), **settings) as base:
        SERVER_LOG.append(data / "server.log")
        yield int(base.rsplit(":", 1)[1])


@pytest.fixture
def proxy(tmp_path, upstream):
    """A fresh nginx per test: its limit zones start empty."""
    process, http, https = nginx.start(tmp_path / "nginx", upstream)
    yield http, https
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(autouse=True)
def quiet_self_signed():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
        yield


def watch_through(base: str) -> dict:
    """Open a websocket-only Socket.IO connection through the proxy and watch the live feed: the answer.

    Spoken by hand (Engine.IO 4 over one websocket, in one thread): python-socketio's client reads
    and writes its socket from two threads, and over TLS about one ``watch`` in a hundred never got
    its answer (2 of 330 through the TLS block; 0 of 350 over plain http, direct or proxied).
    """
    url = base.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
    connection = websocket.create_connection(url, timeout=10, sslopt={"cert_reqs": ssl.CERT_NONE})
    try:
        assert connection.recv().startswith("0{"), "the Engine.IO open packet"
        connection.send("40" + json.dumps({"token": TEACHER_TOKEN}))
        assert connection.recv().startswith("40{"), "connected to the default namespace"
        connection.send('421["watch"]')
        answer = connection.recv()
        assert answer.startswith("431"), answer
        return json.loads(answer[3:])[0]
    finally:
        connection.close()


def test_plain_http_reaches_the_server_without_hsts(proxy):
    http, _ = proxy
    response = requests.get(f"{http}/api/openapi.json", timeout=10)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in response.headers


def test_the_tls_block_serves_and_the_server_sends_hsts_once(proxy):
    _, https = proxy
    response = requests.get(f"{https}/", verify=False, timeout=10)
    assert response.status_code == 200
    assert response.raw.headers.getlist("Strict-Transport-Security") == ["max-age=31536000; includeSubDomains"]
    assert "wss://127.0.0.1:" in response.headers["Content-Security-Policy"], "the page may open its websocket"


def test_a_client_cannot_claim_https_through_the_plain_block(proxy):
    http, _ = proxy
    response = requests.get(f"{http}/", headers={"X-Forwarded-Proto": "https"}, timeout=10)
    assert "Strict-Transport-Security" not in response.headers


@pytest.mark.parametrize("block", ["http", "https"])
def test_websockets_upgrade_through_the_proxy(proxy, block):
    base = proxy[0] if block == "http" else proxy[1]
    assert watch_through(base) == {"ok": True, "room": ""}


def test_the_proxy_limits_page_and_api_requests_per_address(proxy):
    http, _ = proxy
    answers = [requests.get(f"{http}/", timeout=10) for _ in range(80)]  # burst 40 at 20 r/s
    limited = [answer for answer in answers if answer.status_code == 429]
    assert limited, "past the burst the proxy answers 429"
    assert all(answer.status_code in (200, 429) for answer in answers)
    refusal = limited[0]
    assert refusal.json() == {"error": {"code": "rate_limited", "message": PROXY_MESSAGE}}
    assert refusal.headers["Retry-After"] == "1"
    assert refusal.headers["Content-Type"] == "application/json"


def test_the_proxy_limits_socket_io_requests_per_address(proxy):
    http, _ = proxy
    handshake = f"{http}/socket.io/?EIO=4&transport=polling"
    codes = [requests.get(handshake, timeout=10).status_code for _ in range(160)]  # burst 100 at 20 r/s
    assert codes[0] == 200
    assert 429 in codes


def test_the_proxy_caps_connections_per_address(tmp_path, upstream):
    site = nginx.CONFIG.read_text().replace("limit_conn connections 200;", "limit_conn connections 2;")
    process, http, _ = nginx.start(tmp_path / "nginx", upstream, site)
    clients = []
    try:
        for _ in range(2):
            client = socketio.Client()
            client.connect(http, transports=["websocket"], wait_timeout=10)
            clients.append(client)
        with pytest.raises(socketio.exceptions.ConnectionError):
            socketio.Client().connect(http, transports=["websocket"], wait_timeout=10)
    finally:
        for client in clients:
            client.disconnect()
        process.terminate()
        process.wait(timeout=10)


def test_a_forged_forwarded_for_does_not_escape_the_servers_address_limit(proxy):
    """nginx appends the address it saw; the server, trusting one proxy, takes that one."""
    http, _ = proxy
    answers = [
        requests.get(f"{http}/api/stats", headers={**TEACHER_HEADERS, "X-Forwarded-For": f"203.0.113.{n}"}, timeout=10)
        for n in range(1, 25)
    ]
    limited = [answer for answer in answers if answer.status_code == 429]
    assert limited, "every forged address shared the one real address's requests"
    assert limited[0].json()["error"]["message"].startswith("Too many requests from your network")
    assert int(limited[0].headers["Retry-After"]) >= 1


def test_neither_access_log_names_a_client_a_session_or_a_room(proxy, tmp_path):
    """The proxy's log and the server's (gunicorn's) say what was asked, not who asked or from where."""
    http, _ = proxy
    client = socketio.Client()
    client.connect(http, transports=["polling"], wait_timeout=10)  # its session id travels in the query string
    client.disconnect()
    private = {"User-Agent": "agent-fingerprint", "Referer": "http://referrer.example/"}
    assert requests.get(f"{http}/?room=7B", headers=private, timeout=10).status_code == 200
    access_log = tmp_path / "nginx" / "access.log"
    wait_until(lambda: "GET / 200" in access_log.read_text(), what="nginx to log the page request")
    wait_until(lambda: "GET / " in SERVER_LOG[0].read_text(), what="gunicorn to log the page request")
    proxy_log = access_log.read_text()
    server_lines = [line for line in SERVER_LOG[0].read_text().splitlines() if re.search(r"\b(GET|POST) /", line)]
    assert "GET / 200" in proxy_log
    assert "GET /socket.io/ 200" in proxy_log
    assert "GET / 200" in "\n".join(server_lines)
    for log in (proxy_log, *server_lines):
        for secret in ("127.0.0.1", "sid=", "7B", "agent-fingerprint", "referrer.example"):
            assert secret not in log, (secret, log)
