from __future__ import annotations

import errno
import json
import os
import sys
import textwrap
import tomllib
import typing as t
from datetime import timedelta
from pathlib import Path

import flask
import pytest

from quartlike.config import DEFAULT_CONFIG
from quartlike.config import Config
from quartlike.config import ConfigAttribute

# ---------------------------------------------------------------------------
# DEFAULT_CONFIG
# ---------------------------------------------------------------------------

OVERRIDDEN = {
    "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
    "MAX_FORM_MEMORY_SIZE": 500_000,
    "MAX_FORM_PARTS": 1_000,
    "SESSION_COOKIE_SAMESITE": "Lax",
}

EXTRA = {
    "BODY_TIMEOUT": 60,
    "RESPONSE_TIMEOUT": 60,
    "BACKGROUND_TASK_SHUTDOWN_TIMEOUT": 5,
    "SYNC_WORKERS": 32,
    "MAX_WEBSOCKET_MESSAGE_SIZE": 1024 * 1024,
    "WEBSOCKET_RECEIVE_QUEUE_SIZE": 16,
    "FORM_SPOOL_THRESHOLD": 500 * 1024,
}


def test_default_config_has_every_flask_key() -> None:
    flask_defaults = dict(flask.Flask.default_config)
    assert set(flask_defaults) <= set(DEFAULT_CONFIG)
    for key, value in flask_defaults.items():
        expected = OVERRIDDEN.get(key, value)
        assert DEFAULT_CONFIG[key] == expected, key


def test_default_config_extra_keys() -> None:
    flask_keys = set(flask.Flask.default_config)
    assert set(DEFAULT_CONFIG) - flask_keys == set(EXTRA)
    for key, value in EXTRA.items():
        assert DEFAULT_CONFIG[key] == value


def test_default_config_selected_values() -> None:
    assert DEFAULT_CONFIG["DEBUG"] is None
    assert DEFAULT_CONFIG["TESTING"] is False
    assert DEFAULT_CONFIG["PERMANENT_SESSION_LIFETIME"] == timedelta(days=31)
    assert DEFAULT_CONFIG["APPLICATION_ROOT"] == "/"
    assert DEFAULT_CONFIG["SESSION_COOKIE_NAME"] == "session"
    assert DEFAULT_CONFIG["SESSION_COOKIE_PARTITIONED"] is False
    assert DEFAULT_CONFIG["MAX_CONTENT_LENGTH"] == 16 * 1024 * 1024


def test_defaults_are_copied() -> None:
    config = Config("/", DEFAULT_CONFIG)
    config["TESTING"] = True
    assert DEFAULT_CONFIG["TESTING"] is False
    assert config["SECRET_KEY"] is None


# ---------------------------------------------------------------------------
# Construction and repr
# ---------------------------------------------------------------------------


def test_init_without_defaults(tmp_path: Path) -> None:
    config = Config(tmp_path)
    assert config == {}
    assert config.root_path == tmp_path
    assert isinstance(config, dict)


def test_init_with_defaults() -> None:
    config = Config("/srv", {"A": 1})
    assert config == {"A": 1}
    assert config.root_path == "/srv"


def test_repr() -> None:
    config = Config("/", {"A": 1})
    assert repr(config) == "<Config {'A': 1}>"

    class Sub(Config):
        pass

    assert repr(Sub("/", {"B": [2]})) == "<Sub {'B': [2]}>"


# ---------------------------------------------------------------------------
# from_object
# ---------------------------------------------------------------------------


class Settings:
    SECRET_KEY = "dev"
    DEBUG = True
    lower = "ignored"
    Mixed_Case = "ignored"
    _PRIVATE_LOWER = "kept"


class MoreSettings(Settings):
    DEBUG = False
    EXTRA = 3


def test_from_object_uppercase_only() -> None:
    config = Config("/")
    config.from_object(Settings)
    assert config == {"SECRET_KEY": "dev", "DEBUG": True, "_PRIVATE_LOWER": "kept"}


def test_from_object_instance_and_inheritance() -> None:
    config = Config("/")
    config.from_object(MoreSettings())
    assert config["DEBUG"] is False
    assert config["EXTRA"] == 3
    assert config["SECRET_KEY"] == "dev"


def test_from_object_import_string(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "qlcfg_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "settings.py").write_text(
        textwrap.dedent(
            """
            import os
            DATABASE = "sqlite://"
            helper = "not config"

            class Production:
                DATABASE = "postgres://"
                POOL = 5
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "qlcfg_pkg", raising=False)
    monkeypatch.delitem(sys.modules, "qlcfg_pkg.settings", raising=False)

    config = Config(tmp_path)
    config.from_object("qlcfg_pkg.settings")
    assert config == {"DATABASE": "sqlite://"}

    config.from_object("qlcfg_pkg.settings.Production")
    assert config == {"DATABASE": "postgres://", "POOL": 5}
    config.from_object("qlcfg_pkg.settings:Production")
    assert config["POOL"] == 5


def test_from_object_bad_import_string() -> None:
    config = Config("/")
    with pytest.raises(ImportError):
        config.from_object("qlcfg_does_not_exist.settings")
    assert config == {}


# ---------------------------------------------------------------------------
# from_pyfile / from_envvar
# ---------------------------------------------------------------------------


def write_pyfile(path: Path) -> Path:
    path.write_text(
        textwrap.dedent(
            """
            import os
            SECRET_KEY = "from file"
            NUMBERS = [1, 2, 3]
            COMPUTED = len(NUMBERS) * 2
            FILE_NAME = os.path.basename(__file__)
            lowercase = "ignored"
            """
        )
    )
    return path


def test_from_pyfile(tmp_path: Path) -> None:
    write_pyfile(tmp_path / "settings.cfg")
    config = Config(tmp_path)
    assert config.from_pyfile("settings.cfg") is True
    assert config == {
        "SECRET_KEY": "from file",
        "NUMBERS": [1, 2, 3],
        "COMPUTED": 6,
        "FILE_NAME": "settings.cfg",
    }


def test_from_pyfile_absolute_path_ignores_root(tmp_path: Path) -> None:
    path = write_pyfile(tmp_path / "abs.py")
    config = Config("/nonexistent-root")
    assert config.from_pyfile(path) is True
    assert config["SECRET_KEY"] == "from file"


def test_from_pyfile_missing_raises_with_errno_message(tmp_path: Path) -> None:
    config = Config(tmp_path)
    with pytest.raises(OSError) as exc_info:
        config.from_pyfile("missing.cfg")
    exc = exc_info.value
    assert exc.errno == errno.ENOENT
    assert exc.strerror is not None
    assert exc.strerror.startswith("Unable to load configuration file (")
    assert os.strerror(errno.ENOENT) in exc.strerror
    assert "missing.cfg" in str(exc)


def test_from_pyfile_missing_silent(tmp_path: Path) -> None:
    config = Config(tmp_path)
    assert config.from_pyfile("missing.cfg", silent=True) is False
    assert config == {}


def test_from_pyfile_directory_silent(tmp_path: Path) -> None:
    (tmp_path / "adir").mkdir()
    config = Config(tmp_path)
    assert config.from_pyfile("adir", silent=True) is False
    with pytest.raises(OSError, match="Unable to load configuration file"):
        config.from_pyfile("adir")


def test_from_pyfile_syntax_error_propagates(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("A = (\n")
    config = Config(tmp_path)
    with pytest.raises(SyntaxError):
        config.from_pyfile("broken.py", silent=True)


def test_from_envvar(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_pyfile(tmp_path / "env.cfg")
    monkeypatch.setenv("QL_TEST_SETTINGS", str(path))
    config = Config("/")
    assert config.from_envvar("QL_TEST_SETTINGS") is True
    assert config["COMPUTED"] == 6


def test_from_envvar_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QL_TEST_SETTINGS", raising=False)
    config = Config("/")
    with pytest.raises(RuntimeError) as exc_info:
        config.from_envvar("QL_TEST_SETTINGS")
    message = str(exc_info.value)
    assert "'QL_TEST_SETTINGS'" in message
    assert "silent=True" in message
    assert config.from_envvar("QL_TEST_SETTINGS", silent=True) is False


def test_from_envvar_empty_is_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QL_TEST_SETTINGS", "")
    config = Config("/")
    with pytest.raises(RuntimeError):
        config.from_envvar("QL_TEST_SETTINGS")


def test_from_envvar_missing_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QL_TEST_SETTINGS", str(tmp_path / "nope.cfg"))
    config = Config("/")
    with pytest.raises(OSError, match=r"Unable to load configuration file .*nope\.cfg"):
        config.from_envvar("QL_TEST_SETTINGS")
    assert config.from_envvar("QL_TEST_SETTINGS", silent=True) is False


# ---------------------------------------------------------------------------
# from_file / from_mapping
# ---------------------------------------------------------------------------


def test_from_file_json(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"TEST_KEY": "foo", "lower": 1}))
    config = Config(tmp_path)
    assert config.from_file("config.json", json.load) is True
    assert config == {"TEST_KEY": "foo"}


def test_from_file_toml_binary(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('TEST_KEY = "foo"\nPORT = 8000\n')
    config = Config(tmp_path)
    assert config.from_file("config.toml", tomllib.load, text=False) is True
    assert config == {"TEST_KEY": "foo", "PORT": 8000}


def test_from_file_text_mode_gives_text(tmp_path: Path) -> None:
    (tmp_path / "c.json").write_text("{}")
    seen: list[t.Any] = []

    def load(fp: t.IO[t.Any]) -> dict[str, t.Any]:
        seen.append(fp.read())
        return {}

    config = Config(tmp_path)
    config.from_file("c.json", load)
    config.from_file("c.json", load, text=False)
    assert seen == ["{}", b"{}"]


def test_from_file_missing(tmp_path: Path) -> None:
    config = Config(tmp_path)
    with pytest.raises(OSError) as exc_info:
        config.from_file("missing.json", json.load)
    assert exc_info.value.errno == errno.ENOENT
    assert "Unable to load configuration file" in str(exc_info.value)
    assert config.from_file("missing.json", json.load, silent=True) is False


def test_from_file_load_error_propagates(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{not json")
    config = Config(tmp_path)
    with pytest.raises(json.JSONDecodeError):
        config.from_file("bad.json", json.load, silent=True)


def test_from_mapping() -> None:
    config = Config("/")
    assert config.from_mapping({"SECRET_KEY": "a", "lower": 1}) is True
    assert config == {"SECRET_KEY": "a"}
    config.from_mapping({"TEST_KEY": 1, "x": 2})
    assert config == {"SECRET_KEY": "a", "TEST_KEY": 1}


def test_from_mapping_kwargs_win() -> None:
    config = Config("/")
    config.from_mapping({"A": 1, "B": 2}, B=3, C=4, d=5)
    assert config == {"A": 1, "B": 3, "C": 4}
    config.from_mapping()
    assert config == {"A": 1, "B": 3, "C": 4}


# ---------------------------------------------------------------------------
# from_prefixed_env
# ---------------------------------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith(("QUARTLIKE_", "FLASK_", "MYAPP_")):
            monkeypatch.delenv(name)
    return monkeypatch


def test_from_prefixed_env(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("QUARTLIKE_STRING", "value")
    clean_env.setenv("QUARTLIKE_BOOL", "true")
    clean_env.setenv("QUARTLIKE_INT", "1")
    clean_env.setenv("QUARTLIKE_FLOAT", "1.2")
    clean_env.setenv("QUARTLIKE_LIST", "[1, 2]")
    clean_env.setenv("QUARTLIKE_DICT", '{"k": "v"}')
    clean_env.setenv("QUARTLIKE_NULL", "null")
    clean_env.setenv("QUARTLIKE_NOT_JSON", "{oops")
    clean_env.setenv("NOT_QUARTLIKE_OTHER", "other")
    clean_env.setenv("QUARTLIKEX", "no underscore")

    config = Config("/")
    assert config.from_prefixed_env() is True
    assert config == {
        "STRING": "value",
        "BOOL": True,
        "INT": 1,
        "FLOAT": 1.2,
        "LIST": [1, 2],
        "DICT": {"k": "v"},
        "NULL": None,
        "NOT_JSON": "{oops",
    }


def test_from_prefixed_env_custom_prefix_and_loads(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("MYAPP_A", "1")
    clean_env.setenv("QUARTLIKE_B", "2")
    config = Config("/")
    config.from_prefixed_env("MYAPP", loads=str.upper)
    assert config == {"A": "1"}

    def failing(value: str) -> t.Any:
        raise ValueError(value)

    config.from_prefixed_env("MYAPP", loads=failing)
    assert config == {"A": "1"}


def test_from_prefixed_env_nested(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("QUARTLIKE_EXIST__ok", "other")
    clean_env.setenv("QUARTLIKE_EXIST__inner__ik", "2")
    clean_env.setenv("QUARTLIKE_EXIST__new__more", '{"k": false}')
    clean_env.setenv("QUARTLIKE_NEW__K", "v")

    config = Config("/")
    config["EXIST"] = {"ok": "value", "flag": True, "inner": {"ik": 1}}
    config.from_prefixed_env()

    if os.name == "nt":  # pragma: no cover - environment names are upper-cased
        assert config["EXIST"]["OK"] == "other"
    else:
        assert config["EXIST"] == {
            "ok": "other",
            "flag": True,
            "inner": {"ik": 2},
            "new": {"more": {"k": False}},
        }
        assert config["NEW"] == {"K": "v"}


def test_from_prefixed_env_nested_through_scalar(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("QUARTLIKE_PORT__VALUE", "1")
    config = Config("/", {"PORT": 8000})
    with pytest.raises(TypeError, match="'PORT' already holds a int"):
        config.from_prefixed_env()


def test_from_prefixed_env_applies_in_sorted_order(clean_env: pytest.MonkeyPatch) -> None:
    # Sorted order applies QUARTLIKE_DB before QUARTLIKE_DB__HOST, so the
    # nested value lands inside the dict the first variable created.
    clean_env.setenv("QUARTLIKE_DB__HOST", "h")
    clean_env.setenv("QUARTLIKE_DB", '{"PORT": 1}')
    config = Config("/")
    config.from_prefixed_env()
    assert config["DB"] == {"PORT": 1, "HOST": "h"}


ENV_TABLE = {
    "STRING": "value",
    "INT": "42",
    "JSONISH": '[1, {"a": null}]',
    "BROKEN": "[1,",
    "NESTED__A__B": "true",
    "NESTED__C": "3.5",
}


def test_from_prefixed_env_matches_flask(clean_env: pytest.MonkeyPatch) -> None:
    for key, value in ENV_TABLE.items():
        clean_env.setenv(f"QUARTLIKE_{key}", value)
        clean_env.setenv(f"FLASK_{key}", value)
    ours = Config("/", {"NESTED": {"Z": 0}})
    theirs = flask.Config("/", {"NESTED": {"Z": 0}})
    ours.from_prefixed_env()
    theirs.from_prefixed_env()
    assert dict(ours) == dict(theirs)
    assert ours["NESTED"] == {"Z": 0, "A": {"B": True}, "C": 3.5}


# ---------------------------------------------------------------------------
# get_namespace
# ---------------------------------------------------------------------------


NAMESPACE_CONFIG = {
    "FOO_OPTION_1": "foo option 1",
    "FOO_OPTION_2": "foo option 2",
    "BAR_STUFF_1": "bar stuff 1",
    "BAR_STUFF_2": "bar stuff 2",
    "foo_lower": "lower",
}


@pytest.mark.parametrize(
    ("lowercase", "trim", "expected"),
    [
        (True, True, {"option_1": "foo option 1", "option_2": "foo option 2"}),
        (False, True, {"OPTION_1": "foo option 1", "OPTION_2": "foo option 2"}),
        (True, False, {"foo_option_1": "foo option 1", "foo_option_2": "foo option 2"}),
        (False, False, {"FOO_OPTION_1": "foo option 1", "FOO_OPTION_2": "foo option 2"}),
    ],
)
def test_get_namespace(lowercase: bool, trim: bool, expected: dict[str, str]) -> None:
    config = Config("/", NAMESPACE_CONFIG)
    result = config.get_namespace("FOO_", lowercase=lowercase, trim_namespace=trim)
    assert result == expected
    flask_config = flask.Config("/", NAMESPACE_CONFIG)
    assert result == flask_config.get_namespace("FOO_", lowercase, trim)


def test_get_namespace_does_not_modify_config() -> None:
    config = Config("/", NAMESPACE_CONFIG)
    config.get_namespace("BAR_")
    assert config == NAMESPACE_CONFIG
    assert config.get_namespace("NOPE_") == {}


# ---------------------------------------------------------------------------
# ConfigAttribute
# ---------------------------------------------------------------------------


class FakeApp:
    testing = ConfigAttribute[bool]("TESTING")
    lifetime = ConfigAttribute[timedelta](
        "LIFETIME",
        get_converter=lambda v: v if isinstance(v, timedelta) else timedelta(seconds=v),
    )

    def __init__(self) -> None:
        self.config = Config("/", {"TESTING": False, "LIFETIME": 60})


def test_config_attribute_get_and_set() -> None:
    app = FakeApp()
    assert app.testing is False
    app.testing = True
    assert app.config["TESTING"] is True
    app.config["TESTING"] = "yes"
    assert app.testing == "yes"


def test_config_attribute_converter() -> None:
    app = FakeApp()
    assert app.lifetime == timedelta(seconds=60)
    app.lifetime = 120
    assert app.config["LIFETIME"] == 120  # stored unconverted
    assert app.lifetime == timedelta(minutes=2)


def test_config_attribute_on_class() -> None:
    descriptor = FakeApp.testing
    assert isinstance(descriptor, ConfigAttribute)
    assert descriptor.__name__ == "TESTING"
    assert descriptor.get_converter is None


def test_config_attribute_missing_key() -> None:
    app = FakeApp()
    del app.config["TESTING"]
    with pytest.raises(KeyError):
        _ = app.testing
