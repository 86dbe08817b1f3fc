"""``flask.json.tag`` for the sync face: the tagged serializer of session cookies."""

from __future__ import annotations

from ...json.tag import JSONTag as JSONTag
from ...json.tag import PassDict as PassDict
from ...json.tag import PassList as PassList
from ...json.tag import TagBytes as TagBytes
from ...json.tag import TagDateTime as TagDateTime
from ...json.tag import TagDict as TagDict
from ...json.tag import TaggedJSONSerializer as TaggedJSONSerializer
from ...json.tag import TagMarkup as TagMarkup
from ...json.tag import TagTuple as TagTuple
from ...json.tag import TagUUID as TagUUID

__all__ = [
    "JSONTag",
    "PassDict",
    "PassList",
    "TagBytes",
    "TagDateTime",
    "TagDict",
    "TagMarkup",
    "TagTuple",
    "TagUUID",
    "TaggedJSONSerializer",
]
