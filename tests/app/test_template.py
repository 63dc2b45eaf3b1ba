"""Recognizer processes are forked from one template (model/runtime/template.py, server/serving/forking.py).

They share its loaded libraries and compiled kernels (``python -m bench.footprint`` measures the
memory); here: who their parent is, that a template that died is replaced, that a recognizer left
idle under eventlet still answers (what it inherits may have been made non-blocking by eventlet).
(A dead or hung recognizer being replaced is tests/app/test_engines.py's.)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import psutil

from model.runtime import card as model_card
from model.runtime.template import RECOGNIZER_NAME, TEMPLATE_NAME
from server.serving.engines import RecognizerProcess
from server.serving.forking import recognizer_template
from tests.support.images import drawing
from tests.support.server_process import ROOT
from tests.support.waiting import wait_until


def engine_for(recognizer) -> RecognizerProcess:
    return RecognizerProcess(str(model_card.TFLITE_PATH), str(model_card.CARD_PATH), recognizer.limits)


def test_recognizers_are_forked_from_the_template_not_started_by_us(recognizer, mnist):
    engines = [engine_for(recognizer) for _ in range(2)]
    try:
        template = psutil.Process(recognizer_template().pid)
        assert template.name() == TEMPLATE_NAME
        assert template.ppid() == os.getpid()
        for engine in engines:
            child = psutil.Process(engine.pid)
            assert child.ppid() == template.pid, "forked by the template, not started by the web process"
            assert engine([drawing(mnist.x_test[0])])[0].digit == mnist.y_test[0]
            # Named before it serves, after the template has sent its pid: asked before its first answer, the
            # name may still be the template's (a clean-clone CI run saw that once).
            assert child.name() == RECOGNIZER_NAME
    finally:
        for engine in engines:
            engine.close()


def test_a_template_that_died_is_replaced_and_its_recognizers_serve_on(recognizer, mnist):
    serving = engine_for(recognizer)
    try:
        old = recognizer_template().pid
        os.kill(old, signal.SIGKILL)
        wait_until(lambda: not psutil.pid_exists(old) or psutil.Process(old).status() == "zombie", what="it died")
        assert serving([drawing(mnist.x_test[1])])[0].digit == mnist.y_test[1], "its recognizer lives on"
        replacement = engine_for(recognizer)
        assert recognizer_template().pid != old
        assert replacement([drawing(mnist.x_test[2])])[0].digit == mnist.y_test[2]
        replacement.close()
    finally:
        serving.close()


IDLE_UNDER_EVENTLET = """
import eventlet
eventlet.monkey_patch()
from model.runtime import card
from model.runtime.recognizer import Recognizer
from server.serving.engines import RecognizerProcess
from tests.support.images import blank_png
engine = RecognizerProcess(str(card.TFLITE_PATH), str(card.CARD_PATH), Recognizer.load().limits)
eventlet.sleep(1.5)  # idle: the recognizer waits on its pipe meanwhile
print(engine.alive(), engine([blank_png(40)])[0].reason)
engine.close()
"""


def test_a_recognizer_left_idle_under_eventlet_still_answers():
    """eventlet makes the files and sockets it wraps non-blocking; a recognizer's end that crossed into the fork
    with that flag (a socket's, at first) ended it at once: a non-blocking read with nothing to read yet."""
    result = subprocess.run(
        [sys.executable, "-c", IDLE_UNDER_EVENTLET], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["True", "blank"]
