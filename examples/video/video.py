"""Media streaming with quartlike: an HTML5 player fed by Range requests.

Serve it with ``hypercorn video:app`` (or ``scripts/run-example video`` from the
repository root) and open http://127.0.0.1:5000/.

Browsers fetch ``<video>`` and ``<audio>`` sources in pieces: they ask for a
byte range (``Range: bytes=0-``), read the headers and the start of the file,
and ask for other ranges when the user seeks. The ``/media/<name>`` route
answers them with :func:`~quartlike.send_from_directory`, which handles all of
it: ``206 Partial Content`` for a satisfiable range, ``416`` for one outside
the file, ``If-Range`` (a range only if the file has not changed), ``HEAD``,
and ``ETag``/``Last-Modified`` revalidation (``304``). The file is streamed
from disk in chunks; it never sits in memory whole.

The media files live in ``MEDIA_FOLDER`` (``instance/media`` by default, or
``$VIDEO_MEDIA_FOLDER``).
To keep the repository free of binaries the app writes a sample there when
it starts, a one-second tone as a WAV file (media players play audio in a
``<video>`` element too; encoding a real video would need an encoder such as
ffmpeg). Put any ``.mp4``, ``.webm`` or ``.ogv`` file beside it to watch it.
"""

from __future__ import annotations

import math
import os
import struct
import tempfile
import wave

from quartlike import Quart
from quartlike import Response
from quartlike import abort
from quartlike import current_app
from quartlike import render_template
from quartlike import request
from quartlike import run_sync
from quartlike import send_from_directory

#: The files the app serves, by extension, and their content types.
MEDIA_TYPES = {
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".webm": "video/webm",
    ".ogv": "video/ogg",
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
}
SAMPLE_NAME = "sample.wav"
#: The sample: a tone of this pitch (Hz) and length (s), 8-bit mono at this rate.
SAMPLE_PITCH = 440.0
SAMPLE_SECONDS = 1.0
SAMPLE_RATE = 8000

app = Quart(__name__)
app.config["MEDIA_FOLDER"] = os.path.join(app.instance_path, "media")
# Environment variables prefixed with VIDEO_ override it: VIDEO_MEDIA_FOLDER=/srv/media.
app.config.from_prefixed_env("VIDEO")


def write_sample(path: str) -> None:
    """Write the sample tone to ``path`` (about 8 KB), fading in and out to avoid clicks."""
    count = int(SAMPLE_RATE * SAMPLE_SECONDS)
    fade = SAMPLE_RATE // 20
    frames = bytearray()
    for n in range(count):
        envelope = min(1.0, n / fade, (count - n) / fade)
        value = envelope * 0.6 * math.sin(2 * math.pi * SAMPLE_PITCH * n / SAMPLE_RATE)
        frames += struct.pack("B", round(128 + 127 * value))  # 8-bit WAV is unsigned
    # Written under a temporary name and then renamed, so that nobody (a reader, or
    # another request making the sample at the same time) sees half a file.
    with tempfile.NamedTemporaryFile(dir=os.path.dirname(path), delete=False) as partial:
        try:
            with wave.open(partial, "wb") as out:
                out.setnchannels(1)
                out.setsampwidth(1)
                out.setframerate(SAMPLE_RATE)
                out.writeframes(bytes(frames))
        except BaseException:
            os.unlink(partial.name)
            raise
    os.replace(partial.name, path)


def ensure_sample(folder: str) -> None:
    """Create ``folder`` and the sample in it, unless they exist."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, SAMPLE_NAME)
    if not os.path.exists(path):
        write_sample(path)


def list_media(folder: str) -> list[str]:
    """The names of the media files in ``folder`` (the sample included), sorted."""
    ensure_sample(folder)
    return sorted(
        entry.name
        for entry in os.scandir(folder)
        if entry.is_file() and os.path.splitext(entry.name)[1].lower() in MEDIA_TYPES
    )


@app.before_serving
async def prepare_media() -> None:
    await run_sync(ensure_sample)(app.config["MEDIA_FOLDER"])


@app.get("/")
async def index() -> str:
    # Listing a folder touches the disk, so it runs in the thread pool.
    names = await run_sync(list_media)(current_app.config["MEDIA_FOLDER"])
    current = request.args.get("name", SAMPLE_NAME)
    if current not in names:
        abort(404, description=f"There is no media file {current!r}.")
    mimetype = MEDIA_TYPES[os.path.splitext(current)[1].lower()]
    page: str = await render_template("index.html", names=names, current=current, mimetype=mimetype)
    return page


@app.get("/media/<path:name>")
async def media(name: str) -> Response:
    mimetype = MEDIA_TYPES.get(os.path.splitext(name)[1].lower())
    if mimetype is None:
        abort(404)
    # conditional=True (the default) is what answers Range, If-Range,
    # If-None-Match and If-Modified-Since; unsafe names are a 404.
    return await send_from_directory(
        current_app.config["MEDIA_FOLDER"], name, mimetype=mimetype, conditional=True
    )
