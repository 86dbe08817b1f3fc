from __future__ import annotations

import types
import typing as t


def test_config(backend: types.ModuleType) -> None:
    assert not backend.create_app().testing
    assert backend.create_app({"TESTING": True}).testing


def test_health_names_the_backend(client: t.Any, backend: types.ModuleType) -> None:
    response = client.get("/health")
    assert response.json == {"ok": True, "backend": backend.compat.BACKEND}


def test_the_backend_is_the_one_asked_for(flask: types.ModuleType, app: t.Any) -> None:
    assert isinstance(app, flask.Flask)
    assert app.__class__.__module__.split(".")[0] in {"flask", "quartlike"}
