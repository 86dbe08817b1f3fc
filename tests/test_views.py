from __future__ import annotations

import functools
import threading
import typing as t

import flask
import flask.views
import pytest

import quartlike.views
from quartlike import Blueprint
from quartlike import Quart
from quartlike import Response
from quartlike import request
from quartlike.testing import QuartClient
from quartlike.views import MethodView
from quartlike.views import View


async def text(response: Response) -> str:
    return t.cast(str, await response.get_data(as_text=True))


# -- View ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_view_dispatch_request_sync_or_async(
    app: Quart, client: QuartClient, kind: str
) -> None:
    class SyncGreeting(View):
        def dispatch_request(self, name: str) -> str:
            return f"sync hello {name} {request.method} {threading.current_thread().name}"

    class AsyncGreeting(View):
        async def dispatch_request(self, name: str) -> str:
            return f"async hello {name} {request.method} {threading.current_thread().name}"

    cls = SyncGreeting if kind == "sync" else AsyncGreeting
    app.add_url_rule("/hello/<name>", view_func=cls.as_view("hello"))
    body = await text(await client.get("/hello/ada"))
    assert body.startswith(f"{kind} hello ada GET ")
    # Sync code runs in the app's thread pool, async code on the loop's thread.
    assert (threading.current_thread().name in body) == (kind == "async")


async def test_view_function_attributes() -> None:
    def stamp(f: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
        async def stamped(**kwargs: t.Any) -> t.Any:
            return await f(**kwargs)

        return stamped

    class Documented(View):
        """The docs."""

        methods = ["GET", "POST"]
        provide_automatic_options = False
        decorators = [stamp]

        def dispatch_request(self) -> str:
            return "x"

    view = Documented.as_view("documented")
    assert view.__name__ == "documented"
    assert view.__doc__ == "The docs."
    assert view.__module__ == __name__
    assert view.view_class is Documented  # type: ignore[attr-defined]
    assert view.methods == ["GET", "POST"]  # type: ignore[attr-defined]
    assert view.provide_automatic_options is False  # type: ignore[attr-defined]


async def test_view_class_arguments_reach_the_constructor(app: Quart, client: QuartClient) -> None:
    class Templated(View):
        def __init__(self, template: str, *, suffix: str = "") -> None:
            self.template = template
            self.suffix = suffix

        async def dispatch_request(self) -> str:
            return self.template.format(path=request.path) + self.suffix

    app.add_url_rule("/a", view_func=Templated.as_view("a", "at {path}", suffix="!"))
    app.add_url_rule("/b", view_func=Templated.as_view("b", "b: {path}"))
    assert await text(await client.get("/a")) == "at /a!"
    assert await text(await client.get("/b")) == "b: /b"


@pytest.mark.parametrize("every", [True, False])
async def test_init_every_request(app: Quart, client: QuartClient, every: bool) -> None:
    created: list[object] = []

    class Counter(View):
        init_every_request = every

        def __init__(self) -> None:
            created.append(self)
            self.count = 0

        async def dispatch_request(self) -> str:
            self.count += 1
            return str(self.count)

    view = Counter.as_view("counter")
    assert len(created) == (0 if every else 1)  # without it, one instance at once
    app.add_url_rule("/", view_func=view)
    bodies = [await text(await client.get("/")) for _ in range(3)]
    if every:
        assert bodies == ["1", "1", "1"]
        assert len(created) == 3
    else:
        assert bodies == ["1", "2", "3"]
        assert len(created) == 1


async def test_view_methods_attribute(app: Quart, client: QuartClient) -> None:
    class Echo(View):
        methods = ["GET", "POST"]

        async def dispatch_request(self) -> str:
            return request.method

    app.add_url_rule("/", view_func=Echo.as_view("echo"))
    assert await text(await client.post("/")) == "POST"
    assert await text(await client.get("/")) == "GET"
    assert (await client.put("/")).status_code == 405
    response = await client.options("/")
    assert set(response.allow) == {"GET", "HEAD", "POST", "OPTIONS"}


async def test_view_without_methods_accepts_get_only(app: Quart, client: QuartClient) -> None:
    class Plain(View):
        def dispatch_request(self) -> str:
            return "plain"

    app.add_url_rule("/", view_func=Plain.as_view("plain"))
    assert await text(await client.get("/")) == "plain"
    assert (await client.post("/")).status_code == 405


async def test_view_without_dispatch_request_fails(app: Quart, client: QuartClient) -> None:
    app.add_url_rule("/", view_func=View.as_view("nothing"))
    with pytest.raises(NotImplementedError, match="must implement 'dispatch_request'"):
        await client.get("/")


async def test_decorators_apply_in_order(app: Quart, client: QuartClient) -> None:
    calls: list[str] = []

    def sync_decorator(label: str) -> t.Callable[[t.Callable[..., t.Any]], t.Any]:
        # A sync wrapper around the async view, as many Flask extensions write them:
        # it returns the view's coroutine, which quartlike awaits.
        def decorator(f: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
            @functools.wraps(f)
            def wrapper(**kwargs: t.Any) -> t.Any:
                calls.append(label)
                return f(**kwargs)

            return wrapper

        return decorator

    def async_decorator(label: str) -> t.Callable[[t.Callable[..., t.Any]], t.Any]:
        def decorator(f: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
            @functools.wraps(f)
            async def wrapper(**kwargs: t.Any) -> t.Any:
                calls.append(label)
                rv = await app.ensure_async(f)(**kwargs)
                return f"{label}({rv})"

            return wrapper

        return decorator

    class Decorated(View):
        decorators = [async_decorator("inner"), sync_decorator("middle"), async_decorator("outer")]

        def dispatch_request(self, n: int) -> str:
            calls.append("view")
            return str(n)

    view = Decorated.as_view("decorated")
    app.add_url_rule("/<int:n>", view_func=view)
    assert await text(await client.get("/5")) == "outer(inner(5))"
    assert calls == ["outer", "middle", "inner", "view"]
    assert app.view_functions["decorated"] is view
    assert view.__name__ == "decorated"


async def test_decorator_can_short_circuit(app: Quart, client: QuartClient) -> None:
    def require_token(f: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
        async def wrapper(**kwargs: t.Any) -> t.Any:
            if request.headers.get("X-Token") != "secret":
                return "denied", 401
            return await f(**kwargs)

        return wrapper

    class Secret(MethodView):
        decorators = [require_token]

        async def get(self) -> str:
            return "the secret"

    app.add_url_rule("/", view_func=Secret.as_view("secret"))
    assert (await client.get("/")).status_code == 401
    assert await text(await client.get("/", headers={"X-Token": "secret"})) == "the secret"


# -- MethodView ----------------------------------------------------------------------------------


class Items(MethodView):
    """Sync and async handlers side by side."""

    async def get(self, item_id: int | None = None) -> str:
        return f"get {item_id} on {threading.current_thread().name}"

    def post(self) -> tuple[str, int]:
        return f"post {request.args.get('q')} on {threading.current_thread().name}", 201

    def delete(self, item_id: int) -> tuple[str, int]:
        return "", 204


async def test_method_view_dispatches_by_method(app: Quart, client: QuartClient) -> None:
    view = Items.as_view("items")
    app.add_url_rule("/items/", view_func=view, methods=["GET", "POST"])
    app.add_url_rule("/items/<int:item_id>", view_func=view, methods=["GET", "DELETE"])
    loop_thread = threading.current_thread().name

    body = await text(await client.get("/items/"))
    assert body == f"get None on {loop_thread}"
    assert await text(await client.get("/items/4")) == f"get 4 on {loop_thread}"
    response = await client.post("/items/?q=x")
    assert response.status_code == 201
    body = await text(response)
    assert body.startswith("post x on ") and not body.endswith(loop_thread)
    assert (await client.delete("/items/4")).status_code == 204
    assert (await client.delete("/items/")).status_code == 405
    assert (await client.post("/items/4")).status_code == 405


def test_method_view_methods_are_derived() -> None:
    assert Items.methods == {"GET", "POST", "DELETE"}
    assert MethodView.methods is None


async def test_method_view_head_falls_back_to_get(app: Quart, client: QuartClient) -> None:
    seen: list[str] = []

    class OnlyGet(MethodView):
        def get(self) -> Response:
            seen.append(request.method)
            return Response("body", headers={"X-Seen": request.method})

    app.add_url_rule("/", view_func=OnlyGet.as_view("only_get"))
    response = await client.head("/")
    assert response.status_code == 200
    assert response.headers["X-Seen"] == "HEAD"
    assert await response.get_data() == b""
    assert seen == ["HEAD"]


async def test_method_view_explicit_head(app: Quart, client: QuartClient) -> None:
    class WithHead(MethodView):
        async def get(self) -> str:
            return "get"

        async def head(self) -> Response:
            return Response("", headers={"X-Head": "own"})

    assert WithHead.methods == {"GET", "HEAD"}
    app.add_url_rule("/", view_func=WithHead.as_view("with_head"))
    assert (await client.head("/")).headers["X-Head"] == "own"


async def test_method_view_automatic_options(app: Quart, client: QuartClient) -> None:
    app.add_url_rule("/", view_func=Items.as_view("items"))
    response = await client.options("/")
    assert response.status_code == 200
    assert set(response.allow) == {"GET", "HEAD", "POST", "DELETE", "OPTIONS"}
    assert await response.get_data() == b""


async def test_method_view_own_options_handler(app: Quart, client: QuartClient) -> None:
    class Custom(MethodView):
        async def get(self) -> str:
            return "get"

        def options(self) -> Response:
            return Response("", headers={"Allow": "GET", "X-Custom": "1"})

    assert Custom.methods == {"GET", "OPTIONS"}
    app.add_url_rule("/", view_func=Custom.as_view("custom"))
    response = await client.options("/")
    assert response.headers["X-Custom"] == "1"
    assert list(response.allow) == ["GET"]


async def test_provide_automatic_options_false(app: Quart, client: QuartClient) -> None:
    class NoOptions(MethodView):
        provide_automatic_options = False

        async def get(self) -> str:
            return "get"

    app.add_url_rule("/", view_func=NoOptions.as_view("no_options"))
    assert (await client.options("/")).status_code == 405
    assert await text(await client.get("/")) == "get"


async def test_method_listed_without_handler_is_an_error(app: Quart, client: QuartClient) -> None:
    class Incomplete(MethodView):
        methods = ["GET", "PUT"]

        async def get(self) -> str:
            return "get"

    app.add_url_rule("/", view_func=Incomplete.as_view("incomplete"))
    assert await text(await client.get("/")) == "get"
    with pytest.raises(RuntimeError, match="no handler for 'PUT'"):
        await client.put("/")


async def test_method_view_inheritance(app: Quart, client: QuartClient) -> None:
    class Base(MethodView):
        async def get(self) -> str:
            return f"base get ({type(self).__name__})"

    class Child(Base):
        def post(self) -> str:
            return "child post"

    class GrandChild(Child):
        async def get(self) -> str:
            return "grandchild get"

    assert Base.methods == {"GET"}
    assert Child.methods == {"GET", "POST"}
    assert GrandChild.methods == {"GET", "POST"}
    app.add_url_rule("/child", view_func=Child.as_view("child"))
    app.add_url_rule("/grandchild", view_func=GrandChild.as_view("grandchild"))
    assert await text(await client.get("/child")) == "base get (Child)"
    assert await text(await client.post("/child")) == "child post"
    assert await text(await client.get("/grandchild")) == "grandchild get"
    assert await text(await client.post("/grandchild")) == "child post"


async def test_method_view_handler_from_a_mixin(app: Quart, client: QuartClient) -> None:
    class DeleteMixin:
        async def delete(self) -> str:
            return "deleted by mixin"

    class Resource(DeleteMixin, MethodView):
        def get(self) -> str:
            return "get"

    assert Resource.methods == {"GET", "DELETE"}
    app.add_url_rule("/", view_func=Resource.as_view("resource"))
    assert await text(await client.delete("/")) == "deleted by mixin"


async def test_method_view_explicit_methods_are_inherited(app: Quart, client: QuartClient) -> None:
    class Limited(MethodView):
        methods = ["GET"]

        async def get(self) -> str:
            return "get"

        async def post(self) -> str:
            return "post"

    class MoreLimited(Limited):
        async def patch(self) -> str:
            return "patch"

    assert MoreLimited.methods == {"GET", "POST", "PATCH"}
    app.add_url_rule("/limited", view_func=Limited.as_view("limited"))
    assert (await client.post("/limited")).status_code == 405


async def test_method_view_sync_and_async_override_each_other(
    app: Quart, client: QuartClient
) -> None:
    class AsyncBase(MethodView):
        async def get(self) -> str:
            return "async"

    class SyncChild(AsyncBase):
        def get(self) -> str:  # type: ignore[override]
            return f"sync on loop thread: {threading.current_thread() is main}"

    main = threading.current_thread()
    app.add_url_rule("/", view_func=SyncChild.as_view("sync_child"))
    assert await text(await client.get("/")) == "sync on loop thread: False"


async def test_method_view_init_every_request_false(app: Quart, client: QuartClient) -> None:
    class Shared(MethodView):
        init_every_request = False

        def __init__(self) -> None:
            self.hits = 0

        def get(self) -> str:
            self.hits += 1
            return str(self.hits)

    app.add_url_rule("/", view_func=Shared.as_view("shared"))
    assert [await text(await client.get("/")) for _ in range(2)] == ["1", "2"]


async def test_method_view_custom_dispatch_request(app: Quart, client: QuartClient) -> None:
    class Wrapped(MethodView):
        async def dispatch_request(self, **kwargs: t.Any) -> t.Any:
            rv = await super().dispatch_request(**kwargs)
            return f"[{rv}]"

        def get(self, name: str) -> str:
            return name

    app.add_url_rule("/<name>", view_func=Wrapped.as_view("wrapped"))
    assert await text(await client.get("/x")) == "[x]"


async def test_method_view_on_a_blueprint(app: Quart, client: QuartClient) -> None:
    bp = Blueprint("api", __name__, url_prefix="/api")

    class Users(MethodView):
        async def get(self, user_id: int) -> str:
            return f"user {user_id} via {request.endpoint}"

    bp.add_url_rule("/users/<int:user_id>", view_func=Users.as_view("users"))
    app.register_blueprint(bp)
    assert await text(await client.get("/api/users/2")) == "user 2 via api.users"


def test_views_module_is_importable() -> None:
    assert quartlike.views.View is View
    assert quartlike.views.MethodView is MethodView
    assert "get" in quartlike.views.http_method_funcs


# -- differential: derived methods match Flask ---------------------------------------------------


def _hierarchy(base: type[t.Any]) -> dict[str, t.Any]:
    """The same class hierarchy on Flask's or quartlike's MethodView."""

    class Mixin:
        def put(self) -> None: ...

    class A(base):  # type: ignore[misc,valid-type]
        def get(self) -> None: ...

    class B(A):
        def post(self) -> None: ...

    class C(Mixin, B):
        pass

    class D(C):
        methods = ["GET"]

    class E(D):
        def patch(self) -> None: ...

    class F(base):  # type: ignore[misc,valid-type]
        def options(self) -> None: ...

        def head(self) -> None: ...

        def trace(self) -> None: ...

    class G(base):  # type: ignore[misc,valid-type]
        pass

    return {cls.__name__: cls.methods for cls in (A, B, C, D, E, F, G)}


def test_derived_methods_match_flask() -> None:
    def normal(methods: dict[str, t.Any]) -> dict[str, t.Any]:
        return {k: None if v is None else sorted(v) for k, v in methods.items()}

    assert normal(_hierarchy(MethodView)) == normal(_hierarchy(flask.views.MethodView))


def _flask_app() -> flask.Flask:
    app = flask.Flask(__name__)

    class Resource(flask.views.MethodView):
        def get(self, n: int) -> str:
            return f"get {n}"

        def post(self, n: int) -> tuple[str, int]:
            return f"post {n}", 201

    app.add_url_rule("/r/<int:n>", view_func=Resource.as_view("r"))
    return app


async def test_method_view_responses_match_flask(app: Quart, client: QuartClient) -> None:
    class Resource(MethodView):
        async def get(self, n: int) -> str:
            return f"get {n}"

        def post(self, n: int) -> tuple[str, int]:
            return f"post {n}", 201

    app.add_url_rule("/r/<int:n>", view_func=Resource.as_view("r"))
    flask_client = _flask_app().test_client()
    for method in ("GET", "POST", "HEAD", "OPTIONS", "PUT", "DELETE"):
        theirs = flask_client.open("/r/3", method=method)
        ours = await client.open("/r/3", method=method)
        assert ours.status_code == theirs.status_code, method
        assert sorted(ours.allow) == sorted(theirs.allow), method
        if theirs.status_code < 400:
            assert await ours.get_data() == theirs.data, method
