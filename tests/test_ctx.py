from __future__ import annotations

import asyncio
import collections.abc as cabc
import contextvars
import pathlib
import random
import textwrap
import typing as t

import pytest

from quartlike import Quart
from quartlike import Response
from quartlike import after_this_request
from quartlike import copy_current_request_context
from quartlike import current_app
from quartlike import g
from quartlike import has_app_context
from quartlike import has_request_context
from quartlike import request
from quartlike.ctx import _AppCtxGlobals
from quartlike.testing import QuartClient

# -- app context ---------------------------------------------------------------------------


async def test_app_context_exposes_current_app_and_g(app: Quart) -> None:
    assert not has_app_context()
    async with app.app_context() as ctx:
        assert has_app_context()
        assert not has_request_context()
        assert current_app._get_current_object() is app  # type: ignore[attr-defined]
        assert g._get_current_object() is ctx.g
    assert not has_app_context()


async def test_each_app_context_has_its_own_g(app: Quart) -> None:
    async with app.app_context():
        g.value = "outer"
        async with app.app_context():
            assert "value" not in g
            g.value = "inner"
        assert g.value == "outer"


async def test_nested_app_contexts_of_different_apps(app: Quart) -> None:
    other = Quart("other")
    async with app.app_context():
        async with other.app_context():
            assert current_app.name == "other"
        assert current_app.name == app.name


async def test_same_app_context_pushed_twice_tears_down_once(app: Quart) -> None:
    calls: list[BaseException | None] = []

    @app.teardown_appcontext
    def teardown(exc: BaseException | None) -> None:
        calls.append(exc)

    ctx = app.app_context()
    async with ctx:
        async with ctx:
            assert current_app.name == app.name
        assert calls == []
        assert has_app_context()
    assert calls == [None]
    assert not has_app_context()


async def test_app_context_teardown_receives_the_error(app: Quart) -> None:
    calls: list[BaseException | None] = []

    @app.teardown_appcontext
    async def teardown(exc: BaseException | None) -> None:
        calls.append(exc)

    error = ValueError("boom")
    with pytest.raises(ValueError):
        async with app.app_context():
            raise error
    assert calls == [error]


async def test_popping_the_wrong_app_context_is_an_error(app: Quart) -> None:
    first = app.app_context()
    second = app.app_context()
    first.push()
    second.push()
    with pytest.raises(AssertionError, match="Popped the wrong app context"):
        await first.pop(None)
    # The pop still restored the state from before ``first`` was pushed.
    assert not has_app_context()


# -- g -------------------------------------------------------------------------------------


async def test_g_attributes(app: Quart) -> None:
    async with app.app_context():
        g.user = "ada"
        assert g.user == "ada"
        del g.user
        with pytest.raises(AttributeError, match="user"):
            g.user  # noqa: B018
        with pytest.raises(AttributeError):
            del g.user


async def test_g_mapping_helpers(app: Quart) -> None:
    async with app.app_context():
        assert g.get("missing") is None
        assert g.get("missing", 3) == 3
        assert g.setdefault("a", 1) == 1
        assert g.setdefault("a", 2) == 1
        g.b = 2
        assert "a" in g
        assert "zzz" not in g
        assert sorted(g) == ["a", "b"]
        assert g.pop("a") == 1
        assert g.pop("a", "gone") == "gone"
        with pytest.raises(KeyError):
            g.pop("a")
        assert list(g) == ["b"]


async def test_g_repr_names_the_app(app: Quart) -> None:
    async with app.app_context():
        assert repr(g) == f"<quartlike.g of {app.name!r}>"
    # Outside a context the namespace object falls back to the default repr.
    assert repr(_AppCtxGlobals()).startswith("<quartlike.ctx._AppCtxGlobals object")


async def test_app_ctx_globals_class_override(app: Quart) -> None:
    class Globals(_AppCtxGlobals):
        greeting = "hello"

        def shout(self) -> str:
            return self.greeting.upper()

    app.app_ctx_globals_class = Globals

    @app.route("/")
    async def index() -> str:
        return t.cast(str, g.shout())

    async with app.app_context():
        assert isinstance(g._get_current_object(), Globals)
        assert g.greeting == "hello"
    response = await app.test_client().get("/")
    assert await response.get_data() == b"HELLO"


# -- outside any context -------------------------------------------------------------------


def test_current_app_outside_context_explains_the_fix() -> None:
    with pytest.raises(RuntimeError, match="Working outside of application context") as info:
        current_app.name  # noqa: B018
    assert "async with app.app_context():" in str(info.value)


def test_g_outside_context_explains_the_fix() -> None:
    with pytest.raises(RuntimeError, match="Working outside of application context"):
        g.x = 1


async def test_request_outside_context_explains_the_fix(app: Quart) -> None:
    async with app.app_context():
        with pytest.raises(RuntimeError, match="Working outside of request context") as info:
            request.path  # noqa: B018
    assert 'app.test_request_context("/path")' in str(info.value)


# -- request context -----------------------------------------------------------------------


async def test_test_request_context_builds_the_request(app: Quart) -> None:
    async with app.test_request_context(
        "/items/7",
        method="PUT",
        headers={"X-Token": "abc"},
        query_string={"page": "2", "q": "a b"},
    ):
        assert has_request_context()
        assert has_app_context()
        assert request.path == "/items/7"
        assert request.method == "PUT"
        assert request.headers["X-Token"] == "abc"
        assert request.args.to_dict() == {"page": "2", "q": "a b"}
        assert current_app.name == app.name
    assert not has_request_context()
    assert not has_app_context()


async def test_test_request_context_query_in_path_and_string(app: Quart) -> None:
    async with app.test_request_context("/p?a=1"):
        assert request.args["a"] == "1"
    async with app.test_request_context("/p", query_string="b=2&b=3"):
        assert request.args.getlist("b") == ["2", "3"]


async def test_test_request_context_json_body(app: Quart) -> None:
    async with app.test_request_context("/", method="POST", json={"a": [1, 2]}):
        assert request.is_json
        assert await request.get_json() == {"a": [1, 2]}
        assert await request.get_data() == b'{"a": [1, 2]}'


async def test_test_request_context_data_and_form_bodies(app: Quart) -> None:
    async with app.test_request_context("/", method="POST", data=b"raw\x00bytes"):
        assert await request.get_data() == b"raw\x00bytes"
        assert await request.data == b"raw\x00bytes"
    async with app.test_request_context("/", method="POST", data="text"):
        assert await request.get_data(as_text=True) == "text"
    async with app.test_request_context("/", method="POST", form={"name": "ada"}):
        assert (await request.form)["name"] == "ada"


async def test_test_request_context_matches_the_url(app: Quart) -> None:
    @app.route("/user/<int:uid>")
    async def user(uid: int) -> str:
        return str(uid)

    async with app.test_request_context("/user/5"):
        assert request.endpoint == "user"
        assert request.view_args == {"uid": 5}
    async with app.test_request_context("/nope"):
        assert request.url_rule is None
        assert request.routing_exception is not None
        assert request.routing_exception.code == 404


async def test_request_context_reuses_the_same_apps_context(app: Quart) -> None:
    async with app.app_context():
        g.marker = "kept"
        async with app.test_request_context("/"):
            assert g.marker == "kept"
        assert g.marker == "kept"


async def test_request_context_pushes_its_own_app_context_for_another_app(app: Quart) -> None:
    other = Quart("other")
    async with other.app_context():
        g.marker = "other"
        async with app.test_request_context("/"):
            assert current_app.name == app.name
            assert "marker" not in g
        assert current_app.name == "other"
        assert g.marker == "other"


async def test_request_context_teardown_runs_on_last_pop(app: Quart) -> None:
    calls: list[str] = []

    @app.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        calls.append(request.path)

    ctx = app.test_request_context("/here")
    async with ctx:
        async with ctx:
            pass
        assert calls == []
        assert request.path == "/here"
    assert calls == ["/here"]


# -- after_this_request --------------------------------------------------------------------


async def test_after_this_request_applies_to_one_request(app: Quart, client: QuartClient) -> None:
    @app.route("/")
    async def index() -> str:
        if request.args.get("tag"):

            @after_this_request
            def add_header(response: Response) -> Response:
                response.headers["X-Tag"] = request.args["tag"]
                return response

        return "ok"

    tagged = await client.get("/?tag=yes")
    assert tagged.headers["X-Tag"] == "yes"
    plain = await client.get("/")
    assert "X-Tag" not in plain.headers


async def test_after_this_request_runs_before_after_request_hooks(
    app: Quart, client: QuartClient
) -> None:
    order: list[str] = []

    @app.after_request
    async def hook(response: Response) -> Response:
        order.append("after_request")
        return response

    @app.route("/")
    async def index() -> str:
        @after_this_request
        async def callback(response: Response) -> Response:
            order.append("after_this_request")
            return response

        return "ok"

    await client.get("/")
    assert order == ["after_this_request", "after_request"]


async def test_after_this_request_outside_request(app: Quart) -> None:
    async with app.app_context():
        with pytest.raises(RuntimeError, match="can only be used in a request"):
            after_this_request(lambda response: response)


# -- copy_current_request_context ----------------------------------------------------------


async def test_copy_current_request_context_async_runs_later(
    app: Quart, client: QuartClient
) -> None:
    later: list[cabc.Callable[[], cabc.Coroutine[t.Any, t.Any, str]]] = []

    @app.route("/work")
    async def work() -> str:
        g.who = request.args["who"]

        @copy_current_request_context
        async def job() -> str:
            await asyncio.sleep(0)
            return f"{request.path} {request.args['who']} {current_app.name}"

        later.append(job)
        return "queued"

    response = await client.get("/work?who=ada")
    assert await response.get_data() == b"queued"
    assert not has_request_context()
    result = await asyncio.create_task(later[0]())
    assert result == f"/work ada {app.name}"
    assert not has_request_context()


async def test_copy_current_request_context_task_in_a_fresh_context(
    app: Quart, client: QuartClient
) -> None:
    tasks: list[asyncio.Task[str]] = []
    release = asyncio.Event()

    @app.route("/spawn")
    async def spawn() -> str:
        @copy_current_request_context
        async def job() -> str:
            await release.wait()
            return request.path

        # An empty context: only the copied request context can supply ``request``.
        tasks.append(asyncio.create_task(job(), context=contextvars.Context()))
        return "spawned"

    await client.get("/spawn?x=1")
    release.set()  # the view's request has been finished and torn down by now
    assert await tasks[0] == "/spawn"


async def test_copy_current_request_context_sync(app: Quart, client: QuartClient) -> None:
    later: list[cabc.Callable[[int], str]] = []

    @app.route("/sync")
    async def view() -> str:
        @copy_current_request_context
        def job(n: int) -> str:
            return f"{request.path}:{n}:{current_app.name}"

        later.append(job)
        return "ok"

    await client.get("/sync")
    assert later[0](3) == f"/sync:3:{app.name}"
    assert not has_request_context()
    assert not has_app_context()
    # Also from a worker thread.
    result = await asyncio.get_running_loop().run_in_executor(None, later[0], 4)
    assert result == f"/sync:4:{app.name}"


async def test_copy_current_request_context_needs_a_request(app: Quart) -> None:
    async with app.app_context():
        with pytest.raises(RuntimeError, match="needs an active request"):
            copy_current_request_context(lambda: None)


# -- isolation and threads -----------------------------------------------------------------


async def test_concurrent_requests_do_not_share_contexts(app: Quart, client: QuartClient) -> None:
    @app.before_request
    async def remember() -> None:
        g.value = request.args["n"]

    @app.route("/")
    async def index() -> str:
        await asyncio.sleep(random.uniform(0, 0.01))
        assert request.args["n"] == g.value
        await asyncio.sleep(random.uniform(0, 0.01))
        return f"{g.value}:{request.args['n']}"

    responses = await asyncio.gather(
        *(client.get("/", query_string={"n": str(i)}) for i in range(50))
    )
    bodies = [await r.get_data(as_text=True) for r in responses]
    assert bodies == [f"{i}:{i}" for i in range(50)]


async def test_contexts_visible_in_sync_views(app: Quart, client: QuartClient) -> None:
    @app.before_request
    async def set_g() -> None:
        g.from_hook = "hook"

    @app.route("/sync/<name>")
    def sync_view(name: str) -> str:
        return f"{current_app.name}|{request.path}|{g.from_hook}|{name}|{has_request_context()}"

    response = await client.get("/sync/x")
    assert await response.get_data(as_text=True) == f"{app.name}|/sync/x|hook|x|True"


async def test_g_set_in_sync_hook_is_seen_by_async_view(app: Quart, client: QuartClient) -> None:
    @app.before_request
    def set_g() -> None:
        g.value = "from thread"

    @app.route("/")
    async def index() -> str:
        return t.cast(str, g.value)

    response = await client.get("/")
    assert await response.get_data() == b"from thread"


# -- the leak detector in conftest ---------------------------------------------------------


def test_leak_detector_fails_tests_that_leave_contexts(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    conftest = pathlib.Path(__file__).with_name("conftest.py")
    pytester.makeconftest(conftest.read_text())
    # The conftest may load plugins from the ``tests`` folder by module name.
    monkeypatch.setenv("PYTHONPATH", str(conftest.parent.parent))
    pytester.makeini(
        textwrap.dedent(
            """
            [pytest]
            asyncio_mode = auto
            asyncio_default_fixture_loop_scope = function
            filterwarnings = error
            """
        )
    )
    pytester.makepyfile(
        textwrap.dedent(
            """
            from quartlike import Quart

            async def test_async_leak(app: Quart) -> None:
                app.app_context().push()

            async def test_request_leak(app: Quart) -> None:
                app.test_request_context("/").push()

            def test_sync_leak(app: Quart) -> None:
                app.app_context().push()

            async def test_clean(app: Quart) -> None:
                async with app.test_request_context("/"):
                    pass

            def test_clean_sync() -> None:
                pass
            """
        )
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=5, errors=3)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_async_leak*"])
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_request_leak*"])
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_sync_leak*"])
