"""``request.cookies`` parses the usual Cookie header without werkzeug's regex loop;
the result must be werkzeug's ``parse_cookie`` for every header, usual or not."""

from __future__ import annotations

import pickle

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.datastructures import MultiDict
from werkzeug.sansio.http import parse_cookie

from quartlike import Quart
from quartlike import request
from quartlike.wrappers.base import _parse_plain_cookie

PIECES = ["a", "b", "session", "=", ";", "; ", " ", "\t", '"', "\\", "x=1", "é", "%20", ";;", "=v"]


class OrderedPairs(MultiDict[str, str]):
    """A storage class of the app's own: built through its __init__."""


@settings(database=None, max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=12).map("".join))
def test_same_as_werkzeug(header: str) -> None:
    for cls in (ImmutableMultiDict, MultiDict, OrderedPairs):
        expected = parse_cookie(header, cls=cls)
        fast = _parse_plain_cookie(header, cls)
        if fast is not None:
            assert type(fast) is cls
            assert list(fast.items(multi=True)) == list(expected.items(multi=True))
            assert fast == expected


def test_usual_headers_take_the_fast_path_and_behave_like_werkzeugs() -> None:
    header = "session=abc.def; theme=dark; theme=light; flag; =skipped; empty="
    fast = _parse_plain_cookie(header, ImmutableMultiDict)
    assert fast is not None
    assert fast == parse_cookie(header, cls=ImmutableMultiDict)
    assert fast.getlist("theme") == ["dark", "light"]
    assert fast["flag"] == "" and fast["empty"] == ""
    assert pickle.loads(pickle.dumps(fast)) == fast
    assert hash(fast) == hash(parse_cookie(header, cls=ImmutableMultiDict))
    for unusual in ('a="quoted"', "a=1;  b=2", "a b=1", "a=1\t"):
        assert _parse_plain_cookie(unusual, ImmutableMultiDict) is None


async def test_request_cookies() -> None:
    app = Quart(__name__)

    @app.route("/")
    async def index() -> dict[str, list[str]]:
        return {k: request.cookies.getlist(k) for k in request.cookies}

    client = app.test_client(use_cookies=False)
    response = await client.get("/", headers={"Cookie": "a=1; b=2; a=3"})
    assert await response.get_json() == {"a": ["1", "3"], "b": ["2"]}
    response = await client.get("/", headers={"Cookie": 'a="x\\"y"; b=2'})
    assert await response.get_json() == {"a": ['x"y'], "b": ["2"]}
