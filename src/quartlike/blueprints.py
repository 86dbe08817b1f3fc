"""Blueprints: routes, hooks and error handlers recorded now, registered on an app later.

A :class:`Blueprint` uses the same decorators as the app. Routes are not added
to any URL map when they are declared; each declaration is recorded as a
*deferred function*, and :meth:`Blueprint.register` replays them against an
app through a :class:`BlueprintSetupState`, which knows the URL prefix,
subdomain, name and URL defaults of that particular registration. Hooks and
error handlers are copied into the app's dictionaries under the blueprint's
(dotted) name, which is how the pipeline finds the ones that apply to a
request: it walks ``request.blueprints``.
"""

from __future__ import annotations

import collections.abc as cabc
import os
import typing as t
from collections import defaultdict

from .scaffold import Scaffold
from .scaffold import T_after
from .scaffold import T_before
from .scaffold import T_context_processor
from .scaffold import T_error
from .scaffold import T_teardown
from .scaffold import T_url_defaults
from .scaffold import T_url_preprocessor
from .scaffold import _require_sync
from .scaffold import endpoint_from_view_func
from .scaffold import get_exc_class_and_code
from .scaffold import setupmethod
from .typing import RouteCallable

if t.TYPE_CHECKING:
    from .app import Quart
    from .cli import AppGroup

DeferredSetupFunction = cabc.Callable[["BlueprintSetupState"], None]
TemplateCallable = cabc.Callable[..., t.Any]
T_template = t.TypeVar("T_template", bound=TemplateCallable)

_sentinel: t.Any = object()


class BlueprintSetupState:
    """One registration of a blueprint on an app, handed to each deferred function.

    The options given to :meth:`Quart.register_blueprint` override the
    blueprint's own ``url_prefix``, ``subdomain`` and ``name``; ``url_defaults``
    from both are merged, the registration's winning.

    :param blueprint: the blueprint being registered.
    :param app: the app it is registered on.
    :param options: the keyword arguments of the registration.
    :param first_registration: whether this is the first time this blueprint
        object is registered on ``app`` (see :meth:`Blueprint.record_once`).
    """

    def __init__(
        self,
        blueprint: Blueprint,
        app: Quart,
        options: dict[str, t.Any],
        first_registration: bool,
    ) -> None:
        #: The app the blueprint is being registered on.
        self.app = app
        #: The blueprint being registered.
        self.blueprint = blueprint
        #: The options of this registration, as given.
        self.options = options
        #: Whether the blueprint object is registered on this app for the first time.
        self.first_registration = first_registration

        subdomain = options.get("subdomain")
        #: The subdomain the blueprint's rules match, or ``None``.
        self.subdomain: str | None = blueprint.subdomain if subdomain is None else subdomain
        url_prefix = options.get("url_prefix")
        #: The prefix put in front of every rule of the blueprint, or ``None``.
        self.url_prefix: str | None = blueprint.url_prefix if url_prefix is None else url_prefix
        #: The blueprint's name in this registration (without its parents' names).
        self.name: str = options.get("name", blueprint.name)
        #: The dotted name of the parent blueprint when nested, else ``""``.
        self.name_prefix: str = options.get("name_prefix", "")
        #: The values every rule of the blueprint gets as ``defaults``.
        self.url_defaults: dict[str, t.Any] = dict(blueprint.url_values_defaults)
        self.url_defaults.update(options.get("url_defaults", ()))

    @property
    def full_name(self) -> str:
        """The dotted name the blueprint is registered under (``parent.child``)."""
        return f"{self.name_prefix}.{self.name}".lstrip(".")

    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: RouteCallable | None = None,
        **options: t.Any,
    ) -> None:
        """Add a rule to the app, with this registration's prefix, subdomain and defaults.

        The endpoint is prefixed with the blueprint's dotted name.
        """
        if self.url_prefix is not None:
            if rule:
                rule = f"{self.url_prefix.rstrip('/')}/{rule.lstrip('/')}"
            else:
                rule = self.url_prefix
        options.setdefault("subdomain", self.subdomain)
        if endpoint is None:
            endpoint = endpoint_from_view_func(view_func)
        defaults = self.url_defaults
        if "defaults" in options:
            defaults = {**defaults, **options.pop("defaults")}
        self.app.add_url_rule(
            rule, f"{self.full_name}.{endpoint}", view_func, defaults=defaults, **options
        )


class Blueprint(Scaffold):
    """A group of routes, hooks, error handlers and template helpers for an app.

    Declare everything on the blueprint with the app's decorators, then
    register it with :meth:`Quart.register_blueprint`. Its endpoints are
    named ``"<blueprint name>.<endpoint>"``; its hooks and error handlers apply
    only to requests routed to it (``before_app_request`` and the other
    ``app_*`` methods register on the app instead).

    :param name: the blueprint's name, part of its endpoints; no dots.
    :param import_name: the blueprint's module, usually ``__name__``; used to
        find ``root_path``.
    :param static_folder: a folder of static files, relative to ``root_path``,
        served at ``<url_prefix><static_url_path>/<filename>`` with the
        endpoint ``<name>.static``.
    :param static_url_path: the URL of the static files (default: ``/<folder name>``).
    :param template_folder: a folder of templates, relative to ``root_path``;
        searched after the app's own.
    :param url_prefix: put in front of every rule of the blueprint.
    :param subdomain: the subdomain every rule of the blueprint matches.
    :param url_defaults: values passed to every view of the blueprint as
        rule defaults.
    :param root_path: overrides the folder derived from ``import_name``.
    :param cli_group: the name of the ``quartlike`` sub-command grouping the
        blueprint's commands (default: the blueprint's name); ``None`` adds
        them to the app's top level.
    """

    _got_registered_once = False

    def __init__(
        self,
        name: str,
        import_name: str,
        static_folder: str | os.PathLike[str] | None = None,
        static_url_path: str | None = None,
        template_folder: str | os.PathLike[str] | None = None,
        url_prefix: str | None = None,
        subdomain: str | None = None,
        url_defaults: dict[str, t.Any] | None = None,
        root_path: str | None = None,
        cli_group: str | None = _sentinel,
    ) -> None:
        super().__init__(
            import_name,
            static_folder=static_folder,
            static_url_path=static_url_path,
            template_folder=template_folder,
            root_path=root_path,
        )
        _check_name(name, "A blueprint's name")
        self.name = name
        #: Put in front of every rule of the blueprint (a registration may override it).
        self.url_prefix = url_prefix
        #: The subdomain the blueprint's rules match (a registration may override it).
        self.subdomain = subdomain
        #: Rule defaults for every view of the blueprint.
        self.url_values_defaults: dict[str, t.Any] = url_defaults or {}
        #: The functions :meth:`register` calls with each :class:`BlueprintSetupState`.
        self.deferred_functions: list[DeferredSetupFunction] = []
        #: The CLI group name given to the constructor (see :meth:`register`).
        self.cli_group = cli_group
        self._blueprints: list[tuple[Blueprint, dict[str, t.Any]]] = []

        from .cli import AppGroup

        #: The blueprint's ``quartlike`` commands, added to the app's CLI when registered.
        self.cli: AppGroup = AppGroup()

    def _check_setup_finished(self, f_name: str) -> None:
        if self._got_registered_once:
            raise AssertionError(
                f"The setup method '{f_name}' can no longer be called on the blueprint"
                f" {self.name!r}: it has already been registered, and the apps it was"
                " registered on would not see the change. Finish setting up the blueprint"
                " (routes, hooks, error handlers, nested blueprints) before registering it."
            )

    # -- deferred setup ------------------------------------------------------------------

    @setupmethod
    def record(self, func: DeferredSetupFunction) -> None:
        """Call ``func(state)`` each time the blueprint is registered on an app.

        ``state`` is the :class:`BlueprintSetupState` of that registration.
        """
        self.deferred_functions.append(func)

    @setupmethod
    def record_once(self, func: DeferredSetupFunction) -> None:
        """Like :meth:`record`, but only on the first registration on each app.

        Use it for things that must not be done twice on the same app, such
        as registering an app-wide hook.
        """

        def once(state: BlueprintSetupState) -> None:
            if state.first_registration:
                func(state)

        self.record(once)

    def make_setup_state(
        self, app: Quart, options: dict[str, t.Any], first_registration: bool = False
    ) -> BlueprintSetupState:
        """Create the :class:`BlueprintSetupState` of a registration (override to customise)."""
        return BlueprintSetupState(self, app, options, first_registration)

    # -- registration ---------------------------------------------------------------------

    @setupmethod
    def register_blueprint(self, blueprint: Blueprint, **options: t.Any) -> None:
        """Nest ``blueprint`` in this one; it is registered whenever this one is.

        Its name becomes ``"<this name>.<its name>"``, its URL prefix and
        subdomain are combined with this blueprint's, and this blueprint's
        hooks and error handlers apply to its requests too. ``options`` are
        those of :meth:`Quart.register_blueprint`.
        """
        if blueprint is self:
            raise ValueError("A blueprint cannot be registered on itself.")
        self._blueprints.append((blueprint, options))

    def register(self, app: Quart, options: dict[str, t.Any]) -> None:
        """Register the blueprint on ``app``; called by :meth:`Quart.register_blueprint`.

        Adds the static route, copies the hooks and error handlers into the
        app under the blueprint's dotted name, runs the deferred functions,
        adds the CLI commands and registers the nested blueprints.

        :param app: the app to register on.
        :param options: the keyword arguments of the registration: ``name``,
            ``url_prefix``, ``subdomain``, ``url_defaults``, ``cli_group``, and
            anything a deferred function looks for in ``state.options``.
        """
        self_name = options.get("name", self.name)
        _check_name(self_name, "The 'name' a blueprint is registered under")
        name_prefix = options.get("name_prefix", "")
        name = f"{name_prefix}.{self_name}".lstrip(".")
        existing = app.blueprints.get(name)
        if existing is not None:
            which = "this" if existing is self else "a different"
            where = f" (as {name!r})" if name != self_name else ""
            raise ValueError(
                f"The name {self_name!r} is already registered for {which} blueprint{where}."
                " Pass a unique 'name=' to register_blueprint to register it again."
            )

        first_registration = not any(bp is self for bp in app.blueprints.values())
        app.blueprints[name] = self
        self._got_registered_once = True
        state = self.make_setup_state(app, options, first_registration)

        if self.has_static_folder:
            state.add_url_rule(
                f"{self.static_url_path}/<path:filename>",
                view_func=self.send_static_file,
                endpoint="static",
            )

        # The name is new (checked above), so its hooks are copied exactly once.
        self._merge_into(app, name)

        for deferred in self.deferred_functions:
            deferred(state)

        self._register_cli(app, name, options.get("cli_group", self.cli_group))

        for blueprint, child_options in self._blueprints:
            blueprint.register(app, self._child_options(state, blueprint, child_options, name))

    @staticmethod
    def _child_options(
        state: BlueprintSetupState,
        child: Blueprint,
        child_options: dict[str, t.Any],
        name: str,
    ) -> dict[str, t.Any]:
        # A nested blueprint's subdomain goes in front of its parent's
        # ("child.parent"), its URL prefix after the parent's ("/parent/child").
        options = dict(child_options)
        subdomain = options.get("subdomain")
        if subdomain is None:
            subdomain = child.subdomain
        if subdomain is not None and state.subdomain is not None:
            options["subdomain"] = f"{subdomain}.{state.subdomain}"
        elif subdomain is not None or state.subdomain is not None:
            options["subdomain"] = subdomain if subdomain is not None else state.subdomain
        url_prefix = options.get("url_prefix")
        if url_prefix is None:
            url_prefix = child.url_prefix
        if url_prefix is not None and state.url_prefix is not None:
            options["url_prefix"] = f"{state.url_prefix.rstrip('/')}/{url_prefix.lstrip('/')}"
        elif url_prefix is not None or state.url_prefix is not None:
            options["url_prefix"] = url_prefix if url_prefix is not None else state.url_prefix
        options["name_prefix"] = name
        return options

    def _merge_into(self, app: Quart, name: str) -> None:
        """Copy the blueprint's hooks and error handlers into ``app`` under ``name``."""

        def key_for(key: str | None) -> str:
            return name if key is None else f"{name}.{key}"

        def extend(
            ours: cabc.Mapping[str | None, list[t.Any]],
            theirs: dict[str | None, list[t.Any]],
        ) -> None:
            for key, funcs in ours.items():
                theirs.setdefault(key_for(key), []).extend(funcs)

        for key, by_code in self.error_handler_spec.items():
            app.error_handler_spec[key_for(key)] = defaultdict(
                dict, {code: dict(handlers) for code, handlers in by_code.items()}
            )
        # ``@bp.endpoint`` names an endpoint of the app as it is, not prefixed.
        app.view_functions.update(self.view_functions)
        extend(self.before_request_funcs, app.before_request_funcs)
        extend(self.after_request_funcs, app.after_request_funcs)
        extend(self.teardown_request_funcs, app.teardown_request_funcs)
        extend(self.before_websocket_funcs, app.before_websocket_funcs)
        extend(self.after_websocket_funcs, app.after_websocket_funcs)
        extend(self.teardown_websocket_funcs, app.teardown_websocket_funcs)
        extend(self.url_default_functions, app.url_default_functions)
        extend(self.url_value_preprocessors, app.url_value_preprocessors)
        extend(self.template_context_processors, app.template_context_processors)

    def _register_cli(self, app: Quart, name: str, cli_group: str | None) -> None:
        if not self.cli.commands:
            return
        if cli_group is None:
            app.cli.commands.update(self.cli.commands)
            return
        self.cli.name = name if cli_group is _sentinel else cli_group
        app.cli.add_command(self.cli)

    # -- routes ------------------------------------------------------------------------

    @setupmethod
    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: RouteCallable | None = None,
        provide_automatic_options: bool | None = None,
        **options: t.Any,
    ) -> None:
        """Record a URL rule (and its view), added to the app at registration.

        The rule gets the registration's URL prefix and subdomain, and the
        endpoint the blueprint's name: ``"<name>.<endpoint>"``.
        """
        if endpoint and "." in endpoint:
            raise ValueError(
                f"The endpoint {endpoint!r} contains a dot; blueprint endpoints may not,"
                " because dots separate the blueprint names of an endpoint."
            )
        view_name = getattr(view_func, "__name__", None)
        if view_func is not None and view_name is not None and "." in view_name:
            raise ValueError(
                f"The view function name {view_name!r} contains a dot; blueprint views"
                " may not have one, because their names become endpoints. Rename it."
            )

        def add(state: BlueprintSetupState) -> None:
            state.add_url_rule(
                rule,
                endpoint,
                view_func,
                provide_automatic_options=provide_automatic_options,
                **options,
            )

        self.record(add)

    # -- hooks and handlers on the app ------------------------------------------------------

    @setupmethod
    def before_app_request(self, f: T_before) -> T_before:
        """Like :meth:`before_request`, but for every request to the app."""
        self.record_once(lambda s: s.app.before_request_funcs.setdefault(None, []).append(f))
        return f

    @setupmethod
    def after_app_request(self, f: T_after) -> T_after:
        """Like :meth:`after_request`, but for every request to the app."""
        self.record_once(lambda s: s.app.after_request_funcs.setdefault(None, []).append(f))
        return f

    @setupmethod
    def teardown_app_request(self, f: T_teardown) -> T_teardown:
        """Like :meth:`teardown_request`, but for every request to the app."""
        self.record_once(lambda s: s.app.teardown_request_funcs.setdefault(None, []).append(f))
        return f

    @setupmethod
    def app_url_value_preprocessor(self, f: T_url_preprocessor) -> T_url_preprocessor:
        """Like :meth:`url_value_preprocessor`, but for every request to the app."""
        _require_sync(f, "url_value_preprocessor")
        self.record_once(lambda s: s.app.url_value_preprocessors.setdefault(None, []).append(f))
        return f

    @setupmethod
    def app_url_defaults(self, f: T_url_defaults) -> T_url_defaults:
        """Like :meth:`url_defaults`, but for every URL the app builds."""
        _require_sync(f, "url_defaults")
        self.record_once(lambda s: s.app.url_default_functions.setdefault(None, []).append(f))
        return f

    @setupmethod
    def app_errorhandler(
        self, code_or_exception: type[BaseException] | int
    ) -> cabc.Callable[[T_error], T_error]:
        """Like :meth:`errorhandler`, but for errors in any request to the app."""
        get_exc_class_and_code(code_or_exception)  # reject bad keys now, not at registration

        def decorator(f: T_error) -> T_error:
            self.record_once(lambda s: s.app.register_error_handler(code_or_exception, f))
            return f

        return decorator

    @setupmethod
    def app_context_processor(self, f: T_context_processor) -> T_context_processor:
        """Like :meth:`context_processor`, but for every template the app renders."""
        self.record_once(lambda s: s.app.template_context_processors.setdefault(None, []).append(f))
        return f

    # -- template helpers on the app -----------------------------------------------------------

    @t.overload
    def app_template_filter(self, name: T_template) -> T_template: ...
    @t.overload
    def app_template_filter(
        self, name: str | None = None
    ) -> cabc.Callable[[T_template], T_template]: ...
    @setupmethod
    def app_template_filter(
        self, name: T_template | str | None = None
    ) -> T_template | cabc.Callable[[T_template], T_template]:
        """Register the decorated function as a template filter of the app.

        Use as ``@bp.app_template_filter()``, ``@bp.app_template_filter("name")``
        or ``@bp.app_template_filter``; the name defaults to the function's.
        """
        if callable(name):
            self.add_app_template_filter(name)
            return name

        def decorator(f: T_template) -> T_template:
            self.add_app_template_filter(f, name)
            return f

        return decorator

    @setupmethod
    def add_app_template_filter(self, f: TemplateCallable, name: str | None = None) -> None:
        """Register ``f`` as a template filter of the app (non-decorator form)."""
        self.record_once(lambda s: s.app.add_template_filter(f, name))

    @t.overload
    def app_template_test(self, name: T_template) -> T_template: ...
    @t.overload
    def app_template_test(
        self, name: str | None = None
    ) -> cabc.Callable[[T_template], T_template]: ...
    @setupmethod
    def app_template_test(
        self, name: T_template | str | None = None
    ) -> T_template | cabc.Callable[[T_template], T_template]:
        """Register the decorated function as a template test of the app.

        Used like :meth:`app_template_filter`.
        """
        if callable(name):
            self.add_app_template_test(name)
            return name

        def decorator(f: T_template) -> T_template:
            self.add_app_template_test(f, name)
            return f

        return decorator

    @setupmethod
    def add_app_template_test(self, f: TemplateCallable, name: str | None = None) -> None:
        """Register ``f`` as a template test of the app (non-decorator form)."""
        self.record_once(lambda s: s.app.add_template_test(f, name))

    @t.overload
    def app_template_global(self, name: T_template) -> T_template: ...
    @t.overload
    def app_template_global(
        self, name: str | None = None
    ) -> cabc.Callable[[T_template], T_template]: ...
    @setupmethod
    def app_template_global(
        self, name: T_template | str | None = None
    ) -> T_template | cabc.Callable[[T_template], T_template]:
        """Register the decorated function as a global of the app's templates.

        Used like :meth:`app_template_filter`.
        """
        if callable(name):
            self.add_app_template_global(name)
            return name

        def decorator(f: T_template) -> T_template:
            self.add_app_template_global(f, name)
            return f

        return decorator

    @setupmethod
    def add_app_template_global(self, f: TemplateCallable, name: str | None = None) -> None:
        """Register ``f`` as a global of the app's templates (non-decorator form)."""
        self.record_once(lambda s: s.app.add_template_global(f, name))


def _check_name(name: t.Any, what: str) -> None:
    if not isinstance(name, str) or not name:
        raise ValueError(f"{what} must be a non-empty string, not {name!r}.")
    if "." in name:
        raise ValueError(
            f"{what} may not contain a dot ({name!r}): dots separate the names of"
            " nested blueprints in endpoints."
        )
