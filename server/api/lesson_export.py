"""A lesson's attempts for the teacher to keep: a CSV of what was drawn, and a ZIP of the drawings.

* ``GET /api/rooms/<code>/attempts.csv``: one row per finished attempt of the room, newest first
  (the columns are ``COLUMNS``), times in ISO 8601 (UTC).
* ``GET /api/rooms/<code>/drawings.zip``: each kept drawing as ``<created>_<id>.png`` and the same
  CSV as ``attempts.csv``. Drawings the teacher hid from the wall stay out (their rows stay in the
  CSV, ``hidden`` true); attempts without a kept drawing (``STORE_IMAGES=false``) have no file.

Teacher key only. Any room code: an opened room after it closed or expired (a teacher downloads
after the lesson) and a free-form room alike. Both are streamed: the room's attempts are read a
page at a time (``Store.recent``), and the ZIP is written by ``zipfile`` into a stream that cannot
seek, which the response's generator drains after every file, so neither is ever whole in memory.
Only the CSV inside the ZIP waits, in a spooled temporary file, to go last.
"""

from __future__ import annotations

import csv
import io
import tempfile
import time
import zipfile
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from flask import Blueprint, Response, current_app

from model.runtime.decode import UnsupportedFormat, sniff_format
from server.access.rooms import parse_room
from server.access.teacher import require_teacher
from server.errors import ApiError, ProtocolError
from server.storage.attempts import Attempt
from server.storage.store import Store

lesson_export = Blueprint("lesson_export", __name__, url_prefix="/api/rooms")

PAGE_SIZE = 50  # attempts read per round trip: a page of drawings is at most 50 x MAX_STORED_IMAGE_BYTES
CHUNK_BYTES = 64 * 1024
CSV_NAME = "attempts.csv"
COLUMNS = (
    "id",
    "created_at",
    "digit",
    "confidence",
    "label",
    "model_version",
    "room",
    "room_name",
    "source",
    "frames",
    "hidden",
    "drawing",
)
EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "GIF": "gif", "BMP": "bmp", "WEBP": "webp"}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would run such a cell as a formula


def room_code(code: str) -> str:
    try:
        room = parse_room(code)
    except ProtocolError as error:
        raise ApiError(400, error.code, error.message) from None
    return room


def room_attempts(store: Store, room: str, first: list[Attempt]) -> Iterator[Attempt]:
    """The room's finished attempts, newest first, ``PAGE_SIZE`` at a time (``first`` is the first page)."""
    page = first
    while True:
        yield from (attempt for attempt in page if attempt.final)
        if len(page) < PAGE_SIZE:
            return
        page = store.recent(PAGE_SIZE, page[-1].created_at, room)


def iso_time(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def drawing_name(attempt: Attempt) -> str | None:
    """The file an attempt's drawing has in the ZIP, ``<created>_<id>.png``; None when it has none there."""
    if not attempt.image or attempt.hidden:
        return None
    try:
        extension = EXTENSIONS[sniff_format(attempt.image)]
    except UnsupportedFormat:
        return None
    created = time.strftime("%Y%m%dT%H%M%S", time.gmtime(attempt.created_at))
    milliseconds = int(attempt.created_at * 1000) % 1000
    return f"{created}.{milliseconds:03d}Z_{attempt.id}.{extension}"


def text_cell(value: str) -> str:
    """Text as data, never a spreadsheet formula (a class name like "=1+1")."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def row(attempt: Attempt, room_name: str) -> list[str]:
    return [
        attempt.id,
        iso_time(attempt.created_at),
        "" if attempt.digit is None else str(attempt.digit),
        f"{attempt.confidence:.4f}",
        "" if attempt.label is None else str(attempt.label),
        text_cell(attempt.model_version),
        attempt.room,
        text_cell(room_name),
        attempt.source,
        str(attempt.frames),
        "true" if attempt.hidden else "false",
        drawing_name(attempt) or "",
    ]


class CsvLines:
    """CSV text one row at a time: ``line`` answers the row as it is written."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer, lineterminator="\r\n")

    def line(self, cells: Iterable[str]) -> str:
        self.writer.writerow(cells)
        text = self.buffer.getvalue()
        self.buffer.seek(0)
        self.buffer.truncate()
        return text


def csv_bytes(attempts: Iterable[Attempt], room_name: str) -> Iterator[bytes]:
    """The CSV in chunks of about ``CHUNK_BYTES``, header first (after a byte order mark, so a spreadsheet
    reads the class's name as UTF-8)."""
    lines = CsvLines()
    chunk = ["\ufeff" + lines.line(COLUMNS)]
    size = 0
    for attempt in attempts:
        text = lines.line(row(attempt, room_name))
        chunk.append(text)
        size += len(text)
        if size >= CHUNK_BYTES:
            yield "".join(chunk).encode()
            chunk, size = [], 0
    yield "".join(chunk).encode()


class Drain(io.RawIOBase):
    """A write-only stream that cannot seek: ``zipfile`` writes into it, the response takes what was written."""

    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        taken, self.chunks = b"".join(self.chunks), []
        return taken


def entry(name: str, timestamp: float) -> zipfile.ZipInfo:
    """A file in the ZIP: deflated, readable by everyone who unpacks it (a bare ZipInfo would be mode 000)."""
    info = zipfile.ZipInfo(name, time.gmtime(max(timestamp, 315532800))[:6])  # ZIP times start in 1980
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def zip_bytes(attempts: Iterable[Attempt], room_name: str) -> Iterator[bytes]:
    """The ZIP, a file at a time: each drawing as it is read, then the CSV, then the central directory."""
    stream = Drain()
    lines = CsvLines()
    with (
        tempfile.SpooledTemporaryFile(max_size=1 << 20) as table,
        zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_DEFLATED) as archive,
    ):
        table.write(("\ufeff" + lines.line(COLUMNS)).encode())
        for attempt in attempts:
            name = drawing_name(attempt)
            if name is not None:
                archive.writestr(entry(name, attempt.created_at), attempt.image)
                yield stream.take()
            table.write(lines.line(row(attempt, room_name)).encode())
        table.seek(0)
        with archive.open(entry(CSV_NAME, time.time()), "w") as inside:
            while chunk := table.read(CHUNK_BYTES):
                inside.write(chunk)
                yield stream.take()
    yield stream.take()  # the central directory, written as the archive closes


def first_page(code: str) -> tuple[Store, str, list[Attempt], str]:
    """Checked before anything is streamed: the key, the code, and the store answering (else 401, 400, 503)."""
    require_teacher()
    room = room_code(code)
    store = current_app.extensions["service"].store
    first = store.recent(PAGE_SIZE, None, room)
    record = store.get_room(room)
    return store, room, first, record.name if record is not None else ""


def download(body: Iterator[bytes], mimetype: str, filename: str) -> Response:
    """A streamed attachment. An empty chunk is never sent: in a chunked response it would end the body."""
    chunks = (chunk for chunk in body if chunk)
    return Response(chunks, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@lesson_export.get("/<code>/attempts.csv")
def attempts_csv(code: str):
    store, room, first, name = first_page(code)
    text = csv_bytes(room_attempts(store, room, first), name)
    return download(text, "text/csv; charset=utf-8", f"room-{room}-attempts.csv")


@lesson_export.get("/<code>/drawings.zip")
def drawings_zip(code: str):
    store, room, first, name = first_page(code)
    return download(zip_bytes(room_attempts(store, room, first), name), "application/zip", f"room-{room}-drawings.zip")
