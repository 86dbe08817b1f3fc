"""Templates: Jinja2 in async mode, bound to the app.

The app's environment is created with ``enable_async=True``, so templates may
call coroutine functions (``{{ load_user() }}`` awaits the result), and its
renders run on the event loop. (Sync code off the loop, such as a plain ``def``
view, renders in its own thread with a sync copy of the environment whenever
nothing in the render needs the loop: see :mod:`quartlike.templating_sync`.)
The environment compiles templates with a
rewrite of Jinja's async code (see "compiling" below) that skips the async
machinery wherever a value turns out to be plain, which is nearly everywhere:
a template then renders about as fast as in a sync environment, and still
awaits whatever is awaitable. Rendering itself does no I/O; loading a template
does, and it happens inline:

* **The first lookup of a template name** (by :func:`render_template`, or by
  ``{% extends %}``, ``{% include %}`` or ``{% import %}`` while rendering)
  reads the file from disk and compiles it. The compiled template is kept in
  the environment's cache (400 templates by default, ``cache_size`` in
  :attr:`~TemplatingMixin.jinja_options`), so later lookups read nothing.
* **With auto-reload on** (``TEMPLATES_AUTO_RELOAD``, which follows debug mode
  when unset) every lookup also ``stat``\\ s the file to see whether it
  changed, and reads it again when it did.
* A template evicted from a full cache is read again on its next lookup.

These reads are small and rare, so they run on the event loop. An app with
many large templates can warm the cache off the loop at startup, in a
``before_serving`` hook: ``await run_sync(app.jinja_env.get_template)(name)``.

Templates are found by :class:`DispatchingJinjaLoader`: the app's
``templates`` folder first, then each blueprint's folder in registration
order, so the app can override a blueprint's template by name.
"""

from __future__ import annotations

import ast
import collections.abc as cabc
import functools
import inspect
import typing as t
from types import CodeType

from jinja2 import BaseLoader
from jinja2 import Environment as BaseEnvironment
from jinja2 import Template
from jinja2 import TemplateNotFound
from werkzeug.utils import cached_property

from .flashing import get_flashed_messages
from .globals import _cv_app
from .globals import _no_app_msg
from .globals import g
from .globals import request
from .globals import session
from .jinja_rewrite import _BUFFERED
from .jinja_rewrite import _cv_compile_as_generated
from .jinja_rewrite import _is_buffered_generator
from .jinja_rewrite import _rewrite_module
from .scaffold import setupmethod
from .signals import before_render_template
from .signals import template_rendered
from .sync import await_sync
from .sync import is_async_callable
from .sync import on_event_loop
from .templating_sync import context_processors
from .templating_sync import forget_registries
from .templating_sync import needs_loop
from .templating_sync import new_context as _new_context
from .templating_sync import render_here
from .templating_sync import send_here
from .templating_sync import start_context
from .templating_sync import sync_twin
from .templating_sync import update_context_here

if t.TYPE_CHECKING:
    from logging import Logger

    from .app import Quart
    from .config import Config
    from .json.provider import JSONProvider
    from .scaffold import Scaffold

#: A context processor: returns names to add to every template's context.
TemplateContextProcessorCallable = cabc.Callable[
    [], dict[str, t.Any] | cabc.Awaitable[dict[str, t.Any]]
]
#: A template filter: ``{{ value|name(args) }}`` calls ``f(value, *args)``.
TemplateFilterCallable = cabc.Callable[..., t.Any]
#: A template test: ``{% if value is name %}`` calls ``f(value)``.
TemplateTestCallable = cabc.Callable[..., bool]
#: A template global: a name (usually a function) visible in every template.
TemplateGlobalCallable = cabc.Callable[..., t.Any]

T_filter = t.TypeVar("T_filter", bound=TemplateFilterCallable)
T_test = t.TypeVar("T_test", bound=TemplateTestCallable)
T_global = t.TypeVar("T_global", bound=TemplateGlobalCallable)

SourceResult = tuple[str, str | None, cabc.Callable[[], bool] | None]

_AUTOESCAPE_EXTENSIONS = (".html", ".htm", ".xml", ".xhtml", ".svg")
#: The names ``getattr`` finds on a plain ``dict`` (its class's attributes).
_DICT_ATTRIBUTES = frozenset(dir(dict))


class Environment(BaseEnvironment):
    """A Jinja environment that belongs to an app and always runs in async mode.

    Without a ``loader`` option it loads templates through
    :meth:`TemplatingMixin.create_global_jinja_loader`. ``enable_async`` is
    forced on, and templates are compiled with quartlike's rewrite of Jinja's
    async code (the same behaviour, faster; see the module's source). Its
    sync copy, used to render in sync callers' threads, is an overlay with
    async mode off, whose templates are compiled as Jinja generates them.

    :param app: the app the environment belongs to (kept as :attr:`app`).
    :param options: the keyword arguments of :class:`jinja2.Environment`.
    """

    def __init__(self, app: Quart, **options: t.Any) -> None:
        if "loader" not in options:
            options["loader"] = app.create_global_jinja_loader()
        options["enable_async"] = True
        super().__init__(**options)
        self.app = app

    def getattr(self, obj: t.Any, attribute: str) -> t.Any:
        """``obj.attribute`` in a template: the attribute, else the item, else undefined.

        Jinja tries the attribute first, so an item of a plain :class:`dict`
        (``{{ item.name }}`` with ``item = {"name": ...}``) costs a raised and
        caught :exc:`AttributeError`. A plain ``dict`` has no attributes but
        those of its class, so for any other name the item is looked up directly:
        the same result, several times quicker.
        """
        if (
            type(obj) is dict
            and type(attribute) is str
            and attribute not in _DICT_ATTRIBUTES
            and not self.sandboxed
        ):
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return BaseEnvironment.getattr(self, obj, attribute)

    def _compile(self, source: str, filename: str) -> CodeType:
        """Compile the module Jinja generated for a template, with the rewrites
        described above (:func:`_rewrite_module`).
        """
        if not self.is_async or _cv_compile_as_generated.get():
            # The sync twin (see templating_sync) compiles plain Jinja code.
            return super()._compile(source, filename)
        tree = ast.parse(source, filename)
        try:
            _rewrite_module(tree)
            code = compile(tree, filename, "exec")
            if _is_buffered_generator(code):
                raise RuntimeError("a buffered render function is a generator")
            return code
        except Exception:
            # A bug of the rewrite, or generated code it was not written for: the
            # template still works, compiled as Jinja generated it.
            self.app.logger.warning(
                "Could not optimize the compiled template %r; it renders unoptimized.",
                filename,
                exc_info=True,
            )
            return super()._compile(source, filename)


class DispatchingJinjaLoader(BaseLoader):
    """Find a template in the app's folder, then in each blueprint's, in registration order.

    With ``EXPLAIN_TEMPLATE_LOADING`` set, every lookup that reaches the loader
    logs (at INFO, on the app's logger) where it searched and what it found.

    :param app: the app whose loaders are searched.
    """

    def __init__(self, app: Quart) -> None:
        self.app = app

    def get_source(self, environment: BaseEnvironment, template: str) -> SourceResult:
        """Return the source of the first match; raise :class:`jinja2.TemplateNotFound`."""
        if self.app.config["EXPLAIN_TEMPLATE_LOADING"]:
            return self._get_source_explained(environment, template)
        for _owner, loader in self._iter_loaders():
            try:
                return loader.get_source(environment, template)
            except TemplateNotFound:
                continue
        raise TemplateNotFound(template)

    def _get_source_explained(self, environment: BaseEnvironment, template: str) -> SourceResult:
        lines = [f"Locating template {template!r}:"]
        found: SourceResult | None = None
        matches = 0
        for number, (owner, loader) in enumerate(self._iter_loaders(), start=1):
            kind = "the app" if owner is self.app else "blueprint"
            lines.append(f"  {number}: {kind} {owner.name!r} ({_describe_loader(loader)})")
            try:
                rv = loader.get_source(environment, template)
            except TemplateNotFound:
                lines.append("     no match")
                continue
            matches += 1
            lines.append(f"     found: {rv[1]}")
            if found is None:
                found = rv
        if found is None:
            lines.append("  Not found. Check the template name and the template_folder of the")
            lines.append("  app and of the blueprint that should provide it.")
        elif matches > 1:
            lines.append("  Several loaders have this template; the first match is used. Put")
            lines.append("  blueprint templates in a subfolder named after the blueprint to")
            lines.append("  keep them apart.")
        self.app.logger.info("\n".join(lines))
        if found is None:
            raise TemplateNotFound(template)
        return found

    def _iter_loaders(self) -> cabc.Iterator[tuple[Scaffold, BaseLoader]]:
        app = self.app
        loader = app.jinja_loader
        if loader is not None:
            yield app, loader
        for blueprint in app.iter_blueprints():
            loader = blueprint.jinja_loader
            if loader is not None:
                yield blueprint, loader

    def list_templates(self) -> list[str]:
        """The names of every template any of the loaders has, without duplicates."""
        names: set[str] = set()
        for _owner, loader in self._iter_loaders():
            names.update(loader.list_templates())
        return sorted(names)


def _describe_loader(loader: BaseLoader) -> str:
    rv = type(loader).__name__
    searchpath = getattr(loader, "searchpath", None)
    if searchpath is not None:
        rv += f", searchpath {list(searchpath)!r}"
    return rv


class TemplatingMixin:
    """The template half of :class:`quartlike.Quart`: the environment and its registries."""

    if t.TYPE_CHECKING:
        config: Config
        json: JSONProvider
        logger: Logger
        debug: bool
        template_context_processors: dict[str | None, list[TemplateContextProcessorCallable]]

        @property
        def jinja_loader(self) -> BaseLoader | None: ...

        def url_for(self, endpoint: str, **values: t.Any) -> str: ...

        def _check_setup_finished(self, f_name: str) -> None: ...

        def _async(
            self, func: cabc.Callable[..., t.Any]
        ) -> cabc.Callable[..., cabc.Awaitable[t.Any]]: ...

    #: The class of :attr:`jinja_env`.
    jinja_environment: type[Environment] = Environment
    #: Keyword arguments for :attr:`jinja_environment`. Changing them after
    #: :attr:`jinja_env` was created has no effect.
    jinja_options: dict[str, t.Any] = {}

    @cached_property
    def jinja_env(self) -> Environment:
        """The app's Jinja environment, created on first access."""
        return self.create_jinja_environment()

    def create_jinja_environment(self) -> Environment:
        """Create the environment from :attr:`jinja_options` and the app's settings.

        Autoescaping follows :meth:`select_jinja_autoescape` and auto-reload
        :attr:`templates_auto_reload`, unless the options set them. The globals
        ``url_for``, ``get_flashed_messages``, ``config``, ``request``,
        ``session`` and ``g`` are added, and ``|tojson`` uses the app's JSON
        provider.
        """
        options = dict(self.jinja_options)
        options.setdefault("autoescape", self.select_jinja_autoescape)
        options.setdefault("auto_reload", self.templates_auto_reload)
        env = self.jinja_environment(t.cast("Quart", self), **options)
        env.globals.update(
            url_for=self.url_for,
            get_flashed_messages=get_flashed_messages,
            config=self.config,
            # The context processor step replaces request and g with the real
            # objects; imported templates and macros see these proxies.
            request=request,
            session=session,
            g=g,
        )
        env.policies["json.dumps_function"] = self.json.dumps
        return env

    def create_global_jinja_loader(self) -> DispatchingJinjaLoader:
        """The loader of :attr:`jinja_env`. To change where the app's own templates
        come from, override :attr:`jinja_loader` instead.
        """
        return DispatchingJinjaLoader(t.cast("Quart", self))

    def select_jinja_autoescape(self, filename: str | None) -> bool:
        """Whether to autoescape a template: always for strings (``filename`` is
        ``None``), and for ``.html``, ``.htm``, ``.xml``, ``.xhtml`` and ``.svg`` files.
        """
        if filename is None:
            return True
        return filename.endswith(_AUTOESCAPE_EXTENSIONS)

    @property
    def templates_auto_reload(self) -> bool:
        """Whether templates are reloaded when their file changes
        (``TEMPLATES_AUTO_RELOAD``; when that is ``None``, debug mode decides).
        """
        value = self.config["TEMPLATES_AUTO_RELOAD"]
        return bool(self.debug if value is None else value)

    @templates_auto_reload.setter
    def templates_auto_reload(self, value: bool) -> None:
        self.config["TEMPLATES_AUTO_RELOAD"] = value
        self._sync_auto_reload()

    def _sync_auto_reload(self) -> None:
        # Only an environment that exists needs updating; a new one reads the config.
        env = self.__dict__.get("jinja_env")
        if env is not None:
            env.auto_reload = self.templates_auto_reload

    async def update_template_context(self, context: dict[str, t.Any]) -> None:
        """Add the default names and the context processors' names to ``context``.

        ``g`` and ``request`` (when their contexts are active) come first, then
        the app's context processors, then those of the current request's
        blueprints, outermost first; the values already in ``context`` win over
        all of them. Sync processors run in the thread pool. (A template
        rendered in a sync caller's thread builds the same context there:
        see :mod:`quartlike.templating_sync`.)
        """
        funcs = context_processors(t.cast("Quart", self))
        original = start_context(context, bool(funcs))
        for func in funcs:
            context.update(await self._async(func)())
        if original is not None:
            context.update(original)

    # -- filters, tests and globals ---------------------------------------------------

    @t.overload
    def template_filter(self, name: T_filter) -> T_filter: ...
    @t.overload
    def template_filter(self, name: str | None = None) -> cabc.Callable[[T_filter], T_filter]: ...
    @setupmethod
    def template_filter(
        self, name: T_filter | str | None = None
    ) -> T_filter | cabc.Callable[[T_filter], T_filter]:
        """Register the decorated function as a template filter, named ``name``
        or after the function. Works as ``@app.template_filter()``,
        ``@app.template_filter("name")`` and ``@app.template_filter``.
        """
        if callable(name):
            self.add_template_filter(name)
            return name

        def decorator(f: T_filter) -> T_filter:
            self.add_template_filter(f, name=name)
            return f

        return decorator

    @setupmethod
    def add_template_filter(self, f: TemplateFilterCallable, name: str | None = None) -> None:
        """Register ``f`` as a template filter (the non-decorator form)."""
        env = self.jinja_env
        env.filters[name or f.__name__] = f
        forget_registries(env)

    @t.overload
    def template_test(self, name: T_test) -> T_test: ...
    @t.overload
    def template_test(self, name: str | None = None) -> cabc.Callable[[T_test], T_test]: ...
    @setupmethod
    def template_test(
        self, name: T_test | str | None = None
    ) -> T_test | cabc.Callable[[T_test], T_test]:
        """Register the decorated function as a template test
        (``{% if value is name %}``), with or without parentheses.
        """
        if callable(name):
            self.add_template_test(name)
            return name

        def decorator(f: T_test) -> T_test:
            self.add_template_test(f, name=name)
            return f

        return decorator

    @setupmethod
    def add_template_test(self, f: TemplateTestCallable, name: str | None = None) -> None:
        """Register ``f`` as a template test (the non-decorator form)."""
        env = self.jinja_env
        env.tests[name or f.__name__] = f
        forget_registries(env)

    @t.overload
    def template_global(self, name: T_global) -> T_global: ...
    @t.overload
    def template_global(self, name: str | None = None) -> cabc.Callable[[T_global], T_global]: ...
    @setupmethod
    def template_global(
        self, name: T_global | str | None = None
    ) -> T_global | cabc.Callable[[T_global], T_global]:
        """Make the decorated function a global of every template, with or
        without parentheses. It may be ``async def``: templates await it.
        """
        if callable(name):
            self.add_template_global(name)
            return name

        def decorator(f: T_global) -> T_global:
            self.add_template_global(f, name=name)
            return f

        return decorator

    @setupmethod
    def add_template_global(self, f: TemplateGlobalCallable, name: str | None = None) -> None:
        """Make ``f`` a template global (the non-decorator form)."""
        env = self.jinja_env
        env.globals[name or f.__name__] = f
        forget_registries(env)


# -- rendering ------------------------------------------------------------------------------

#: The built-in context update; an app that overrides it renders on the loop.
_UPDATE_TEMPLATE_CONTEXT = TemplatingMixin.update_template_context


def _current_app() -> Quart:
    ctx = _cv_app.get(None)
    if ctx is None:
        raise RuntimeError(_no_app_msg)
    return ctx.app


async def _prepare(app: Quart, template: Template, context: dict[str, t.Any]) -> None:
    await app.update_template_context(context)
    if before_render_template.receivers:
        await app.send_signal(before_render_template, template=template, context=context)


async def _render_buffered(template: Template, context: dict[str, t.Any]) -> str:
    """``await template.render_async(context)``, through the buffered render function
    when the template has one (see :func:`_rewrite_module`).
    """
    render = getattr(template.root_render_func, _BUFFERED, None)
    if render is None:
        return await template.render_async(context)
    ctx = _new_context(template, context)
    out: list[str] = []
    try:
        await render(ctx, out.append)
        return template.environment.concat(out)
    except Exception:
        return template.environment.handle_exception()


async def _render(app: Quart, template: Template, context: dict[str, t.Any]) -> str:
    await _prepare(app, template, context)
    rv = await _render_buffered(template, context)
    if template_rendered.receivers:
        await app.send_signal(template_rendered, template=template, context=context)
    return rv


def render_template(
    template_name_or_list: str | Template | list[str | Template], **context: t.Any
) -> t.Any:
    """Render a template file with ``context`` and return the text.

    ``html = await render_template("page.html", user=user)``. The template
    also sees ``config``, ``request``, ``session``, ``g``, ``url_for``,
    ``get_flashed_messages`` and what the context processors return. In sync
    code (a plain ``def`` view) it returns the text itself, rendered in the
    calling thread when nothing in the render needs the event loop, else
    through the sync bridge, on the loop (see :mod:`quartlike.templating_sync`).

    :param template_name_or_list: the template's name, or a list of names of
        which the first that exists is used.
    :param context: the variables of the template.
    """
    if on_event_loop():
        return _render_template(template_name_or_list, context)
    return _render_off_loop(
        context,
        lambda env: env.get_or_select_template(template_name_or_list),
        lambda app: app.jinja_env.get_or_select_template(template_name_or_list),
        lambda: _render_template(template_name_or_list, context),
    )


async def _render_template(
    template_name_or_list: str | Template | list[str | Template], context: dict[str, t.Any]
) -> str:
    app = _current_app()
    template = app.jinja_env.get_or_select_template(template_name_or_list)
    return await _render(app, template, context)


def render_template_string(source: str, **context: t.Any) -> t.Any:
    """Render the template source ``source`` with ``context`` (always autoescaped).

    Awaited in async code, a plain call in sync code (see :func:`render_template`).

    :param source: the template code.
    :param context: the variables of the template.
    """
    if on_event_loop():
        return _render_template_string(source, context)
    return _render_off_loop(
        context,
        lambda env: env.from_string(source),
        lambda app: _from_string(app, source),
        lambda: _render_template_string(source, context),
    )


async def _render_template_string(source: str, context: dict[str, t.Any]) -> str:
    app = _current_app()
    return await _render(app, _from_string(app, source), context)


def _from_string(app: Quart, source: str) -> Template:
    """Compile ``source`` for one render, without the rewrites (see ``_compile``)."""
    token = _cv_compile_as_generated.set(True)
    try:
        return app.jinja_env.from_string(source)
    finally:
        _cv_compile_as_generated.reset(token)


def _render_off_loop(
    context: dict[str, t.Any],
    load_here: cabc.Callable[[BaseEnvironment], Template],
    load_on_loop: cabc.Callable[[Quart], Template],
    on_loop: cabc.Callable[[], cabc.Coroutine[t.Any, t.Any, str]],
) -> str:
    """Render for a sync caller: in this thread when nothing needs the loop.

    :param context: the caller's variables.
    :param load_here: gets the template from the sync twin of the environment.
    :param load_on_loop: gets the template from the app's environment.
    :param on_loop: the whole render, as a coroutine, for the sync bridge.
    """
    app = _current_app()
    twin = None
    if getattr(app.update_template_context, "__func__", None) is _UPDATE_TEMPLATE_CONTEXT:
        twin = sync_twin(app.jinja_env)
    if twin is None or any(map(needs_loop, context.values())):
        return await_sync(on_loop())
    processors = context_processors(app)
    if any(map(is_async_callable, processors)):
        return await_sync(on_loop())
    template = load_here(twin.env)
    if template.environment is not twin.env:
        return await_sync(on_loop())  # a Template object of another environment
    update_context_here(context, processors)
    if processors and any(map(needs_loop, context.values())):
        return await_sync(_render_prepared(app, load_on_loop, context, send_before=True))
    if before_render_template.receivers:
        send_here(before_render_template, app, template=template, context=context)
        if any(map(needs_loop, context.values())):  # a receiver may change the context
            return await_sync(_render_prepared(app, load_on_loop, context, send_before=False))
    rv = render_here(template, context)
    if template_rendered.receivers:
        send_here(template_rendered, app, template=template, context=context)
    return rv


async def _render_prepared(
    app: Quart,
    load: cabc.Callable[[Quart], Template],
    context: dict[str, t.Any],
    send_before: bool,
) -> str:
    """Render on the loop with a context whose processors already ran."""
    template = load(app)
    if send_before and before_render_template.receivers:
        await app.send_signal(before_render_template, template=template, context=context)
    rv = await _render_buffered(template, context)
    if template_rendered.receivers:
        await app.send_signal(template_rendered, template=template, context=context)
    return rv


async def _generate(
    app: Quart, template: Template, context: dict[str, t.Any]
) -> cabc.AsyncIterator[str]:
    chunks = template.generate_async(context)
    try:
        async for chunk in chunks:
            yield chunk
    finally:
        await chunks.aclose()
    if template_rendered.receivers:
        await app.send_signal(template_rendered, template=template, context=context)


async def stream_template(
    template_name_or_list: str | Template | list[str | Template], **context: t.Any
) -> cabc.AsyncIterator[str]:
    """Render a template file piece by piece: returns an async iterator of ``str``.

    Return it from a view to stream the page as it renders
    (``return await stream_template("big.html", rows=rows)``). The context
    is prepared and ``before_render_template`` sent when this is awaited; the
    template runs while the response is sent, still inside the request
    context, and ``template_rendered`` is sent at its end.

    :param template_name_or_list: the template's name, or a list of names of
        which the first that exists is used.
    :param context: the variables of the template.
    """
    app = _current_app()
    template = app.jinja_env.get_or_select_template(template_name_or_list)
    await _prepare(app, template, context)
    return _generate(app, template, context)


async def stream_template_string(source: str, **context: t.Any) -> cabc.AsyncIterator[str]:
    """Render the template source ``source`` piece by piece; see :func:`stream_template`.

    :param source: the template code.
    :param context: the variables of the template.
    """
    app = _current_app()
    template = _from_string(app, source)
    await _prepare(app, template, context)
    return _generate(app, template, context)


def get_template_attribute(template_name: str, attribute: str) -> t.Any:
    """Load a macro or variable that a template defines, to use it from Python.

    Macros of the async environment are coroutine functions::

        hello = await get_template_attribute("_macros.html", "hello")
        html = await hello("World")

    In sync code both steps are plain calls, as in Flask: the macro comes
    back wrapped so that calling it returns the text (through the sync bridge)::

        hello = get_template_attribute("_macros.html", "hello")
        html = hello("World")

    The template's top level runs once per call, with the environment's
    globals but no request-specific context.

    :param template_name: the template that defines ``attribute``.
    :param attribute: the name of the macro or variable.
    """
    coro = _get_template_attribute(template_name, attribute)
    if on_event_loop():
        return coro
    value = await_sync(coro)
    if callable(value):
        return _sync_callable(value)
    return value


async def _get_template_attribute(template_name: str, attribute: str) -> t.Any:
    template = _current_app().jinja_env.get_template(template_name)
    module = await template.make_module_async()
    return getattr(module, attribute)


def _sync_callable(func: cabc.Callable[..., t.Any]) -> cabc.Callable[..., t.Any]:
    """Wrap ``func`` so that a call waits for the awaitable it returns (macros)."""

    @functools.wraps(func)
    def call(*args: t.Any, **kwargs: t.Any) -> t.Any:
        rv = func(*args, **kwargs)
        if inspect.isawaitable(rv):
            rv = await_sync(rv)
        return rv

    return call
