"""Abuse limits per client address, on a real server (the Procfile's eventlet worker).

Clients bind addresses of the loopback range, each a client address to the server
(``tests/support/flood.py``). Each test has its own: the server may still be closing one test's
connections (a client's close is only noticed later) when the next test connects.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from bench.live import procfile_web
from tests.support.flood import RawClient, Refused, flood
from tests.support.server_process import running_server

pytestmark = pytest.mark.slow
FLOODERS = 20
SETTINGS = {
    # The connection cap is what refuses the 21st flooder; frame rates are lifted, so what
    # protects the other address is the queue's fair share (a small queue, easily filled).
    "MAX_CONNECTIONS_PER_ADDRESS": str(FLOODERS),
    "RATE_LIMIT_PER_SECOND": "100000",
    "RATE_LIMIT_BURST": "100000",
    "ADDRESS_RATE_LIMIT_PER_SECOND": "100000",
    "ADDRESS_RATE_LIMIT_BURST": "100000",
    "MAX_PENDING": "16",
    "MIN_PENDING_PER_ADDRESS": "2",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("flood"), procfile_web(), **SETTINGS) as base:
        yield "127.0.0.1", int(base.rsplit(":", 1)[1])


async def draw(client: RawClient, image: str, frames: int) -> list[tuple[str, dict]]:
    """One drawing, frame by frame as a person draws, each sent once the previous one is answered."""
    attempt_id, answers = str(uuid.uuid4()), []
    for seq in range(frames):
        client.emit("frame", {"attempt_id": attempt_id, "seq": seq, "image": image, "final": seq == frames - 1})
        answers.append(await client.event())
    return answers


async def flooded_drawing(host: str, port: int, image: str) -> tuple[list[tuple[str, dict]], list[str]]:
    flooders = [RawClient(host, port, "127.0.0.2") for _ in range(FLOODERS)]
    drawer = RawClient(host, port, "127.0.0.1")
    for client in [*flooders, drawer]:
        await client.connect()
    stop, errors = asyncio.Event(), []
    floods = [asyncio.ensure_future(flood(client, image, errors, stop)) for client in flooders]
    try:
        while "busy" not in errors:  # the flood has filled its share of the queue
            await asyncio.sleep(0.05)
        answers = await draw(drawer, image, 20)
    finally:
        stop.set()
        await asyncio.gather(*floods, return_exceptions=True)
        for client in [*flooders, drawer]:
            client.close()
    return answers, errors


def test_a_flooding_address_does_not_push_busy_onto_another(server, seven_frame):
    answers, flood_errors = asyncio.run(asyncio.wait_for(flooded_drawing(*server, seven_frame), 120))
    assert [name for name, _ in answers] == ["prediction"] * 20, [payload for _, payload in answers]
    assert answers[-1][1]["digit"] == 7
    assert "busy" in flood_errors, "the flood was real: it got busy itself"


async def one_too_many(host: str, port: int) -> dict:
    """Connect the cap from 127.0.0.3, then one more; then one from 127.0.0.4, which must get in."""
    clients = [RawClient(host, port, "127.0.0.3") for _ in range(FLOODERS + 1)]
    other = RawClient(host, port, "127.0.0.4")
    try:
        for client in clients[:-1]:
            await client.connect()
        with pytest.raises(Refused) as refused:
            await clients[-1].connect()
        await other.connect()
        return refused.value.args[0]
    finally:
        for client in [*clients, other]:
            client.close()


def test_connections_are_capped_per_address(server):
    reason = asyncio.run(asyncio.wait_for(one_too_many(*server), 60))
    assert reason["data"]["code"] == "rate_limited"
    assert "connections" in reason["message"] == reason["data"]["message"]
