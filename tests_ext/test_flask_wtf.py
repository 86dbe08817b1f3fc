"""Flask-WTF on quartlike: forms with CSRF protection, file uploads, sync and async views.

``CSRFProtect`` checks every POST in a sync ``before_request`` hook (a worker
thread, where ``request.form`` is a value), so it protects async views too.
A ``FlaskForm`` reads ``request.form`` when it is made: in an ``async def``
view it is made in a worker, ``await run_sync(NameForm)()``, or given the
awaited form data (see docs/flask-extensions.rst).
"""

from __future__ import annotations

import collections.abc as cabc
import gc
import io
import re
import typing as t

import pytest
from flask import Flask
from flask import render_template_string
from flask import request
from flask_wtf import CSRFProtect
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from flask_wtf.csrf import generate_csrf
from flask_wtf.file import FileAllowed
from flask_wtf.file import FileField
from flask_wtf.file import FileRequired
from flask_wtf.file import FileSize
from werkzeug.datastructures import CombinedMultiDict
from wtforms import IntegerField
from wtforms import StringField
from wtforms.validators import DataRequired
from wtforms.validators import NumberRange

from quartlike import render_template_string as render_template_string_async
from quartlike import run_sync

FORM_PAGE = (
    "<form method=post>{{ form.hidden_tag() }}{{ form.name() }}{{ form.age() }}</form>"
    "{% for field, errors in form.errors.items() %}|{{ field }}: {{ errors|join(', ') }}"
    "{% endfor %}"
)
TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


class PersonForm(FlaskForm):
    name = StringField(validators=[DataRequired()])
    age = IntegerField(validators=[NumberRange(min=0, max=150)])


class UploadForm(FlaskForm):
    document = FileField(
        validators=[FileRequired(), FileAllowed(["txt", "csv"], "text only"), FileSize(64)]
    )


@pytest.fixture
def app(make_app: cabc.Callable[..., Flask]) -> Flask:
    app = make_app()
    csrf = CSRFProtect(app)

    @app.route("/sync", methods=["GET", "POST"])
    def sync_form() -> t.Any:
        form = PersonForm()
        if form.validate_on_submit():
            return {"name": form.name.data, "age": form.age.data}
        return render_template_string(FORM_PAGE, form=form)

    @app.route("/async", methods=["GET", "POST"])
    async def async_form() -> t.Any:
        # The form reads request.form when it is made: make it in a worker.
        form = await run_sync(PersonForm)()
        if await run_sync(form.validate_on_submit)():
            return {"name": form.name.data, "age": form.age.data, "view": "async"}
        return await render_template_string_async(FORM_PAGE, form=form)

    @app.post("/async-formdata")
    async def async_formdata() -> t.Any:
        # Or give the form the awaited data; validating needs no I/O then.
        form = PersonForm(formdata=await request.form)
        if form.validate_on_submit():
            return {"name": form.name.data}
        return {"errors": form.errors}, 422

    @app.route("/upload", methods=["GET", "POST"])
    def upload() -> t.Any:
        form = UploadForm()
        if form.validate_on_submit():
            document = form.document.data
            return {"filename": document.filename, "body": document.read().decode()}
        return {"errors": form.errors}, 422

    @app.post("/async-upload")
    async def async_upload() -> t.Any:
        formdata = CombinedMultiDict((await request.files, await request.form))
        form = UploadForm(formdata=formdata)
        if form.validate_on_submit():
            document = form.document.data
            return {"filename": document.filename, "body": document.read().decode()}
        return {"errors": form.errors}, 422

    @app.post("/exempt")
    @csrf.exempt
    async def exempt() -> t.Any:
        return {"got": (await request.form).get("x")}

    @app.post("/api")
    async def api() -> t.Any:
        return {"echo": await request.get_json()}

    @app.get("/token")
    async def token() -> str:
        return generate_csrf()

    @app.errorhandler(CSRFError)
    async def csrf_error(error: CSRFError) -> t.Any:
        return {"csrf_error": error.description}, 400

    return app


def get_token(client: t.Any, path: str = "/sync") -> str:
    response = client.get(path)
    assert response.status_code == 200
    match = TOKEN.search(response.text)
    assert match is not None, response.text
    return match.group(1)


@pytest.mark.parametrize("path", ["/sync", "/async"])
def test_get_renders_the_form_with_a_token(app: Flask, path: str) -> None:
    client = app.test_client()
    response = client.get(path)
    assert 'name="csrf_token"' in response.text
    assert '<input id="name" name="name"' in response.text


@pytest.mark.parametrize("path", ["/sync", "/async"])
def test_post_with_the_token_validates(app: Flask, path: str) -> None:
    client = app.test_client()
    token = get_token(client, path)
    response = client.post(path, data={"csrf_token": token, "name": "Ada", "age": "36"})
    assert response.status_code == 200
    assert response.json["name"] == "Ada"
    assert response.json["age"] == 36


@pytest.mark.parametrize("path", ["/sync", "/async"])
def test_invalid_fields_rerender_with_errors(app: Flask, path: str) -> None:
    client = app.test_client()
    token = get_token(client, path)
    response = client.post(path, data={"csrf_token": token, "name": "", "age": "200"})
    assert response.status_code == 200
    assert "|name: This field is required." in response.text
    assert "|age: Number must be between 0 and 150." in response.text


@pytest.mark.parametrize("path", ["/sync", "/async", "/async-formdata", "/api"])
def test_missing_token_is_400(app: Flask, path: str) -> None:
    client = app.test_client()
    client.get("/sync")  # a session exists
    response = client.post(path, data={"name": "Ada", "age": "1"})
    assert response.status_code == 400
    assert response.json == {"csrf_error": "The CSRF token is missing."}


@pytest.mark.parametrize("path", ["/sync", "/async"])
def test_invalid_token_is_400(app: Flask, path: str) -> None:
    client = app.test_client()
    get_token(client)
    response = client.post(path, data={"csrf_token": "forged", "name": "Ada", "age": "1"})
    assert response.status_code == 400
    assert response.json == {"csrf_error": "The CSRF token is invalid."}


def test_token_of_another_session_is_refused(app: Flask) -> None:
    token = get_token(app.test_client())
    other = app.test_client()
    get_token(other)
    response = other.post("/async", data={"csrf_token": token, "name": "Ada", "age": "1"})
    assert response.status_code == 400
    assert response.json == {"csrf_error": "The CSRF tokens do not match."}


def test_token_without_a_session_is_refused(app: Flask) -> None:
    token = get_token(app.test_client())
    response = app.test_client().post("/sync", data={"csrf_token": token, "name": "A", "age": "1"})
    assert response.status_code == 400
    assert response.json == {"csrf_error": "The CSRF session token is missing."}


def test_expired_token_is_refused(app: Flask) -> None:
    app.config["WTF_CSRF_TIME_LIMIT"] = -1  # every token is already too old
    client = app.test_client()
    token = get_token(client)
    response = client.post("/async", data={"csrf_token": token, "name": "Ada", "age": "1"})
    assert response.status_code == 400
    assert response.json == {"csrf_error": "The CSRF token has expired."}


def test_token_in_a_header_protects_a_json_async_view(app: Flask) -> None:
    client = app.test_client()
    token = client.get("/token").text
    response = client.post("/api", json={"n": 1}, headers={"X-CSRFToken": token})
    assert response.json == {"echo": {"n": 1}}
    assert client.post("/api", json={"n": 1}).status_code == 400


def test_exempt_async_view_takes_posts_without_a_token(app: Flask) -> None:
    client = app.test_client()
    assert client.post("/exempt", data={"x": "1"}).json == {"got": "1"}


def test_async_view_with_awaited_formdata(app: Flask) -> None:
    client = app.test_client()
    token = get_token(client)
    response = client.post("/async-formdata", data={"csrf_token": token, "name": "Ada", "age": "1"})
    assert response.json == {"name": "Ada"}
    response = client.post("/async-formdata", data={"csrf_token": token, "name": "", "age": "1"})
    assert response.status_code == 422
    assert response.json == {"errors": {"name": ["This field is required."]}}


@pytest.mark.parametrize("path", ["/upload", "/async-upload"])
def test_file_upload(app: Flask, path: str) -> None:
    client = app.test_client()
    token = get_token(client)
    data = {"csrf_token": token, "document": (io.BytesIO(b"a,b\n1,2\n"), "table.csv")}
    response = client.post(path, data=data)
    assert response.status_code == 200
    assert response.json == {"filename": "table.csv", "body": "a,b\n1,2\n"}


@pytest.mark.parametrize("path", ["/upload", "/async-upload"])
def test_file_required(app: Flask, path: str) -> None:
    client = app.test_client()
    token = get_token(client)
    response = client.post(path, data={"csrf_token": token})
    assert response.status_code == 422
    assert response.json == {"errors": {"document": ["This field is required."]}}


@pytest.mark.parametrize(
    ("filename", "body", "error"),
    [
        ("picture.png", b"png", "text only"),
        ("big.txt", b"x" * 65, "File must be between 0 and 64 bytes."),
    ],
)
@pytest.mark.parametrize("path", ["/upload", "/async-upload"])
def test_file_validators(app: Flask, path: str, filename: str, body: bytes, error: str) -> None:
    client = app.test_client()
    token = get_token(client)
    data = {"csrf_token": token, "document": (io.BytesIO(body), filename)}
    response = client.post(path, data=data)
    assert response.status_code == 422
    assert response.json == {"errors": {"document": [error]}}


def test_upload_without_a_token_is_400(app: Flask) -> None:
    client = app.test_client()
    get_token(client)
    response = client.post("/upload", data={"document": (io.BytesIO(b"x"), "a.txt")})
    assert response.status_code == 400


def test_csrf_disabled_in_config(app: Flask) -> None:
    app.config["WTF_CSRF_ENABLED"] = False
    response = app.test_client().post("/async", data={"name": "Ada", "age": "1"})
    assert response.json == {"name": "Ada", "age": 1, "view": "async"}


@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited:RuntimeWarning")
def test_a_form_made_on_the_loop_fails(make_app: cabc.Callable[..., Flask]) -> None:
    # The caveat: FlaskForm() reads request.files/request.form synchronously;
    # on the event loop those are awaitables, so making it there fails.
    app = make_app(WTF_CSRF_ENABLED=False)
    errors: list[BaseException] = []

    @app.post("/")
    async def index() -> t.Any:
        try:
            PersonForm()
        except TypeError as e:
            errors.append(e)
            return "failed", 500
        return "made"

    response = app.test_client().post("/", data={"name": "Ada"})
    assert response.status_code == 500
    assert "coroutine" in str(errors[0])
    errors.clear()  # the traceback holds the coroutines: let them go in this test
    gc.collect()
