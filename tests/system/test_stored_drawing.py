"""The kept drawing is a clean PNG within its bound, made from the pixels only; STORE_IMAGES=false keeps none."""

import io

import numpy as np
import pytest
from PIL import ExifTags, Image

from model.runtime.drawing import stored_png
from tests.support.waiting import wait_until

BOUND = 512 * 1024


def jpeg_with_gps(png: bytes) -> bytes:
    """A photo of a drawing as a phone sends it: GPS in its EXIF, and bytes appended after the image."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SchoolPhone"
    exif.get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitude] = (52.0, 22.0, 7.0)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue() + b"SECRET-TRAILER"


def noise_png(size: int = 600) -> bytes:
    pixels = np.random.default_rng(1).integers(0, 256, (size, size, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def assert_clean_png(stored: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(stored))
    assert image.format == "PNG"
    assert "exif" not in image.info
    assert not image.getexif()
    assert stored.endswith(b"IEND\xaeB`\x82")  # nothing after the image
    assert b"SECRET" not in stored
    assert b"SchoolPhone" not in stored
    return image


def test_a_jpeg_with_gps_is_kept_as_a_clean_png(seven_png):
    sent = jpeg_with_gps(seven_png)
    assert Image.open(io.BytesIO(sent)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the test image does carry GPS
    kept = assert_clean_png(stored_png(Image.open(io.BytesIO(sent)), BOUND))
    assert kept.size == Image.open(io.BytesIO(seven_png)).size


def test_noise_is_shrunk_under_the_bound():
    raw = noise_png()
    assert len(raw) > BOUND
    kept = stored_png(Image.open(io.BytesIO(raw)), BOUND)
    assert len(kept) <= BOUND
    assert_clean_png(kept)


def test_an_image_that_never_fits_is_not_kept():
    assert stored_png(Image.open(io.BytesIO(noise_png())), 100) is None


def test_no_bound_keeps_nothing(seven_png):
    assert stored_png(Image.open(io.BytesIO(seven_png)), 0) is None


@pytest.fixture(params=["sqlite", pytest.param("cassandra", marks=pytest.mark.cassandra)])
def store_config(request) -> dict:
    return {} if request.param == "sqlite" else {"STORE_URL": request.getfixturevalue("cassandra_url")}


def predict(app, raw: bytes, teacher_client) -> tuple:
    client = teacher_client(app)
    attempt_id = client.post("/api/predict", data={"file": (io.BytesIO(raw), "photo.jpg")}).json["attempt_id"]
    store = app.extensions["service"].store
    wait_until(lambda: store.get(attempt_id) is not None, what="the attempt to be stored")
    return client, attempt_id


def test_the_server_stores_the_upload_clean(make_app, store_config, teacher_client, seven_png):
    app = make_app(**store_config)
    client, attempt_id = predict(app, jpeg_with_gps(seven_png), teacher_client)
    assert_clean_png(app.extensions["service"].store.get(attempt_id).image)
    assert client.get(f"/api/attempts/{attempt_id}/image").mimetype == "image/png"


def test_store_images_false_keeps_only_the_input_and_the_result(make_app, store_config, teacher_client, seven_png):
    app = make_app(STORE_IMAGES=False, **store_config)
    client, attempt_id = predict(app, seven_png, teacher_client)
    stored = app.extensions["service"].store.get(attempt_id)
    assert stored.image is None
    assert stored.input is not None
    assert stored.digit == 7
    assert client.get(f"/api/attempts/{attempt_id}/image").status_code == 404


def test_only_final_frames_pay_for_the_kept_drawing(seven_png):
    from model.runtime.decode import Limits
    from model.runtime.recognizer import Recognizer

    recognizer = Recognizer.load(limits=Limits(max_stored_bytes=BOUND))
    draft, final = recognizer.recognize_batch([seven_png, seven_png], keep=[False, True])
    assert draft.stored_png is None
    assert_clean_png(final.stored_png)
    assert draft.digit == final.digit == 7


def test_a_live_drawing_is_kept_with_its_final_frame(app, socket_client, seven_frame):
    import uuid

    from tests.support.socket_events import events

    store = app.extensions["service"].store
    attempt_id = str(uuid.uuid4())
    socket_client.emit("frame", {"attempt_id": attempt_id, "seq": 0, "image": seven_frame, "final": False})
    events(socket_client, "prediction")
    wait_until(lambda: store.get(attempt_id) is not None, what="the draft to be stored")
    assert store.get(attempt_id).image is None
    socket_client.emit("frame", {"attempt_id": attempt_id, "seq": 1, "image": seven_frame, "final": True})
    events(socket_client, "prediction")
    wait_until(lambda: store.get(attempt_id).final, what="the final frame to be stored")
    assert_clean_png(store.get(attempt_id).image)
