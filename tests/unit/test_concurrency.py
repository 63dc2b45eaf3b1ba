"""server/concurrency.py: a blocking call through ``off_the_loop`` leaves the event loop serving.

Run in a child process, because eventlet must monkey-patch before anything else is imported.
A green thread ticks every millisecond while another makes a call that blocks in C (the
unpatched ``time.sleep`` stands for a SQLite commit waiting on its fsync): made directly it
stops the ticks for its whole length, made through ``off_the_loop`` it does not.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from server.concurrency import off_the_loop

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import eventlet
eventlet.monkey_patch()
import json, threading, time
from eventlet import patcher
from server.concurrency import eventlet_active, off_the_loop

blocking_sleep = patcher.original("time").sleep  # blocks in C, as a commit's fsync does

def ticks_during(call):
    ticks, running = [0], [True]
    def tick():
        while running[0]:
            ticks[0] += 1
            time.sleep(0.001)
    ticker = threading.Thread(target=tick)
    ticker.start()
    time.sleep(0.01)
    before = ticks[0]
    call()
    during = ticks[0] - before
    running[0] = False
    ticker.join()
    return during

print(json.dumps({
    "eventlet": eventlet_active(),
    "direct": ticks_during(lambda: blocking_sleep(0.3)),
    "off_the_loop": ticks_during(lambda: off_the_loop(blocking_sleep, 0.3)),
    "result": off_the_loop(lambda a, b=0: a + b, 2, b=3),
}))
"""


def test_a_blocking_call_off_the_loop_lets_other_green_threads_run():
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    assert measured["eventlet"] is True
    assert measured["direct"] <= 2, "a direct blocking call stops the loop (the problem off_the_loop solves)"
    assert measured["off_the_loop"] >= 50, "300 ms off the loop: the ticker kept ticking (1 ms apart)"
    assert measured["result"] == 5


def test_without_eventlet_it_is_a_plain_call():
    assert off_the_loop(lambda a, b=0: a * b, 6, b=7) == 42
    with pytest.raises(ZeroDivisionError):
        off_the_loop(lambda: 1 / 0)
