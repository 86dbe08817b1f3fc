"""Rendering a template in the calling thread, for sync code.

The app's environment is in Jinja's async mode: its templates run as
coroutines, on an event loop. A plain ``def`` view that calls
``render_template`` runs in a worker thread, so rendering through that
environment means handing the render to the event loop and waiting for it
(the sync bridge, :func:`quartlike.sync.await_sync`), with the sync context
processors sent back to the waiting thread: on a small template those thread
hops cost more than the rendering.

So :func:`quartlike.templating.render_template` (and
``render_template_string``), called off the event loop, renders in the calling
thread when nothing in the render needs the loop, the way Flask renders. It
uses the environment's **sync twin**: an overlay of the app's environment
(``env.overlay()``) with async mode off and the plain Jinja compiler, kept with
the environment and made on first use. An overlay shares the loader, the
globals, filters, tests and policies of its environment (the same dicts, so a
filter added later is seen at once) and has its own cache of compiled
templates and its own bound copies of the extensions.

**Following the environment.** Jinja copies the rest of the environment's
attributes into the overlay when it is made. Before each render the twin
compares the environment's attributes with the ones it was made from (by
identity) and its extensions with those it copied; when anything differs (a new
``auto_reload``, ``loader``, ``undefined`` or ``cache``, ``trim_blocks``, an
extension added with ``add_extension``...) a new twin is made, with an empty
cache. A new environment (``app.jinja_env`` replaced) gets a twin of its own.
Clearing the environment's cache in place (``env.cache.clear()``) does not
clear the twin's: replace the cache (``env.cache = {}``) instead.

**When the loop is still needed.** The render goes through the sync bridge
exactly as before when:

* the environment is not in async mode, or the app overrides
  ``update_template_context``;
* a value passed to ``render_template`` needs the loop (:func:`needs_loop`: an
  awaitable, an async iterable, or a coroutine or async generator function);
* a context processor that applies to the render is ``async def``;
* a global, filter or test of the environment needs the loop. This is checked
  again whenever one of the three dicts changes size (an entry added or
  removed) or an ``add_template_*`` method of the app registers one; an entry
  replaced *in place* by direct assignment under a name that already exists is
  not noticed until then;
* the template given is a :class:`jinja2.Template` of another environment
  (for instance one taken from ``app.jinja_env``).

When the sync processors return a value that needs the loop, they have already
run, so the prepared context is rendered on the loop (with the async
environment's template) without running them again.

In the thread, sync context processors are called directly, and signal
receivers as well: a sync receiver is called in the thread, an ``async def``
one (or anything a receiver returns that is awaitable) is awaited through the
bridge. A call made by the template that returns an awaitable (an ``async
def`` method of an object in the context, say) is awaited through the bridge
too (see :class:`SyncContext`), as the async environment would await it. What
is not covered: an awaitable reached as an attribute or item
(``{{ user.pending }}``, ``{{ rows[0] }}``) is not awaited, an async iterable
reached that way cannot be looped over, and a sync filter or test that returns
an awaitable is not awaited; values found at the top of the context are
checked, as described above.
"""

from __future__ import annotations

import collections.abc as cabc
import inspect
import operator
import typing as t
from collections import ChainMap

from jinja2 import Environment as BaseEnvironment
from jinja2 import Template
from jinja2.runtime import Context
from jinja2.utils import internalcode
from markupsafe import Markup
from werkzeug.local import LocalProxy

from .globals import _cv_app
from .globals import _cv_request
from .sync import await_sync
from .sync import is_async_callable

if t.TYPE_CHECKING:
    from blinker import Signal

    from .app import Quart

#: Types whose values never need the loop (the containers are not looked into).
_PLAIN: frozenset[type] = frozenset((str, int, float, bool, type(None), list, dict, tuple, Markup))
#: Where an environment keeps its sync twin (see :class:`SyncTwin`).
_TWIN_KEY = "_quartlike_sync_twin"


def needs_loop(value: t.Any) -> bool:
    """Whether a template given ``value`` may need the event loop.

    True for an awaitable, an async iterable, and a coroutine function or an
    async generator function (including partials of them and objects whose
    ``__call__`` is one). A context-local proxy (``request``, ``current_user``...)
    is judged by the object it stands for.
    """
    cls = type(value)
    if cls in _PLAIN:
        return False
    if isinstance(value, LocalProxy):
        try:
            value = value._get_current_object()
        except Exception:
            return False  # nothing to stand for here: using it fails alike on either path
        cls = type(value)
    if inspect.isawaitable(value) or hasattr(cls, "__aiter__"):
        return True
    if not callable(value):
        return False
    if is_async_callable(value) or inspect.isasyncgenfunction(value):
        return True
    if isinstance(value, type) or inspect.isfunction(value) or inspect.ismethod(value):
        return False
    return inspect.isasyncgenfunction(getattr(cls, "__call__", None))  # noqa: B004


class SyncContext(Context):
    """The context of the sync twin's templates.

    A call the template makes (``{{ user.load_posts() }}``) that returns an
    awaitable is waited for through the sync bridge, so the template gets the
    result, as it would from the async environment.
    """

    @internalcode
    def call(__self, __obj: t.Callable[..., t.Any], *args: t.Any, **kwargs: t.Any) -> t.Any:
        rv = Context.call(__self, __obj, *args, **kwargs)
        if type(rv) in _PLAIN or not inspect.isawaitable(rv):
            return rv
        return await_sync(rv)


class SyncTwin:
    """The sync twin of an async environment, and what it was made from.

    :param source: the app's (async) environment.
    """

    __slots__ = (
        "_registry_sizes",
        "_registries_need_loop",
        "env",
        "extensions",
        "source",
        "values",
    )

    def __init__(self, source: BaseEnvironment) -> None:
        self.source = source
        env = source.overlay()
        env.__dict__.pop(_TWIN_KEY, None)  # the overlay copied the previous twin
        env.is_async = False
        if source.context_class is Context:
            env.context_class = SyncContext
        self.env = env
        # Stored before the snapshot, so that the snapshot includes it.
        source.__dict__[_TWIN_KEY] = self
        self.values = tuple(source.__dict__.values())
        self.extensions = tuple(source.extensions.values())
        self._registry_sizes: tuple[int, int, int] | None = None
        self._registries_need_loop = False

    def is_current(self) -> bool:
        """Whether the source environment still has the attributes the twin copied."""
        source = self.source
        values = source.__dict__
        extensions = source.extensions
        return (
            len(values) == len(self.values)
            and all(map(operator.is_, values.values(), self.values))
            and len(extensions) == len(self.extensions)
            and all(map(operator.is_, extensions.values(), self.extensions))
        )

    def registries_need_loop(self) -> bool:
        """Whether a global, filter or test of the environment needs the loop.

        The answer is kept until one of the three dicts changes size or
        :meth:`forget_registries` is called. (While the twin is current, the
        dicts are the ones it was made with: replacing one makes a new twin.)
        """
        source = self.source
        sizes = (len(source.globals), len(source.filters), len(source.tests))
        if sizes != self._registry_sizes:
            self._registries_need_loop = any(
                _registered_needs_loop(value)
                for registry in (source.globals, source.filters, source.tests)
                for value in list(registry.values())
            )
            self._registry_sizes = sizes
        return self._registries_need_loop

    def forget_registries(self) -> None:
        """Check the globals, filters and tests again before the next render."""
        self._registry_sizes = None


def _registered_needs_loop(value: t.Any) -> bool:
    # The proxies among the globals (request, session, g) stand for context
    # objects, which are not awaitable; do not judge them by the current one.
    return not isinstance(value, LocalProxy) and needs_loop(value)


def sync_twin(env: BaseEnvironment) -> SyncTwin | None:
    """The up-to-date sync twin of the async environment ``env``; ``None`` when a
    render through ``env`` must stay on the loop (``env`` is not async, or one of
    its globals, filters or tests needs the loop).
    """
    if not env.is_async:
        return None
    twin = env.__dict__.get(_TWIN_KEY)
    if type(twin) is not SyncTwin or twin.source is not env or not twin.is_current():
        twin = SyncTwin(env)
    if twin.registries_need_loop():
        return None
    return twin


def forget_registries(env: BaseEnvironment) -> None:
    """Make the sync twin of ``env`` (if any) check its registries again."""
    twin = env.__dict__.get(_TWIN_KEY)
    if type(twin) is SyncTwin:
        twin.forget_registries()


# -- the context ----------------------------------------------------------------------------


def context_processors(app: Quart) -> list[cabc.Callable[[], t.Any]]:
    """The context processors of a render now: the app's, then those of the current
    request's blueprints, outermost first.
    """
    processors = app.template_context_processors
    funcs = list(processors.get(None, ()))
    req_ctx = _cv_request.get(None)
    if req_ctx is not None and len(processors) > (None in processors):
        # Some blueprint has processors (or had: the lists may be empty).
        for name in reversed(req_ctx.request.blueprints):
            funcs.extend(processors.get(name, ()))
    return funcs


def start_context(context: dict[str, t.Any], processors: bool) -> dict[str, t.Any] | None:
    """Put ``g`` and ``request`` (when their contexts are active) in ``context``.

    Without ``processors`` they only fill in names the caller left out and
    ``None`` is returned. With processors they are set, and the caller's
    values are returned, to be applied again after the processors' (the
    caller's win).
    """
    app_ctx = _cv_app.get(None)
    req_ctx = _cv_request.get(None)
    if not processors:
        if app_ctx is not None and "g" not in context:
            context["g"] = app_ctx.g
        if req_ctx is not None and "request" not in context:
            context["request"] = req_ctx.request
        return None
    original = dict(context)
    if app_ctx is not None:
        context["g"] = app_ctx.g
    if req_ctx is not None:
        context["request"] = req_ctx.request
    return original


def update_context_here(
    context: dict[str, t.Any], processors: list[cabc.Callable[[], t.Any]]
) -> None:
    """``update_template_context`` for sync code: the (sync) processors are called
    in this thread; an awaitable one returns is waited for through the bridge.
    """
    original = start_context(context, bool(processors))
    for func in processors:
        rv = func()
        if inspect.isawaitable(rv):
            rv = await_sync(rv)
        context.update(rv)
    if original is not None:
        context.update(original)


def send_here(signal: Signal, sender: t.Any, **kwargs: t.Any) -> None:
    """Send ``signal`` from this thread: sync receivers are called here, and what
    a receiver returns that is awaitable (an ``async def`` receiver's coroutine)
    is waited for through the bridge, as ``app.send_signal`` awaits it.
    """
    if getattr(signal, "is_muted", False):
        return
    for receiver in signal.receivers_for(sender):
        rv = receiver(sender, **kwargs)
        if inspect.isawaitable(rv):
            await_sync(rv)


# -- rendering ------------------------------------------------------------------------------


def new_context(template: Template, context: dict[str, t.Any]) -> Context:
    """``template.new_context(context)``, without its slow copy of the globals.

    The template's globals are a :class:`~collections.ChainMap` of its own globals
    and the environment's; Jinja copies them into the context's dict through the
    ``ChainMap`` (a Python-level lookup per name) and then lists their names
    again. Flattening the maps with ``dict.update`` gives the same dict, in the
    same order. Anything unusual (a custom context class, globals that are not
    plain dicts) takes Jinja's own path.
    """
    env = template.environment
    globals_ = template.globals
    cls = env.context_class
    if (cls is Context or cls is SyncContext) and type(globals_) is ChainMap:
        maps = globals_.maps
        if all(type(m) is dict for m in maps):
            flat: dict[str, t.Any] = {}
            for m in reversed(maps):
                flat.update(m)
            # new_context(shared=False) builds the same dict: dict(globals, **vars).
            parent = dict(flat, **context)
            return cls(env, parent, template.name, template.blocks, globals=flat)
    return template.new_context(context)


def render_here(template: Template, context: dict[str, t.Any]) -> str:
    """Render a template of a sync environment with the prepared ``context``
    (``template.render(context)``, with the quicker :func:`new_context`).
    """
    env = template.environment
    ctx = new_context(template, context)
    try:
        return env.concat(template.root_render_func(ctx))
    except Exception:
        env.handle_exception()
