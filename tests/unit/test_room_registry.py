"""Opened rooms (server/access/rooms.py): codes, names, expiry and closing, on a real SQLite store."""

from __future__ import annotations

import pytest

from server.access.rooms import OPENED_CODE, TOUCH_SECONDS, RoomRegistry
from server.errors import ProtocolError
from server.storage.sqlite import SqliteStore

IDLE = 600.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path):
    store = SqliteStore(str(tmp_path / "attempts.db"))
    yield store
    store.close()


@pytest.fixture
def registry(store, clock) -> RoomRegistry:
    return RoomRegistry(store, IDLE, free_rooms=True, clock=clock)


def test_an_opened_room_has_a_six_digit_code_and_keeps_its_name(registry, store):
    room = registry.open(" 7B   maths ", "de")
    assert OPENED_CODE.fullmatch(room.code)
    assert (room.name, room.language) == ("7B maths", "de")
    assert store.get_room(room.code) == room
    assert registry.find_open(room.code) == room
    assert registry.check(room.code) == room.code


def test_codes_are_never_handed_out_twice(registry, store, monkeypatch):
    first = registry.open("first")
    draws = iter([int(first.code), int(first.code), 123])
    monkeypatch.setattr("server.access.rooms.secrets.randbelow", lambda _: next(draws))
    assert registry.open("second").code == "000123"


@pytest.mark.parametrize(("name", "language"), [("x" * 41, ""), ("bell\x07", ""), ("7B", "klingon"), (7, "")])
def test_bad_names_and_languages_are_refused(registry, name, language):
    with pytest.raises(ValueError, match="must be"):
        registry.open(name, language)


def test_a_room_expires_when_unused_and_use_keeps_it_open(registry, store, clock):
    room = registry.open("7B")
    clock.now += IDLE - 1
    registry.check(room.code)  # a frame: pushes the expiry back (one write a minute at most)
    assert store.get_room(room.code).last_active == clock.now
    clock.now += IDLE - 1
    assert registry.find_open(room.code, fresh=True) is not None
    clock.now += 2
    assert registry.find_open(room.code, fresh=True) is None
    with pytest.raises(ProtocolError) as refused:
        registry.check(room.code)
    assert refused.value.code == "unknown_room"


def test_touching_writes_at_most_once_a_minute(registry, store, clock, monkeypatch):
    room = registry.open("7B")
    writes = []
    monkeypatch.setattr(store, "save_room", writes.append)
    for _ in range(5):
        clock.now += 1
        registry.touch(room.code)
    assert len(writes) == 1
    clock.now += TOUCH_SECONDS
    registry.touch(room.code)
    assert len(writes) == 2


def test_a_closed_room_is_refused_everywhere_and_listed_nowhere(registry, store, clock):
    kept, closed = registry.open("7B"), registry.open("8C")
    other_process = RoomRegistry(store, IDLE, clock=clock)
    assert other_process.find_open(closed.code) is not None
    assert registry.close(closed.code)
    assert not registry.close(closed.code), "closing twice: it is no longer open"
    assert [room.code for room in registry.list_open()] == [kept.code]
    assert other_process.find_open(closed.code, fresh=True) is None
    assert store.get_room(closed.code).closed_at == clock.now, "kept, so its attempts keep the name"


def test_unknown_codes_and_the_free_room_policy(store, clock):
    free = RoomRegistry(store, IDLE, free_rooms=True, clock=clock)
    strict = RoomRegistry(store, IDLE, free_rooms=False, clock=clock)
    assert free.check("7B") == "7B"
    assert free.check("") == strict.check("") == ""
    for registry, code in ((free, "123456"), (strict, "123456"), (strict, "7B")):
        with pytest.raises(ProtocolError) as refused:
            registry.check(code)
        assert refused.value.code == "unknown_room"
