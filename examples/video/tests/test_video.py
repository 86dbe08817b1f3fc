from __future__ import annotations

import collections.abc as cabc
import wave
from pathlib import Path

import pytest

import video
from quartlike.testing import QuartClient
from video import app

URL = f"/media/{video.SAMPLE_NAME}"
#: Read at import, before the fixture below points the app elsewhere.
MEDIA_FOLDER_AT_IMPORT = app.config["MEDIA_FOLDER"]


@pytest.fixture(autouse=True)
def media_folder(tmp_path: Path) -> cabc.Iterator[Path]:
    """Each test serves its own, empty media folder."""
    saved = dict(app.config)
    folder = tmp_path / "media"
    app.config["MEDIA_FOLDER"] = str(folder)
    yield folder
    app.config.clear()
    app.config.update(saved)


@pytest.fixture
def client() -> QuartClient:
    return app.test_client()


@pytest.fixture
def sample(media_folder: Path) -> bytes:
    video.ensure_sample(str(media_folder))
    return (media_folder / video.SAMPLE_NAME).read_bytes()


# -- the page and the sample ------------------------------------------------------------


def test_the_media_folder_is_in_the_instance_folder() -> None:
    expected = Path(video.__file__).parent / "instance" / "media"
    assert expected == Path(MEDIA_FOLDER_AT_IMPORT)


async def test_page_has_a_video_element(client: QuartClient, media_folder: Path) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = await response.get_data(as_text=True)
    assert '<video id="player" controls preload="metadata">' in page
    assert f'<source src="{URL}" type="audio/wav">' in page
    # The first visit created the sample.
    assert (media_folder / video.SAMPLE_NAME).is_file()


async def test_page_lists_and_plays_other_files(client: QuartClient, media_folder: Path) -> None:
    media_folder.mkdir()
    (media_folder / "clip.mp4").write_bytes(b"\x00" * 64)
    (media_folder / "notes.txt").write_text("not media")
    page = await (await client.get("/")).get_data(as_text=True)
    assert 'href="/?name=clip.mp4"' in page
    assert "notes.txt" not in page
    page = await (await client.get("/?name=clip.mp4")).get_data(as_text=True)
    assert '<source src="/media/clip.mp4" type="video/mp4">' in page


async def test_page_for_a_missing_file_is_404(client: QuartClient) -> None:
    response = await client.get("/?name=nope.mp4")
    assert response.status_code == 404


def test_sample_is_a_small_valid_wav(sample: bytes, media_folder: Path) -> None:
    assert 1024 < len(sample) < 16 * 1024
    with wave.open(str(media_folder / video.SAMPLE_NAME), "rb") as sound:
        assert sound.getnchannels() == 1
        assert sound.getframerate() == video.SAMPLE_RATE
        assert sound.getnframes() == int(video.SAMPLE_RATE * video.SAMPLE_SECONDS)
    # Made once: an existing file is kept.
    video.ensure_sample(str(media_folder))
    assert (media_folder / video.SAMPLE_NAME).read_bytes() == sample


async def test_serving_creates_the_sample(media_folder: Path) -> None:
    await app.startup()
    try:
        assert (media_folder / video.SAMPLE_NAME).is_file()
    finally:
        await app.shutdown()


# -- whole files and revalidation ----------------------------------------------------------


async def test_whole_file(client: QuartClient, sample: bytes) -> None:
    response = await client.get(URL)
    assert response.status_code == 200
    assert response.mimetype == "audio/wav"
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["Content-Length"] == str(len(sample))
    assert "ETag" in response.headers
    assert "Last-Modified" in response.headers
    assert await response.get_data() == sample


async def test_unchanged_file_is_304(client: QuartClient, sample: bytes) -> None:
    etag = (await client.get(URL)).headers["ETag"]
    response = await client.get(URL, headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert await response.get_data() == b""


async def test_head_sends_headers_only(client: QuartClient, sample: bytes) -> None:
    response = await client.head(URL)
    assert response.status_code == 200
    assert response.headers["Content-Length"] == str(len(sample))
    assert response.headers["Accept-Ranges"] == "bytes"
    assert await response.get_data() == b""


async def test_head_with_a_range(client: QuartClient, sample: bytes) -> None:
    response = await client.head(URL, headers={"Range": "bytes=0-9"})
    assert response.status_code == 206
    assert response.headers["Content-Range"] == f"bytes 0-9/{len(sample)}"
    assert response.headers["Content-Length"] == "10"
    assert await response.get_data() == b""


# -- ranges -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "start", "stop"),
    [
        ("bytes=0-99", 0, 100),
        ("bytes=0-", 0, None),  # what browsers send first for media
        ("bytes=1000-", 1000, None),
        ("bytes=-100", -100, None),
        ("bytes=4000-4999", 4000, 5000),
        ("bytes=8000-99999", 8000, None),  # a range past the end is cut to the size
    ],
)
async def test_range_is_206_partial_content(
    client: QuartClient, sample: bytes, header: str, start: int, stop: int | None
) -> None:
    expected = sample[start:stop]
    first = start if start >= 0 else len(sample) + start
    response = await client.get(URL, headers={"Range": header})
    assert response.status_code == 206
    assert response.headers["Content-Range"] == (
        f"bytes {first}-{first + len(expected) - 1}/{len(sample)}"
    )
    assert response.headers["Content-Length"] == str(len(expected))
    assert response.mimetype == "audio/wav"
    assert await response.get_data() == expected


@pytest.mark.parametrize("header", ["bytes=99999-", "bytes=9000-9100", "bytes=5-2", "pages=1-2"])
async def test_unsatisfiable_range_is_416(client: QuartClient, sample: bytes, header: str) -> None:
    response = await client.get(URL, headers={"Range": header})
    assert response.status_code == 416
    assert response.headers["Content-Range"] == f"bytes */{len(sample)}"


async def test_several_ranges_are_refused(client: QuartClient, sample: bytes) -> None:
    response = await client.get(URL, headers={"Range": "bytes=0-1,5-6"})
    assert response.status_code == 416


async def test_if_range_with_the_current_etag_gives_the_range(
    client: QuartClient, sample: bytes
) -> None:
    etag = (await client.head(URL)).headers["ETag"]
    response = await client.get(URL, headers={"Range": "bytes=10-19", "If-Range": etag})
    assert response.status_code == 206
    assert await response.get_data() == sample[10:20]


async def test_if_range_with_the_current_date_gives_the_range(
    client: QuartClient, sample: bytes
) -> None:
    modified = (await client.head(URL)).headers["Last-Modified"]
    response = await client.get(URL, headers={"Range": "bytes=10-19", "If-Range": modified})
    assert response.status_code == 206
    assert await response.get_data() == sample[10:20]


async def test_if_range_that_is_stale_gives_the_whole_file(
    client: QuartClient, sample: bytes
) -> None:
    response = await client.get(URL, headers={"Range": "bytes=10-19", "If-Range": '"stale"'})
    assert response.status_code == 200
    assert "Content-Range" not in response.headers
    assert await response.get_data() == sample


# -- what is not served -----------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/media/missing.mp4", "/media/../video.py", "/media/%2e%2e/video.py", "/media/notes.txt"],
)
async def test_only_media_in_the_folder_is_served(
    client: QuartClient, media_folder: Path, path: str
) -> None:
    media_folder.mkdir()
    (media_folder / "notes.txt").write_text("not media")
    response = await client.get(path)
    assert response.status_code == 404
