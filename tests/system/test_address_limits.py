"""Abuse limits per client address, on a real server (the Procfile's eventlet worker).

Clients bind addresses of the loopback range, each a client address to the server
(``tests/support/flood.py``). Each test has its own: the server may still be closing one test's
connections (a client's close is only noticed later) when the next test connects.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid

import pytest
import requests

from bench.live import procfile_web
from server.access.limits import TELL_SECONDS
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
        await client.emit("frame", {"attempt_id": attempt_id, "seq": seq, "image": image, "final": seq == frames - 1})
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


# A few flooders, each over its own connection's 30 frames/s however slowly the server reads. Twenty
# share the work of reading: on a machine busy elsewhere the server reads fewer than the address's
# 300 frames/s from all of them together, TCP holds the flood back, nothing is ever refused, and
# Engine.IO ends each connection after 45 s (their pongs queue behind their own unread frames).
SHIPPED_LIMIT_FLOODERS = 5


@pytest.fixture(scope="module")
def default_server(tmp_path_factory):
    """The limits as shipped (what a flood from one address meets), but a cooldown that outlasts a slow run."""
    with running_server(tmp_path_factory.mktemp("flood-default"), procfile_web(), FLOOD_COOLDOWN_SECONDS="600") as base:
        yield "127.0.0.1", int(base.rsplit(":", 1)[1])


async def flood_until_closed(client: RawClient, image: str) -> list[str]:
    """Frames back to back until the server closes the connection; the error codes it said on the way,
    with one ``told`` for every TELL_SECONDS the flood lasted (how often the server may say it)."""
    said: list[str] = []
    started = time.monotonic()

    async def read() -> None:
        with contextlib.suppress(ConnectionError):
            while True:
                name, payload = await client.event()
                if name == "error":
                    said.append(payload["code"])

    reader = asyncio.ensure_future(read())
    with contextlib.suppress(ConnectionError, OSError):
        for _ in range(5000):
            if reader.done():
                break
            await client.emit("frame", {"attempt_id": str(uuid.uuid4()), "seq": 0, "image": image})
    await asyncio.wait_for(reader, 30)
    return said + ["told"] * int((time.monotonic() - started) // TELL_SECONDS)


async def flood_beside_a_drawer(host: str, port: int, image: str) -> tuple[list[list[str]], list, list[int], dict]:
    flooders = [RawClient(host, port, "127.0.0.10") for _ in range(SHIPPED_LIMIT_FLOODERS)]
    drawer = RawClient(host, port, "127.0.0.12")
    for client in [*flooders, drawer]:
        await client.connect()
    floods = asyncio.gather(*(flood_until_closed(client, image) for client in flooders))
    rest = asyncio.gather(
        *(
            asyncio.to_thread(requests.post, f"http://{host}:{port}/api/predict", json={"image": image}, timeout=30)
            for _ in range(10)
        )
    )
    answers = await draw(drawer, image, 20)
    said, posted = await floods, await rest
    with pytest.raises(Refused) as cooling:
        await RawClient(host, port, "127.0.0.10").connect()
    for client in [*flooders, drawer]:
        client.close()
    return said, answers, [response.status_code for response in posted], cooling.value.args[0]


def test_a_flood_is_told_once_cut_off_and_cooled_while_others_are_answered(default_server, seven_frame):
    said, answers, statuses, cooling = asyncio.run(
        asyncio.wait_for(flood_beside_a_drawer(*default_server, seven_frame), 180)
    )
    assert all(codes.count("rate_limited") <= 2 + codes.count("told") for codes in said), said
    assert all("rate_limited" in codes for codes in said), "every flooder was told, then disconnected"
    assert [name for name, _ in answers] == ["prediction"] * 20, "the drawer on another address is answered"
    assert statuses == [200] * 10, "and so is REST from a third"
    assert cooling["data"]["code"] == "rate_limited"
    assert "wait" in cooling["message"]
