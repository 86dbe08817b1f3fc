"""``flask.helpers`` for the sync face: the functions views call, with sync signatures.

At run time these are the core's functions (or thin wrappers of them): in
sync code they return values, through the sync bridge where the work is
asynchronous; on the event loop they return awaitables, as in the async face.
"""

from __future__ import annotations

import os
import typing as t
from datetime import datetime

from .. import files as _files
from .. import helpers as _helpers
from .. import templating as _templating
from ..cli import get_load_dotenv as get_load_dotenv
from ..flashing import flash as _flash
from ..flashing import get_flashed_messages as get_flashed_messages
from ..helpers import abort as abort
from ..helpers import get_debug_flag as get_debug_flag
from ..helpers import redirect as redirect
from ..helpers import url_for as url_for
from ..scaffold import get_root_path as get_root_path
from ..streaming import stream_with_context as stream_with_context
from ..sync import dual

if t.TYPE_CHECKING:
    from ..files import MaxAge
    from .wrappers import Response

__all__ = [
    "abort",
    "flash",
    "get_debug_flag",
    "get_flashed_messages",
    "get_load_dotenv",
    "get_root_path",
    "get_template_attribute",
    "make_response",
    "redirect",
    "send_file",
    "send_from_directory",
    "stream_with_context",
    "url_for",
]


def make_response(*args: t.Any) -> Response:
    """Turn view-style return values into a response, to change it before returning.

    No argument gives an empty response; one is converted as a view's return
    value; several are treated as a tuple ``(body, status, headers)``.
    """
    return t.cast("Response", _helpers.make_response(*args))


def flash(message: str, category: str = "message") -> None:
    """Store ``message`` in the session, to be shown by a later request.

    :param category: ``"message"`` (the default), ``"error"``, ``"info"``,
        ``"warning"`` or any other label.
    """
    return t.cast(None, _flash(message, category))


def get_template_attribute(template_name: str, attribute: str) -> t.Any:
    """Load a macro or variable that a template defines; a macro returns its text when called."""
    return _templating.get_template_attribute(template_name, attribute)


def send_file(
    path_or_file: str | os.PathLike[str] | t.IO[bytes],
    mimetype: str | None = None,
    as_attachment: bool = False,
    download_name: str | None = None,
    conditional: bool = True,
    etag: bool | str = True,
    last_modified: datetime | int | float | None = None,
    max_age: MaxAge = None,
) -> Response:
    """Send a file's contents (a path, relative to the app's root path, or a
    binary file object) to the client, streamed; see :func:`quartlike.send_file`.
    """
    return t.cast(
        "Response",
        dual(
            _files.send_file(
                path_or_file,
                mimetype=mimetype,
                as_attachment=as_attachment,
                download_name=download_name,
                conditional=conditional,
                etag=etag,
                last_modified=last_modified,
                max_age=max_age,
            )
        ),
    )


def send_from_directory(
    directory: str | os.PathLike[str], path: str | os.PathLike[str], **kwargs: t.Any
) -> Response:
    """Send the file at ``path`` inside ``directory`` (404 for anything outside it);
    ``kwargs`` are those of :func:`send_file`.
    """
    return t.cast("Response", dual(_files.send_from_directory(directory, path, **kwargs)))
