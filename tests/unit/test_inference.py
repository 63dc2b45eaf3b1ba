"""The inference queue: bounded, skips stale frames, batches, survives bad images."""

import pytest

from model.runtime.recognizer import Recognizer
from server.serving.engines import LocalEngine
from server.serving.inference import Busy, Frame, InferenceQueue
from tests.support.images import blank_png


def idle_queue(recognizer, **options) -> InferenceQueue:
    """A queue with no workers, so tests can fill it deterministically and run a batch by hand."""
    return InferenceQueue([], recognizer.limits, **options)


def run_batch(queue: InferenceQueue, recognizer: Recognizer) -> None:
    queue.classify(queue._take(), LocalEngine(recognizer))


def test_a_newer_frame_replaces_a_waiting_one(recognizer, seven_png):
    queue = idle_queue(recognizer)
    first = queue.submit(Frame("a", 1, seven_png, final=False))
    second = queue.submit(Frame("a", 2, seven_png, final=False))
    assert first.wait(1).skipped
    assert queue.depth() == 1
    run_batch(queue, recognizer)
    assert second.wait(1).recognition.digit == 7


def test_an_older_frame_than_the_waiting_one_is_skipped(recognizer, seven_png):
    queue = idle_queue(recognizer)
    newer = queue.submit(Frame("a", 5, seven_png, final=False))
    older = queue.submit(Frame("a", 4, seven_png, final=False))
    assert older.wait(1).skipped
    assert newer.outcome is None


def test_final_frames_are_never_replaced(recognizer, seven_png):
    queue = idle_queue(recognizer)
    final = queue.submit(Frame("a", 1, seven_png, final=True))
    draft = queue.submit(Frame("a", 2, seven_png, final=False))
    assert queue.depth() == 2
    run_batch(queue, recognizer)
    assert final.wait(1).recognition.digit == 7
    assert draft.wait(1).recognition.digit == 7


def test_queue_is_bounded(recognizer, seven_png):
    queue = idle_queue(recognizer, max_pending=2)
    queue.submit(Frame("a", 1, seven_png, final=False))
    queue.submit(Frame("b", 1, seven_png, final=False))
    with pytest.raises(Busy):
        queue.submit(Frame("c", 1, seven_png, final=False))
    queue.submit(Frame("a", 2, seven_png, final=False))  # replacing a waiting frame needs no room


def test_a_batch_is_one_model_call_and_bad_images_fail_alone(recognizer, seven_png, monkeypatch):
    queue = idle_queue(recognizer, max_batch=8)
    calls = []
    classify = recognizer.classify
    monkeypatch.setattr(recognizer, "classify", lambda images: calls.append(len(images)) or classify(images))
    good = [queue.submit(Frame(f"good{i}", 0, seven_png, final=True)) for i in range(5)]
    bad = queue.submit(Frame("bad", 0, b"definitely not an image", final=True))
    blank = queue.submit(Frame("blank", 0, blank_png(50), final=True))
    run_batch(queue, recognizer)
    assert calls == [5]
    assert all(job.wait(1).recognition.digit == 7 for job in good)
    assert bad.wait(1).error.code == "unsupported_format"
    assert blank.wait(1).recognition.reason == "blank"


def test_workers_answer_concurrently_submitted_frames(recognizer, seven_png):
    queue = InferenceQueue([LocalEngine(recognizer), LocalEngine(recognizer)], recognizer.limits, max_batch=4)
    jobs = [queue.submit(Frame(f"attempt{i}", 0, seven_png, final=True)) for i in range(20)]
    assert [job.wait(10).recognition.digit for job in jobs] == [7] * 20
    assert all(job.outcome.latency_ms > 0 for job in jobs)
    queue.close()


def test_a_failing_batch_fails_only_its_frames_and_the_worker_lives_on(recognizer, seven_png):
    class BreaksOnce(LocalEngine):
        calls = 0

        def __call__(self, raws, keep=None, explain=None):
            self.calls += 1
            if self.calls == 1:
                raise RuntimeError("the engine broke")
            return super().__call__(raws, keep, explain)

    queue = InferenceQueue([BreaksOnce(recognizer)], recognizer.limits)
    assert queue.submit(Frame("a", 0, seven_png, final=True)).wait(10).error.code == "internal_error"
    assert queue.submit(Frame("b", 0, seven_png, final=True)).wait(10).recognition.digit == 7
    queue.close()


class DeadEngine(LocalEngine):
    """An engine whose recognizer is gone, like a recognizer process that died between batches."""

    def alive(self) -> bool:
        return False


def test_ready_workers_are_running_threads_with_live_engines(recognizer):
    queue = InferenceQueue([LocalEngine(recognizer), DeadEngine(recognizer)], recognizer.limits)
    assert queue.ready_workers() == 1
    queue.close()
    assert queue.ready_workers() == 0, "stopped workers classify nothing"


def test_a_queue_without_engines_has_no_ready_worker(recognizer):
    assert idle_queue(recognizer).ready_workers() == 0


def test_one_address_gets_a_fair_share_and_leaves_room_for_another(recognizer, seven_png):
    """Alone, an address may fill MAX_PENDING / 2: the other half waits for a newcomer, who is never busy."""
    queue = idle_queue(recognizer, max_pending=16, min_per_address=2)
    for seq in range(8):
        queue.submit(Frame(f"flood-{seq}", 0, seven_png, final=True, address="127.0.0.2"))
    with pytest.raises(Busy):
        queue.submit(Frame("flood-8", 0, seven_png, final=True, address="127.0.0.2"))
    for seq in range(5):  # the newcomer's share is 16 / (2 + 1)
        queue.submit(Frame(f"draw-{seq}", 0, seven_png, final=True, address="127.0.0.1"))
    with pytest.raises(Busy):
        queue.submit(Frame("flood-more", 0, seven_png, final=True, address="127.0.0.2"))
    with pytest.raises(Busy):  # the newcomer has its share too
        queue.submit(Frame("draw-more", 0, seven_png, final=True, address="127.0.0.1"))
    assert queue.depth() == 13, "three places still free for a third address"


def test_a_whole_number_goes_through_the_queue(recognizer, seven_png):
    queue = idle_queue(recognizer)
    job = queue.submit(Frame("n", 0, seven_png, final=True, number=True))
    run_batch(queue, recognizer)
    assert job.wait(1).recognition.number == "7"


def test_batches_take_turns_between_addresses(recognizer, seven_png):
    """A frame from a quiet address goes in the next batch, however many a flooding one has waiting."""
    queue = idle_queue(recognizer, max_batch=2, min_per_address=8)
    for seq in range(6):
        queue.submit(Frame(f"flood-{seq}", 0, seven_png, final=True, address="127.0.0.2"))
    queue.submit(Frame("draw", 0, seven_png, final=True, address="127.0.0.1"))
    assert [job.frame.attempt_id for job in queue._take()] == ["flood-0", "draw"]
    assert [job.frame.attempt_id for job in queue._take()] == ["flood-1", "flood-2"]
