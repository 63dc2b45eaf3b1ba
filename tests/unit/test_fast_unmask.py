"""The fast unmasking gives exactly what eventlet's own gives, for every offset and length."""

import os

import pytest
from eventlet.websocket import RFC6455WebSocket

from server.live.fast_unmask import apply_mask

ORIGINAL = RFC6455WebSocket.__dict__["_apply_mask"].__func__  # before any install() in this process


@pytest.mark.parametrize("length", [0, 1, 3, 4, 5, 126, 4097])
@pytest.mark.parametrize("offset", [0, 1, 2, 3, 4, 7])
def test_same_bytes_as_eventlets_own(length, offset):
    data, mask = os.urandom(length + 5), os.urandom(4)
    assert apply_mask(data, mask, length, offset) == ORIGINAL(data, mask, length, offset)
    assert apply_mask(data[:length], mask, offset=offset) == ORIGINAL(data[:length], mask, offset=offset)


def test_masking_twice_gives_the_data_back():
    data, mask = os.urandom(17_000), os.urandom(4)
    assert apply_mask(apply_mask(data, mask), mask) == data
