from __future__ import annotations

import collections.abc as cabc
import io
import logging
import sys
import uuid
from collections.abc import Iterator

import pytest

from quartlike.logging import create_logger
from quartlike.logging import default_handler
from quartlike.logging import has_level_handler

MakeTop = cabc.Callable[[], logging.Logger]


class StandInApp:
    def __init__(self, name: str, debug: bool = False) -> None:
        self.name = name
        self.debug = debug


@pytest.fixture
def make_top() -> Iterator[cabc.Callable[[], logging.Logger]]:
    """Create fresh loggers that stand in for the root logger.

    They do not propagate, so the handlers pytest puts on the real root logger
    do not affect the tests. They must be created inside the test body, because
    pytest also attaches its handlers to non-propagating loggers that exist when
    the test starts. They and their children are dropped afterwards.
    """
    names: list[str] = []

    def make() -> logging.Logger:
        name = f"qltest_{uuid.uuid4().hex}"
        names.append(name)
        logger = logging.getLogger(name)
        logger.propagate = False
        logger.setLevel(logging.WARNING)
        return logger

    yield make

    manager = logging.Logger.manager
    for name in names:
        for key in [k for k in manager.loggerDict if k == name or k.startswith(f"{name}.")]:
            dropped = manager.loggerDict.pop(key)
            if isinstance(dropped, logging.Logger):
                dropped.handlers.clear()


def test_default_handler_format(monkeypatch: pytest.MonkeyPatch) -> None:
    record = logging.LogRecord(
        name="x",
        level=logging.WARNING,
        pathname="/src/views.py",
        lineno=3,
        msg="disk %s",
        args=("full",),
        exc_info=None,
    )
    assert default_handler.formatter is not None
    text = default_handler.format(record)
    assert text.startswith("[")
    assert text.endswith("] WARNING in views: disk full")


def test_default_handler_follows_sys_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(default_handler, logging.StreamHandler)
    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    assert default_handler.stream is first
    monkeypatch.setattr(sys, "stderr", second)
    record = logging.makeLogRecord({"msg": "hello", "levelno": 20, "levelname": "INFO"})
    default_handler.handle(record)
    assert first.getvalue() == ""
    assert "INFO in " in second.getvalue()
    assert second.getvalue().endswith(": hello\n")


def test_has_level_handler_own_handler(make_top: MakeTop) -> None:
    top = make_top()
    logger = logging.getLogger(f"{top.name}.app")
    assert not has_level_handler(logger)
    handler = logging.NullHandler()
    logger.addHandler(handler)
    assert has_level_handler(logger)
    handler.setLevel(logging.ERROR)  # the effective level is WARNING, from `top`
    assert not has_level_handler(logger)
    logger.setLevel(logging.ERROR)
    assert has_level_handler(logger)


def test_has_level_handler_ancestors(make_top: MakeTop) -> None:
    top = make_top()
    parent = logging.getLogger(f"{top.name}.parent")
    child = logging.getLogger(f"{top.name}.parent.child")
    parent.addHandler(logging.NullHandler())
    assert has_level_handler(child)

    child.propagate = False
    assert not has_level_handler(child)
    child.propagate = True

    parent.handlers.clear()
    assert not has_level_handler(child)
    top.addHandler(logging.NullHandler())
    assert has_level_handler(child)

    parent.propagate = False
    assert not has_level_handler(child)


def test_has_level_handler_reaches_root() -> None:
    root = logging.getLogger()
    saved = root.handlers[:]
    name = f"qltest_{uuid.uuid4().hex}"
    try:
        root.handlers.clear()
        logger = logging.getLogger(name)
        assert not has_level_handler(logger)
        root.addHandler(logging.NullHandler())
        assert has_level_handler(logger)
    finally:
        root.handlers[:] = saved
        logging.Logger.manager.loggerDict.pop(name, None)


def test_has_level_handler_uses_effective_level(make_top: MakeTop) -> None:
    top = make_top()
    handler = logging.NullHandler()
    handler.setLevel(logging.INFO)
    top.addHandler(handler)
    logger = logging.getLogger(f"{top.name}.app")
    logger.setLevel(logging.DEBUG)
    assert not has_level_handler(logger)
    logger.setLevel(logging.INFO)
    assert has_level_handler(logger)


def test_create_logger_adds_default_handler(make_top: MakeTop) -> None:
    top = make_top()
    name = f"{top.name}.app"
    logger = create_logger(StandInApp(name))
    assert logger is logging.getLogger(name)
    assert logger.handlers == [default_handler]
    assert logger.level == logging.NOTSET
    # Calling again does not stack a second handler.
    create_logger(StandInApp(name))
    assert logger.handlers == [default_handler]


def test_create_logger_debug_sets_level(make_top: MakeTop) -> None:
    top = make_top()
    logger = create_logger(StandInApp(f"{top.name}.app", debug=True))
    assert logger.level == logging.DEBUG
    assert default_handler in logger.handlers


def test_create_logger_keeps_explicit_level(make_top: MakeTop) -> None:
    top = make_top()
    name = f"{top.name}.app"
    logging.getLogger(name).setLevel(logging.ERROR)
    logger = create_logger(StandInApp(name, debug=True))
    assert logger.level == logging.ERROR


def test_create_logger_respects_existing_handlers(make_top: MakeTop) -> None:
    top = make_top()
    top.addHandler(logging.NullHandler())
    logger = create_logger(StandInApp(f"{top.name}.app"))
    assert logger.handlers == []


def test_create_logger_debug_needs_handler_at_debug(make_top: MakeTop) -> None:
    top = make_top()
    handler = logging.NullHandler()
    handler.setLevel(logging.WARNING)
    top.addHandler(handler)
    logger = create_logger(StandInApp(f"{top.name}.app", debug=True))
    # The existing handler drops DEBUG records, so the default handler is added.
    assert logger.handlers == [default_handler]


def test_create_logger_output(make_top: MakeTop, capsys: pytest.CaptureFixture[str]) -> None:
    top = make_top()
    logger = create_logger(StandInApp(f"{top.name}.app", debug=True))
    logger.debug("details %d", 42)
    logger.info("more")
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("] DEBUG in test_logging: details 42")
    assert lines[1].endswith("] INFO in test_logging: more")
