"""Class-based views: :class:`View` and :class:`MethodView`.

Methods may be sync or async. Whether each handler is a coroutine function is
decided once per class, when the class is created, not per request.
"""

from __future__ import annotations

import collections.abc as cabc
import typing as t

from .globals import current_app
from .globals import request
from .sync import is_async_callable
from .typing import ResponseReturnValue
from .typing import RouteCallable

http_method_funcs = frozenset(["get", "post", "head", "options", "delete", "put", "trace", "patch"])


class View:
    """Subclass and implement :meth:`dispatch_request`; register with :meth:`as_view`.

    Class attributes tune the registered view: :attr:`methods`,
    :attr:`provide_automatic_options`, :attr:`decorators` (applied to the
    view function, innermost first) and :attr:`init_every_request`.
    """

    #: The methods the view accepts (``None``: the route's default, GET).
    methods: t.ClassVar[cabc.Collection[str] | None] = None
    #: Override the app's automatic OPTIONS handling for this view.
    provide_automatic_options: t.ClassVar[bool | None] = None
    #: Decorators applied to the generated view function, in order.
    decorators: t.ClassVar[list[cabc.Callable[..., t.Any]]] = []
    #: Create a new instance per request (True) or one at registration (False).
    init_every_request: t.ClassVar[bool] = True

    def dispatch_request(self, **kwargs: t.Any) -> ResponseReturnValue | cabc.Awaitable[t.Any]:
        """Handle the request; sync or async. The URL variables are the arguments."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement 'dispatch_request' (sync or async)."
        )

    @classmethod
    def as_view(cls, name: str, *class_args: t.Any, **class_kwargs: t.Any) -> RouteCallable:
        """Return a view function for ``app.add_url_rule(rule, view_func=...)``.

        ``class_args`` and ``class_kwargs`` are passed to the constructor.
        """
        if cls.init_every_request:

            async def view(**kwargs: t.Any) -> t.Any:
                self = view.view_class(*class_args, **class_kwargs)  # type: ignore[attr-defined]
                return await current_app.ensure_async(self.dispatch_request)(**kwargs)

        else:
            instance = cls(*class_args, **class_kwargs)

            async def view(**kwargs: t.Any) -> t.Any:
                return await current_app.ensure_async(instance.dispatch_request)(**kwargs)

        if cls.decorators:
            view.__name__ = name
            view.__module__ = cls.__module__
            for decorator in cls.decorators:
                view = decorator(view)

        view.view_class = cls  # type: ignore[attr-defined]
        view.__name__ = name
        view.__doc__ = cls.__doc__
        view.__module__ = cls.__module__
        view.methods = cls.methods  # type: ignore[attr-defined]
        view.provide_automatic_options = cls.provide_automatic_options  # type: ignore[attr-defined]
        return view


class MethodView(View):
    """Dispatch each HTTP method to the method of the same name (``get``, ``post``, ...).

    ``methods`` is filled in from the handlers the class defines; HEAD falls
    back to ``get``.
    """

    _async_handlers: t.ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: t.Any) -> None:
        super().__init_subclass__(**kwargs)
        if "methods" not in cls.__dict__:
            methods = {name.upper() for name in http_method_funcs if hasattr(cls, name)}
            for base in cls.__bases__:
                methods.update(getattr(base, "methods", None) or ())
            if methods:
                cls.methods = methods
        cls._async_handlers = frozenset(
            name for name in http_method_funcs if is_async_callable(getattr(cls, name, None))
        )

    async def dispatch_request(self, **kwargs: t.Any) -> t.Any:
        """Call the handler for the request's method."""
        name = request.method.lower()
        meth = getattr(self, name, None)
        if meth is None and request.method == "HEAD":
            name = "get"
            meth = getattr(self, "get", None)
        if meth is None:
            raise RuntimeError(
                f"{type(self).__name__} has no handler for {request.method!r}; define"
                f" a '{request.method.lower()}' method or remove it from 'methods'."
            )
        if name in self._async_handlers:
            return await meth(**kwargs)
        return await current_app.ensure_async(meth)(**kwargs)
