"""Polling helpers for tests of things that happen in the background."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


def wait_until(condition: Callable[[], bool], timeout: float = 5.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


class PredictLoad:
    """Drawers posting to ``/api/predict`` in threads until stopped: acknowledged ids and failed statuses."""

    def __init__(self, app, image: str, drawers: int = 2) -> None:
        self.app, self.image = app, image
        self.acknowledged: list[str] = []
        self.failures: list[int] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._draw) for _ in range(drawers)]

    def _draw(self) -> None:
        client = self.app.test_client()
        while not self._stop.is_set():
            response = client.post("/api/predict", json={"image": self.image})
            if response.status_code == 200:
                self.acknowledged.append(response.json["attempt_id"])
            else:
                self.failures.append(response.status_code)
            time.sleep(0.01)

    def wait_for_answers(self, count: int, timeout: float = 30.0) -> None:
        """Wait until ``count`` more answers have been acknowledged than when called."""
        target = len(self.acknowledged) + count
        wait_until(lambda: len(self.acknowledged) >= target, timeout, f"{count} more answers under load")

    def __enter__(self) -> PredictLoad:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()
