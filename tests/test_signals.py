"""Signals sent by the request pipeline: what, when, with what, to whom, and at what cost."""

from __future__ import annotations

import asyncio
import collections.abc as cabc
import contextlib
import gc
import threading
import typing as t

import blinker
import flask
import flask.signals
import pytest

import quartlike
from quartlike import Quart
from quartlike import request
from quartlike.signals import appcontext_popped
from quartlike.signals import appcontext_pushed
from quartlike.signals import appcontext_tearing_down
from quartlike.signals import got_request_exception
from quartlike.signals import got_serving_exception
from quartlike.signals import request_finished
from quartlike.signals import request_started
from quartlike.signals import request_tearing_down
from quartlike.testing import QuartClient

CORE_SIGNALS = {
    "request_started": request_started,
    "request_finished": request_finished,
    "got_request_exception": got_request_exception,
    "request_tearing_down": request_tearing_down,
    "appcontext_tearing_down": appcontext_tearing_down,
}

Event = tuple[str, t.Any, dict[str, t.Any]]


@contextlib.contextmanager
def recording(
    signals: dict[str, blinker.Signal], *, sender: t.Any = blinker.ANY, is_async: bool = False
) -> cabc.Iterator[list[Event]]:
    """Connect a recorder to each signal for the duration of the block."""
    events: list[Event] = []
    with contextlib.ExitStack() as stack:
        for name, signal in signals.items():
            if is_async:

                async def receiver(sender: t.Any, _name: str = name, **kwargs: t.Any) -> None:
                    events.append((_name, sender, kwargs))

            else:

                def receiver(sender: t.Any, _name: str = name, **kwargs: t.Any) -> None:
                    events.append((_name, sender, kwargs))

            stack.enter_context(signal.connected_to(receiver, sender=sender))
        yield events


@pytest.fixture
def app(app: Quart) -> Quart:
    @app.get("/")
    async def index() -> str:
        return "ok"

    @app.get("/fail")
    async def fail() -> str:
        raise ValueError("boom")

    return app


@pytest.fixture
def quiet(app: Quart, monkeypatch: pytest.MonkeyPatch) -> Quart:
    """The app answering 500 for unhandled errors (not testing, logger silenced)."""
    app.testing = False
    monkeypatch.setattr(app.logger, "disabled", True)
    return app


# -- each signal ---------------------------------------------------------------------------------


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
async def test_signals_of_a_successful_request(
    app: Quart, client: QuartClient, is_async: bool
) -> None:
    with recording(CORE_SIGNALS, is_async=is_async) as events:
        response = await client.get("/")
    assert response.status_code == 200
    assert [name for name, _, _ in events] == [
        "request_started",
        "request_finished",
        "request_tearing_down",
        "appcontext_tearing_down",
    ]
    assert all(sender is app for _, sender, _ in events)
    started, finished, tearing_down, app_tearing_down = (kwargs for _, _, kwargs in events)
    assert started == {}
    assert set(finished) == {"response"}
    assert finished["response"].status_code == 200
    assert tearing_down == {"exc": None}
    assert app_tearing_down == {"exc": None}


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
async def test_signals_of_a_failing_request(quiet: Quart, is_async: bool) -> None:
    with recording(CORE_SIGNALS, is_async=is_async) as events:
        response = await quiet.test_client().get("/fail")
    assert response.status_code == 500
    assert [name for name, _, _ in events] == [
        "request_started",
        "got_request_exception",
        "request_finished",  # for the 500 response
        "request_tearing_down",
        "appcontext_tearing_down",
    ]
    kwargs = {name: kw for name, _, kw in events}
    error = kwargs["got_request_exception"]["exception"]
    assert isinstance(error, ValueError)
    assert str(error) == "boom"
    assert kwargs["request_finished"]["response"].status_code == 500
    assert kwargs["request_tearing_down"]["exc"] is error
    assert kwargs["appcontext_tearing_down"]["exc"] is error


async def test_got_request_exception_is_sent_before_propagating(app: Quart) -> None:
    # While testing, the error propagates to the caller; the signal still fires.
    with (
        recording({"got": got_request_exception}) as events,
        pytest.raises(ValueError, match="boom"),
    ):
        await app.test_client().get("/fail")
    assert [type(kw["exception"]) for _, _, kw in events] == [ValueError]


async def test_handled_errors_send_no_exception_signal(quiet: Quart) -> None:
    @quiet.errorhandler(KeyError)
    async def handle_key_error(e: KeyError) -> tuple[str, int]:
        return "handled", 409

    @quiet.get("/key")
    async def key() -> str:
        raise KeyError("k")

    @quiet.get("/missing")
    async def missing() -> str:
        quartlike.abort(404)

    with recording({"got": got_request_exception, "down": request_tearing_down}) as events:
        client = quiet.test_client()
        assert (await client.get("/key")).status_code == 409
        assert (await client.get("/missing")).status_code == 404
        assert (await client.get("/nowhere")).status_code == 404
    # Only the teardowns: handled errors are not "got_request_exception".
    assert [(name, kw) for name, _, kw in events] == [("down", {"exc": None})] * 3


async def test_request_finished_sees_the_final_response(app: Quart, client: QuartClient) -> None:
    app.secret_key = "secret"

    @app.after_request
    async def stamp(response: t.Any) -> t.Any:
        response.headers["X-After"] = "1"
        return response

    @app.get("/login")
    async def login() -> str:
        quartlike.session["user"] = "alice"
        return "ok"

    seen: list[t.Any] = []

    def receiver(sender: t.Any, response: t.Any) -> None:
        seen.append((response.headers.get("X-After"), response.headers.get("Set-Cookie")))

    with request_finished.connected_to(receiver, sender=app):
        await client.get("/login")
    ((after, cookie),) = seen
    assert after == "1"  # after the after-request hooks ...
    assert cookie is not None and cookie.startswith("session=")  # ... and the session save


async def test_app_context_teardown_signal_outside_requests(app: Quart) -> None:
    with recording({"down": appcontext_tearing_down}) as events:
        async with app.app_context():
            pass
        with pytest.raises(LookupError):
            async with app.app_context():
                raise LookupError("inside")
    assert [name for name, _, _ in events] == ["down", "down"]
    assert events[0][2] == {"exc": None}
    assert isinstance(events[1][2]["exc"], LookupError)


async def test_a_failing_request_started_receiver_is_an_error_of_the_request(
    quiet: Quart,
) -> None:
    def receiver(sender: t.Any) -> None:
        raise RuntimeError("receiver failed")

    @quiet.errorhandler(RuntimeError)
    async def handle(e: RuntimeError) -> tuple[str, int]:
        return f"handled: {e}", 503

    with request_started.connected_to(receiver, sender=quiet):
        response = await quiet.test_client().get("/")
    assert response.status_code == 503
    assert await response.get_data() == b"handled: receiver failed"


# -- sync and async receivers --------------------------------------------------------------------


async def test_sync_receivers_run_in_the_pool_with_the_request_context(
    app: Quart, client: QuartClient
) -> None:
    seen: list[tuple[str, int, str]] = []

    def sync_receiver(sender: t.Any, **kwargs: t.Any) -> None:
        seen.append(("sync", threading.get_ident(), request.path))

    async def async_receiver(sender: t.Any, **kwargs: t.Any) -> None:
        await asyncio.sleep(0)
        seen.append(("async", threading.get_ident(), request.path))

    with (
        request_started.connected_to(sync_receiver, sender=app),
        request_started.connected_to(async_receiver, sender=app),
        request_finished.connected_to(sync_receiver, sender=app),
    ):
        await client.get("/?x=1")
    loop_thread = threading.get_ident()
    kinds = sorted(kind for kind, _, _ in seen)
    assert kinds == ["async", "sync", "sync"]
    for kind, thread, path in seen:
        assert path == "/"
        assert (thread == loop_thread) is (kind == "async")


async def test_async_callable_object_receiver_is_awaited(app: Quart, client: QuartClient) -> None:
    calls: list[str] = []

    class Receiver:
        async def __call__(self, sender: t.Any, **kwargs: t.Any) -> None:
            await asyncio.sleep(0)
            calls.append(request.path)

    receiver = Receiver()
    with request_started.connected_to(receiver, sender=app):
        await client.get("/")
    assert calls == ["/"]


# -- senders and connections ----------------------------------------------------------------------


async def test_receiver_connected_to_one_app_ignores_another(app: Quart) -> None:
    other = Quart("other")
    other.config["TESTING"] = True
    other.add_url_rule("/", "index", lambda: "other")

    with recording(CORE_SIGNALS, sender=app) as events:
        await other.test_client().get("/")
        assert events == []
        await app.test_client().get("/")
    assert len(events) == 4
    assert {sender for _, sender, _ in events} == {app}


async def test_weakly_connected_receiver_is_dropped_when_collected(
    app: Quart, client: QuartClient
) -> None:
    calls: list[int] = []

    def receiver(sender: t.Any) -> None:
        calls.append(1)

    request_started.connect(receiver, sender=app)  # weak by default
    await client.get("/")
    assert calls == [1]
    del receiver
    gc.collect()
    assert list(request_started.receivers_for(app)) == []
    await client.get("/")
    assert calls == [1]


async def test_disconnected_receiver_is_not_called(app: Quart, client: QuartClient) -> None:
    calls: list[int] = []

    def receiver(sender: t.Any) -> None:
        calls.append(1)

    request_started.connect(receiver, sender=app)
    await client.get("/")
    request_started.disconnect(receiver, sender=app)
    await client.get("/")
    assert calls == [1]


# -- the cost of signals nobody listens to ------------------------------------------------------


async def test_no_receivers_no_send(
    app: Quart, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    gc.collect()  # drop weak receivers other tests left unreferenced
    for signal in CORE_SIGNALS.values():
        assert not signal.receivers, signal.name
    original = blinker.Signal.send_async
    calls: list[str] = []

    async def spy(self: blinker.Signal, *args: t.Any, **kwargs: t.Any) -> t.Any:
        calls.append(self.name)
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(blinker.Signal, "send_async", spy)
    app.testing = False
    client = app.test_client()
    assert (await client.get("/")).status_code == 200
    assert (await client.get("/fail")).status_code == 500
    assert (await client.get("/nowhere")).status_code == 404
    async with app.app_context():
        pass
    assert calls == []

    # The control: with a receiver connected, the same requests do send.
    def receiver(sender: t.Any, **kwargs: t.Any) -> None:
        pass

    with request_tearing_down.connected_to(receiver, sender=app):
        await client.get("/")
    assert calls == ["request-tearing-down"]


# -- the same sequence as Flask -----------------------------------------------------------------


def _flask_app() -> flask.Flask:
    fapp = flask.Flask(__name__, static_folder=None)
    fapp.config.update(PROPAGATE_EXCEPTIONS=False)
    return fapp


def _add_views(app: t.Any, fw: t.Any) -> None:
    def index() -> str:
        return "ok"

    def fail() -> str:
        raise ValueError("boom")

    def missing() -> str:
        fw.abort(404)

    def handled() -> str:
        raise KeyError("k")

    def handle_key_error(e: Exception) -> tuple[str, int]:
        return "handled", 409

    app.add_url_rule("/", "index", index)
    app.add_url_rule("/fail", "fail", fail)
    app.add_url_rule("/missing", "missing", missing)
    app.add_url_rule("/handled", "handled", handled)
    app.register_error_handler(KeyError, handle_key_error)


def _summary(events: list[Event]) -> list[tuple[str, dict[str, str]]]:
    def describe(value: t.Any) -> str:
        if value is None:
            return "None"
        status = getattr(value, "status_code", None)
        return f"{type(value).__name__}({status})" if status else type(value).__name__

    return [(name, {k: describe(v) for k, v in kw.items()}) for name, _, kw in events]


@pytest.mark.parametrize("path", ["/", "/fail", "/missing", "/handled", "/nowhere"])
async def test_signal_sequence_matches_flask(path: str) -> None:
    fapp = _flask_app()
    _add_views(fapp, flask)
    flask_signals = {name: getattr(flask.signals, name) for name in CORE_SIGNALS}
    with recording(flask_signals, sender=fapp) as flask_events:
        fstatus = fapp.test_client().get(path).status_code

    qapp = Quart(__name__)
    _add_views(qapp, quartlike)
    with recording(CORE_SIGNALS, sender=qapp) as events:
        qstatus = (await qapp.test_client().get(path)).status_code

    assert qstatus == fstatus
    assert _summary(events) == _summary(flask_events)


async def test_appcontext_pushed_and_popped_bracket_a_request() -> None:
    app = Quart(__name__)
    events: list[str] = []

    @app.get("/")
    async def index() -> str:
        events.append("view")
        return "ok"

    def pushed(sender: Quart) -> None:
        events.append("pushed")

    async def popped(sender: Quart) -> None:
        events.append("popped")

    with (
        appcontext_pushed.connected_to(pushed, app),
        appcontext_popped.connected_to(popped, app),
    ):
        assert (await app.test_client().get("/")).status_code == 200
    assert events == ["pushed", "view", "popped"]


async def test_appcontext_pushed_rejects_async_receivers_clearly() -> None:
    app = Quart(__name__)

    async def pushed(sender: Quart) -> None:
        raise AssertionError("never awaited")

    with appcontext_pushed.connected_to(pushed, app), pytest.raises(RuntimeError):
        async with app.app_context():
            pass


async def test_got_serving_exception_on_failed_startup() -> None:
    app = Quart(__name__)
    seen: list[BaseException] = []

    @app.before_serving
    async def fail() -> None:
        raise ValueError("no database")

    async def receiver(sender: Quart, exception: BaseException) -> None:
        seen.append(exception)

    with got_serving_exception.connected_to(receiver, app):
        from quartlike.testing import LifespanError

        with pytest.raises(LifespanError, match="no database"):
            async with app.test_app():
                pass
    assert len(seen) == 1 and isinstance(seen[0], ValueError)
