"""Every kind of bad upload, through the real server: a readable 4xx, nothing stored, nothing queued.

Runs against a web server whose Redis queue has no worker, so "nothing queued" is a count that stays put.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from metalizer_site.tests.integration import services
from metalizer_site.tests.integration.apiclient import ApiClient
from metalizer_site.tests.integration.services import S3Server
from metalizer_site.tests.integration.songs import (
    empty_file,
    song_file,
    text_named_mp3,
    truncated_flac,
    unsupported_audio,
)

if TYPE_CHECKING:
    from metalizer_site.tests.integration.conftest import QueueOnlyWeb

pytestmark = pytest.mark.integration


def _over_byte_limit(path: Path) -> Path:
    return song_file(path, seconds=5)  # 5 s of 16-bit stereo WAV is ~880 kB, over the 600 kB limit


def _over_duration_limit(path: Path) -> Path:
    return song_file(path, seconds=10)  # an MP3: small in bytes, 10 s against a 6 s limit


BAD_UPLOADS: list[tuple[str, Callable[[Path], Path], tuple[int, ...], tuple[str, ...]]] = [
    ("empty.wav", empty_file, (400,), ("empty",)),
    ("lyrics.mp3", text_named_mp3, (400, 415), ("not_audio",)),
    ("cut-off.flac", truncated_flac, (400,), ("corrupt_audio",)),
    ("too-big.wav", _over_byte_limit, (413,), ()),
    ("too-long.mp3", _over_duration_limit, (400,), ("too_long",)),
    ("old-format.au", unsupported_audio, (400, 415), ("unsupported_format", "not_audio")),
]


def _state(web: QueueOnlyWeb, s3: S3Server, postgres_db: str) -> tuple[list[str], int, int]:
    return s3.object_keys(), services.queued_messages(web.redis_db), services.job_count(postgres_db)


def test_a_good_upload_is_stored_and_queued_on_the_queue_only_server(
    queue_only_web: QueueOnlyWeb, s3: S3Server, postgres_db: str, songs_dir: Path
) -> None:
    """The control for the bad-upload tests: the same measurements do see a real upload."""
    keys, queued, rows = _state(queue_only_web, s3, postgres_db)
    client = ApiClient(queue_only_web.base)
    job_id = client.create_job(song_file(songs_dir / "fine.mp3", seconds=4))
    try:
        keys_after, queued_after, rows_after = _state(queue_only_web, s3, postgres_db)
        assert queued_after == queued + 1
        assert rows_after == rows + 1
        assert [k for k in keys_after if k not in keys] and all(
            job_id in k for k in keys_after if k not in keys
        )
    finally:
        assert client.delete(job_id).status_code == 204


@pytest.mark.parametrize(("name", "make", "statuses", "codes"), BAD_UPLOADS, ids=[b[0] for b in BAD_UPLOADS])
def test_bad_upload_is_refused_with_a_readable_message_and_nothing_stored_or_queued(
    queue_only_web: QueueOnlyWeb,
    s3: S3Server,
    postgres_db: str,
    songs_dir: Path,
    name: str,
    make: Callable[[Path], Path],
    statuses: tuple[int, ...],
    codes: tuple[str, ...],
) -> None:
    path = make(songs_dir / name)
    before = _state(queue_only_web, s3, postgres_db)

    response = ApiClient(queue_only_web.base).upload(path)

    assert response.status_code in statuses, f"{response.status_code}: {response.text[:500]}"
    error = response.json()["error"]
    message = error["message"]
    assert isinstance(message, str) and 10 <= len(message) <= 400, message
    assert "Traceback" not in message and "Error(" not in message, message
    if codes:
        assert any(code in error["code"] for code in codes), error
    assert _state(queue_only_web, s3, postgres_db) == before, "a refused upload left a file, message or row"


def _mentions_size(message: str, size_bytes: int) -> bool:
    """True when a number in ``message`` is ``size_bytes`` in bytes, kB/KiB or MB/MiB (to 1 %)."""
    numbers = [float(n) for n in re.findall(r"\d+(?:\.\d+)?", message.replace(",", ""))]
    units = (1, 1000, 1024, 1000**2, 1024**2)
    return any(abs(n * unit - size_bytes) <= 0.01 * size_bytes for n in numbers for unit in units)


def test_over_byte_limit_message_states_the_limit(queue_only_web: QueueOnlyWeb, songs_dir: Path) -> None:
    response = ApiClient(queue_only_web.base).upload(_over_byte_limit(songs_dir / "huge.wav"))
    assert response.status_code == 413
    message = response.json()["error"]["message"]
    assert _mentions_size(message, queue_only_web.max_bytes), message


def test_over_duration_message_states_the_limit(queue_only_web: QueueOnlyWeb, songs_dir: Path) -> None:
    response = ApiClient(queue_only_web.base).upload(_over_duration_limit(songs_dir / "long.mp3"))
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    limit = queue_only_web.max_duration_s
    assert re.search(rf"\b{limit}(\.0+)?\s*s|0:0{limit}\b|{limit} sec", message), message


def test_upload_far_over_the_byte_limit_is_refused_with_413_promptly(
    queue_only_web: QueueOnlyWeb, s3: S3Server, postgres_db: str, songs_dir: Path
) -> None:
    """40 MB against a 600 kB limit: refused while streaming, the client gets a 413, not a reset."""
    path = songs_dir / "huge.wav"
    with path.open("wb") as fh:
        fh.write(song_file(songs_dir / "head.wav", seconds=4).read_bytes())
        fh.write(b"\0" * (40 * 1024 * 1024))
    before = _state(queue_only_web, s3, postgres_db)
    started = time.monotonic()
    response = ApiClient(queue_only_web.base).upload(path)
    elapsed = time.monotonic() - started
    assert response.status_code == 413, response.text[:300]
    assert elapsed < 15, f"refusing took {elapsed:.1f} s"
    assert _state(queue_only_web, s3, postgres_db) == before
