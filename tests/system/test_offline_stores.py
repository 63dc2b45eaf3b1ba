"""Both stores keep the browser's answers of offline attempts and the kiosks' heartbeats (server/storage/offline.py)."""

from __future__ import annotations

import time
import uuid

from server.storage.offline import KioskRecord, OfflineAnswer


def test_an_offline_answer_is_kept_once(store):
    attempt_id = str(uuid.uuid4())
    first = OfflineAnswer(attempt_id, time.time(), time.time() - 60, 7, None, 0.93, "v9-unknown", False, "hall-3")
    store.save_offline_answer(first)
    store.save_offline_answer(OfflineAnswer(attempt_id, time.time(), time.time(), 1, None, 0.5, "other", True, ""))
    kept = store.offline_answer(attempt_id)
    assert (kept.digit, kept.claimed_version, kept.version_known, kept.kiosk_id) == (7, "v9-unknown", False, "hall-3")
    assert abs(kept.drawn_at - first.drawn_at) < 0.01
    assert store.offline_answer(str(uuid.uuid4())) is None
    refused = OfflineAnswer(str(uuid.uuid4()), time.time(), time.time(), None, "not_a_digit", None, "v1", True)
    store.save_offline_answer(refused)
    assert store.offline_answer(refused.attempt_id).reason == "not_a_digit"


def test_a_kiosk_keeps_its_latest_heartbeat(store):
    assert store.kiosks() == []
    store.save_kiosk(KioskRecord("hall-3", time.time() - 30, "v1", 100.0, 5.0, 2, 11, "offline", "pseudo"))
    store.save_kiosk(KioskRecord("hall-3", time.time(), "v1", 130.0, 5.0, 0, 12, "online", "pseudo"))
    store.save_kiosk(KioskRecord("atrium", time.time(), "v1", 10.0, 0.0, 0, 1, "online", "other"))
    kiosks = store.kiosks()
    assert [k.kiosk_id for k in kiosks] == ["atrium", "hall-3"]
    assert (kiosks[1].waiting, kiosks[1].attempts_today, kiosks[1].state) == (0, 12, "online")


def test_an_offline_answer_goes_with_its_attempt(store):
    attempt_id = str(uuid.uuid4())
    store.save_offline_answer(OfflineAnswer(attempt_id, time.time(), time.time(), 3, None, 0.8, "v1", True))
    store.forget_offline_answer(attempt_id)
    assert store.offline_answer(attempt_id) is None
    store.purge_offline_answers(time.time())  # SQLite deletes old rows; Cassandra's expire by themselves
