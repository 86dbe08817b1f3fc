"""Compiling Jinja templates in async mode without most of the async overhead.

Used by :class:`quartlike.templating.Environment`; see the comment below for what
the rewrite does and why each step keeps the template's meaning.
"""

from __future__ import annotations

import ast
import inspect
import typing as t
from contextvars import ContextVar
from types import CodeType

_N = t.TypeVar("_N", bound=ast.AST)
_S = t.TypeVar("_S", bound=ast.AST)

# -- compiling: async templates without most of the async overhead --------------------------
#
# Jinja's async mode compiles ``{{ user.name }}`` to
# ``(await auto_await(environment.getattr(l_user, 'name')))``: a coroutine is created
# and run for every attribute, item, call, filter and test, even when (as nearly
# always) the value is a plain string or number. Loops become ``async for`` over an
# adapter of the (usually plain) iterable, and the output is an async generator that
# ``render_async`` drains with an async comprehension. Together that is about a
# third more than the sync code for the same template.
#
# ``Environment._compile`` (Jinja's hook for compiling the module it generated)
# rewrites the module's syntax tree before compiling it. Each rewrite keeps the
# meaning of the code; it only takes a shortcut when the value at hand shows that
# the async machinery would do nothing:
#
# 1. ``await auto_await(X)`` becomes ``(t if type(t := X) in PLAIN else await
#    auto_await(t))``: values of the types in PLAIN (``str``, ``int``, ``Markup``...)
#    are never awaitable and ``auto_await`` returns them unchanged; anything else
#    still goes through ``auto_await``. Statements that set ``t`` are followed by
#    ``t = None``, so that the temporary keeps nothing alive longer than Jinja would.
# 2. ``async for x in auto_aiter(X)`` (and ``AsyncLoopContext(X, ...)``, the form
#    of loops that use ``loop``) runs a plain ``for`` (over ``X``, or
#    ``LoopContext(X, ...)``) when ``X`` has no ``__aiter__`` (the test ``auto_aiter``
#    makes), and the original loop otherwise. The loop body is compiled twice;
#    only the outer loops of a deep nest are split, to bound the code size.
# 3. The render function (``root``) and each block function get a second version
#    that appends its output to a list instead of yielding it, stored as the
#    ``_quartlike_buffered`` attribute of the original. Where one renders another
#    render or block function (``{% extends %}``, ``{% block %}``, ``{% include %}``),
#    the buffered version calls the other's buffered version when it has one.
#    :func:`_render_buffered` renders through it; streaming, ``super()``, macros and
#    imports use the original (rewritten) generators.
#
# Line numbers are kept, so template tracebacks point at the same template lines.
# Generated code the rewrite does not recognise is left as Jinja wrote it; a
# template without a buffered version renders through ``render_async``.

#: True while :func:`render_template_string` and :func:`stream_template_string` compile
#: their template, which is rendered once: the rewrite costs more than it saves then.
_cv_compile_as_generated: ContextVar[bool] = ContextVar(
    "quartlike.templating.compile_as_generated", default=False
)
#: The attribute of a render or block function that holds its buffered version.
_BUFFERED = "_quartlike_buffered"
#: Loops nested deeper than this keep the plain ``async for`` (each level doubles the code).
_MAX_LOOP_SPLIT_DEPTH = 3
_NESTED_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
#: What a statement's lists of statements hold (``try`` handlers, ``match`` cases).
_STATEMENT_LIKE = (ast.stmt, ast.excepthandler, ast.match_case)

# Names the rewritten code uses (Jinja's generated names never start with ``_ql_``).
_PLAIN = "_ql_plain"
_LOOP_CONTEXT = "_ql_LoopContext"
_TMP = "_ql_t"
_ITER = "_ql_it"
_WRITE = "_ql_w"
_FUNC = "_ql_f"
_BUF_FUNC = "_ql_b"
#: Marks (as an attribute) a statement whose own expressions set ``_TMP``.
_SETS_TMP = "_ql_sets_tmp"

_PRELUDE = f"""\
from jinja2.runtime import LoopContext as {_LOOP_CONTEXT}, Markup as _ql_Markup
{_PLAIN} = frozenset((int, float, bool, str, list, dict, tuple, type(None), _ql_Markup))
"""


def _load(name: str) -> ast.Name:
    return ast.Name(id=name, ctx=ast.Load())


def _store(name: str) -> ast.Name:
    return ast.Name(id=name, ctx=ast.Store())


def _call(func: ast.expr, *args: ast.expr) -> ast.Call:
    return ast.Call(func=func, args=list(args), keywords=[])


def _is_call_to(node: ast.AST, name: str, nargs: int | None = 1) -> t.TypeGuard[ast.Call]:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == name
        and not node.keywords
        and (nargs is None or len(node.args) == nargs)
        and not any(isinstance(arg, ast.Starred) for arg in node.args)
    )


def _copy_statement(stmt: _S) -> _S:
    """A copy of ``stmt`` and of the statements in it, sharing their expressions.

    Copies are made of code that rewrite 1 is done with, and from then on the
    rewrites replace statements but never change an expression, so the copies
    can share their expressions (``compile`` converts a shared node once for
    each place it is in).
    """
    fields = dict(stmt.__dict__)
    for key, value in fields.items():
        if isinstance(value, list) and value and isinstance(value[0], _STATEMENT_LIKE):
            fields[key] = [_copy_statement(item) for item in value]
    rv = type(stmt).__new__(type(stmt))
    rv.__dict__.update(fields)
    return rv


def _locate(node: _N, source: ast.AST) -> _N:
    """Give ``node`` and the new nodes under it ``source``'s location.

    Nodes that have a location (those taken from the generated code) keep it,
    with everything under them.
    """
    pending: list[ast.AST] = [node]
    while pending:
        current = pending.pop()
        ast.copy_location(current, source)
        for child in ast.iter_child_nodes(current):
            # Operators and contexts have no location; located nodes keep theirs.
            if "lineno" in child._attributes and not hasattr(child, "lineno"):
                pending.append(child)
    return node


class _Rewriter(ast.NodeTransformer):
    """Rewrites 1 and 2, on the whole module."""

    def __init__(self) -> None:
        self.loop_depth = 0
        self.statements: list[ast.stmt] = []

    def visit(self, node: ast.AST) -> t.Any:
        if not isinstance(node, ast.stmt):
            return super().visit(node)
        self.statements.append(node)
        try:
            return super().visit(node)
        finally:
            self.statements.pop()

    def visit_Await(self, node: ast.Await) -> ast.expr:
        self.generic_visit(node)
        if not _is_call_to(node.value, "auto_await"):
            return node
        # The statement whose expression this is now sets the temporary (for
        # _release_temporaries; _copy_statement copies the mark).
        setattr(self.statements[-1], _SETS_TMP, True)
        test = ast.Compare(
            left=_call(_load("type"), ast.NamedExpr(target=_store(_TMP), value=node.value.args[0])),
            ops=[ast.In()],
            comparators=[_load(_PLAIN)],
        )
        slow = ast.Await(value=_call(_load("auto_await"), _load(_TMP)))
        return _locate(ast.IfExp(test=test, body=_load(_TMP), orelse=slow), node)

    def _leave_alone(self, node: ast.AST) -> ast.AST:
        # An assignment expression is not allowed everywhere in a comprehension.
        return node

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _leave_alone

    def visit_AsyncFor(self, node: ast.AsyncFor) -> ast.AST | list[ast.stmt]:
        if self._split(node.iter) is None or self.loop_depth >= _MAX_LOOP_SPLIT_DEPTH:
            self.generic_visit(node)
            return node
        self.loop_depth += 1
        try:
            self.generic_visit(node)
        finally:
            self.loop_depth -= 1
        split = self._split(node.iter)  # again: the visit rewrote the iterable
        if split is None:  # pragma: no cover - the visit keeps the call itself
            return node
        iterable, async_iter, sync_iter = split
        # The iterable waits in a one-item list that the loop pops, so that no
        # variable keeps it (a generator, say) alive after the loop.
        box = ast.Assign(targets=[_store(_ITER)], value=ast.List(elts=[iterable], ctx=ast.Load()))
        if node.__dict__.pop(_SETS_TMP, False):
            setattr(box, _SETS_TMP, True)  # the iterable was the loop's only expression
        is_async = _call(
            _load("hasattr"),
            ast.Subscript(value=_load(_ITER), slice=ast.Constant(0), ctx=ast.Load()),
            ast.Constant("__aiter__"),
        )
        async_loop = ast.AsyncFor(
            target=node.target, iter=async_iter, body=node.body, orelse=node.orelse
        )
        sync_loop = ast.For(
            target=node.target,
            iter=sync_iter,
            body=[_copy_statement(stmt) for stmt in node.body],
            orelse=[_copy_statement(stmt) for stmt in node.orelse],
        )
        branch = ast.If(test=is_async, body=[async_loop], orelse=[sync_loop])
        return [_locate(box, node), _locate(branch, node)]

    @staticmethod
    def _split(node: ast.expr) -> tuple[ast.expr, ast.expr, ast.expr] | None:
        """``(iterable, async form, sync form)`` of a loop's iterable, or ``None``."""

        def pop() -> ast.expr:
            return _call(ast.Attribute(value=_load(_ITER), attr="pop", ctx=ast.Load()))

        if _is_call_to(node, "auto_aiter"):
            return node.args[0], _call(_load("auto_aiter"), pop()), pop()
        if (
            _is_call_to(node, "AsyncLoopContext", None)
            and node.args
            # The other arguments are now evaluated after the ``hasattr`` test,
            # which changes nothing only for names and constants.
            and all(isinstance(arg, ast.Name | ast.Constant) for arg in node.args[1:])
        ):
            # AsyncLoopContext iterates its iterable through auto_aiter, and
            # LoopContext (the sync mode's) through iter(); the rest is the same.
            rest = node.args[1:]
            async_form = _call(_load("AsyncLoopContext"), pop(), *rest)
            sync_form = _call(_load(_LOOP_CONTEXT), pop(), *rest)
            return node.args[0], async_form, sync_form
        return None


def _release_temporaries(stmts: list[ast.stmt]) -> list[ast.stmt]:
    """Follow each statement that sets the temporary of rewrite 1 with ``_ql_t = None``
    (and start each of its bodies with it).

    ``auto_await`` keeps no reference to the value it returns, and the temporary
    must not either: a generator made by ``{% for x in make() %}`` is closed when
    the loop breaks, an object finalized when Jinja's code drops it.
    """
    out: list[ast.stmt] = []
    for stmt in stmts:
        sets = stmt.__dict__.pop(_SETS_TMP, False)
        for field, value in ast.iter_fields(stmt):
            if not isinstance(value, list) or not value:
                continue
            if isinstance(value[0], ast.stmt):
                body = _release_temporaries(value)
                setattr(stmt, field, [_clear_temporary(stmt), *body] if sets else body)
            elif isinstance(value[0], ast.ExceptHandler):
                for handler in value:
                    handler.body = _release_temporaries(handler.body)
        out.append(stmt)
        if sets and not isinstance(stmt, ast.Return | ast.Raise):
            out.append(_clear_temporary(stmt))
    return out


def _clear_temporary(where: ast.stmt) -> ast.stmt:
    return _locate(ast.Assign(targets=[_store(_TMP)], value=ast.Constant(None)), where)


def _is_yield_of(stmt: ast.stmt, name: str) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Yield)
        and isinstance(stmt.value.value, ast.Name)
        and stmt.value.value.id == name
    )


def _match_subrender(
    stmts: list[ast.stmt], i: int
) -> tuple[ast.expr, ast.expr, list[ast.stmt], ast.AsyncFor] | None:
    """Match, at ``stmts[i]``, the rendering of another render or block function.

    Jinja writes it ``agen = F(A)`` then ``try: async for e in agen: yield e``
    ``finally: await agen.aclose()`` (older versions: ``async for e in F(A): yield e``).
    Returns ``(F, A, the matched statements with F(A) calling a temporary
    instead of F, the loop)``.
    """
    stmt = stmts[i]
    if (
        isinstance(stmt, ast.AsyncFor)
        and isinstance(stmt.target, ast.Name)
        and isinstance(stmt.iter, ast.Call)
        and len(stmt.iter.args) == 1
        and not stmt.iter.keywords
        and not isinstance(stmt.iter.args[0], ast.Starred)
        and len(stmt.body) == 1
        and _is_yield_of(stmt.body[0], stmt.target.id)
        and not stmt.orelse
    ):
        func, arg = stmt.iter.func, stmt.iter.args[0]
        stmt.iter = _locate(_call(_load(_FUNC), arg), stmt.iter)
        return func, arg, [stmt], stmt
    if i + 1 >= len(stmts):
        return None
    follow = stmts[i + 1]
    if not (
        isinstance(stmt, ast.Assign)
        and len(stmt.targets) == 1
        and isinstance(stmt.targets[0], ast.Name)
        and isinstance(stmt.value, ast.Call)
        and len(stmt.value.args) == 1
        and not stmt.value.keywords
        and not isinstance(stmt.value.args[0], ast.Starred)
        and isinstance(follow, ast.Try)
        and not follow.handlers
        and not follow.orelse
        and len(follow.body) == 1
        and len(follow.finalbody) == 1
    ):
        return None
    gen = stmt.targets[0].id
    loop, final = follow.body[0], follow.finalbody[0]
    if not (
        isinstance(loop, ast.AsyncFor)
        and isinstance(loop.target, ast.Name)
        and isinstance(loop.iter, ast.Name)
        and loop.iter.id == gen
        and len(loop.body) == 1
        and _is_yield_of(loop.body[0], loop.target.id)
        and not loop.orelse
        and isinstance(final, ast.Expr)
        and isinstance(final.value, ast.Await)
        and isinstance(final.value.value, ast.Call)
        and isinstance(final.value.value.func, ast.Attribute)
        and final.value.value.func.attr == "aclose"
        and isinstance(final.value.value.func.value, ast.Name)
        and final.value.value.func.value.id == gen
    ):
        return None
    func, arg = stmt.value.func, stmt.value.args[0]
    stmt.value = _locate(_call(_load(_FUNC), arg), stmt.value)
    return func, arg, [stmt, follow], loop


def _buffer_statements(stmts: list[ast.stmt], delegate: bool = True) -> list[ast.stmt]:
    """Rewrite 3 on a statement list: ``yield X`` becomes ``_ql_w(X)``, and with
    ``delegate``, rendering another function calls its buffered version if it has one.
    """
    out: list[ast.stmt] = []
    i = 0
    while i < len(stmts):
        match = _match_subrender(stmts, i) if delegate else None
        if match is not None:
            func, arg, fallback, loop = match
            i += len(fallback)
            # _ql_f = F; _ql_b = getattr(_ql_f, BUFFERED, None)
            # if _ql_b is not None: await _ql_b(A, _ql_w)
            # else: (the matched statements, calling _ql_f, yields rewritten)
            lookup = _call(
                _load("getattr"), _load(_FUNC), ast.Constant(_BUFFERED), ast.Constant(None)
            )
            # Errors while the other function runs point at the line of Jinja's
            # loop, as in the generator (``A`` keeps its own locations).
            fast = ast.Expr(ast.Await(_call(_load(_BUF_FUNC), arg, _load(_WRITE))))
            branch = ast.If(
                test=ast.Compare(
                    left=_load(_BUF_FUNC), ops=[ast.IsNot()], comparators=[ast.Constant(None)]
                ),
                body=[_locate(fast, loop)],
                orelse=_buffer_statements(fallback, delegate=False),
            )
            first = fallback[0]
            out.append(_locate(ast.Assign(targets=[_store(_FUNC)], value=func), first))
            out.append(_locate(ast.Assign(targets=[_store(_BUF_FUNC)], value=lookup), first))
            out.append(_locate(branch, first))
            continue
        stmt = stmts[i]
        i += 1
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Yield):
            value = stmt.value.value or ast.Constant(None)
            out.append(_locate(ast.Expr(value=_call(_load(_WRITE), value)), stmt))
            continue
        if not isinstance(stmt, _NESTED_SCOPES):
            _buffer_children(stmt)
        out.append(stmt)
    return out


def _buffer_children(node: ast.AST) -> None:
    for field, value in ast.iter_fields(node):
        if not isinstance(value, list) or not value:
            continue
        if isinstance(value[0], ast.stmt):
            setattr(node, field, _buffer_statements(value))
        elif isinstance(value[0], ast.excepthandler | ast.match_case):
            for item in value:
                _buffer_children(item)


def _buffered_version(func: ast.AsyncFunctionDef) -> ast.AsyncFunctionDef | None:
    """Rewrite 3: the version of a render or block function that writes to ``_ql_w``."""
    args = func.args
    if args.posonlyargs or args.vararg or len(args.args) != 1 + len(args.defaults):
        return None  # not the (context, missing=missing, environment=environment) of Jinja
    rv = _copy_statement(func)
    rv.body = _buffer_statements(rv.body)
    rv.args = ast.arguments(
        posonlyargs=[],
        args=[args.args[0], _locate(ast.arg(arg=_WRITE), func), *args.args[1:]],
        vararg=None,
        kwonlyargs=args.kwonlyargs,
        kw_defaults=args.kw_defaults,
        kwarg=args.kwarg,
        defaults=args.defaults,
    )
    return rv


def _is_buffered_generator(code: CodeType) -> bool:
    """Whether a buffered function of the compiled module is still a generator: the
    rewrite met a ``yield`` it does not know (Jinja only writes ``yield`` statements).
    """
    return any(
        isinstance(const, CodeType)
        and const.co_varnames[1:2] == (_WRITE,)
        and const.co_flags & (inspect.CO_GENERATOR | inspect.CO_ASYNC_GENERATOR)
        for const in code.co_consts
    )


def _rewrite_module(tree: ast.Module) -> None:
    """Apply the three rewrites to a module Jinja generated for a template (in place)."""
    _Rewriter().visit(tree)
    tree.body = _release_temporaries(tree.body)
    names = {"root"}
    for stmt in tree.body:
        if (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
            and stmt.targets[0].id == "blocks"
            and isinstance(stmt.value, ast.Dict)
        ):
            names.update(v.id for v in stmt.value.values if isinstance(v, ast.Name))
    body: list[ast.stmt] = ast.parse(_PRELUDE).body
    attach: list[ast.stmt] = []
    for stmt in tree.body:
        if isinstance(stmt, ast.AsyncFunctionDef) and stmt.name in names:
            buffered = _buffered_version(stmt)
            if buffered is not None:
                # Defined under the same name (tracebacks say "root", "block 'x'"),
                # kept under another, and the original takes the name back.
                alias = f"_ql_buffered_{stmt.name}"
                body.append(buffered)
                keep = ast.Assign(targets=[_store(alias)], value=_load(stmt.name))
                body.append(_locate(keep, stmt))
                target = ast.Attribute(value=_load(stmt.name), attr=_BUFFERED, ctx=ast.Store())
                attach.append(_locate(ast.Assign(targets=[target], value=_load(alias)), stmt))
        body.append(stmt)
    tree.body = body + attach
