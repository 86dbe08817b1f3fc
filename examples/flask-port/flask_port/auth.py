"""Registration, login and logout; the logged-in user is loaded into ``g`` per request."""

from __future__ import annotations

import functools
import sqlite3
import typing as t

from werkzeug.security import check_password_hash
from werkzeug.security import generate_password_hash

from .compat import Blueprint
from .compat import flash
from .compat import g
from .compat import redirect
from .compat import render_template
from .compat import request
from .compat import session
from .compat import url_for
from .db import get_db

bp = Blueprint("auth", __name__, url_prefix="/auth")

F = t.TypeVar("F", bound=t.Callable[..., t.Any])


def login_required(view: F) -> F:
    """Redirect anonymous users to the login page."""

    @functools.wraps(view)
    def wrapped(**kwargs: t.Any) -> t.Any:
        if g.user is None:
            return redirect(url_for("auth.login", next=request.path))
        return view(**kwargs)

    return t.cast(F, wrapped)


@bp.before_app_request
def load_logged_in_user() -> None:
    user_id = session.get("user_id")
    g.user = (
        None
        if user_id is None
        else get_db().execute("SELECT * FROM user WHERE id = ?", (user_id,)).fetchone()
    )


def _credentials() -> tuple[str, str, str | None]:
    username = request.form["username"].strip()
    password = request.form["password"]
    error = None
    if not username:
        error = "Username is required."
    elif not password:
        error = "Password is required."
    return username, password, error


@bp.route("/register", methods=("GET", "POST"))
def register() -> t.Any:
    if request.method == "POST":
        username, password, error = _credentials()
        if error is None:
            db = get_db()
            try:
                db.execute(
                    "INSERT INTO user (username, password) VALUES (?, ?)",
                    (username, generate_password_hash(password)),
                )
                db.commit()
            except sqlite3.IntegrityError:
                error = f"User {username} is already registered."
            else:
                flash("Registered: you can log in now.", "success")
                return redirect(url_for("auth.login"))
        flash(error, "error")
    return render_template("auth/form.html", title="Register")


@bp.route("/login", methods=("GET", "POST"))
def login() -> t.Any:
    if request.method == "POST":
        username, password, error = _credentials()
        user = get_db().execute("SELECT * FROM user WHERE username = ?", (username,)).fetchone()
        if error is None and (user is None or not check_password_hash(user["password"], password)):
            error = "Incorrect username or password."
        if error is None:
            session.clear()
            session["user_id"] = user["id"]
            return redirect(request.args.get("next") or url_for("index"))
        flash(error, "error")
    return render_template("auth/form.html", title="Log in")


@bp.route("/logout")
def logout() -> t.Any:
    session.clear()
    return redirect(url_for("index"))
