"""The notes: a list, a form to write and edit them, a JSON API and a download."""

from __future__ import annotations

import io
import sqlite3
import typing as t

from .auth import login_required
from .compat import Blueprint
from .compat import abort
from .compat import flash
from .compat import g
from .compat import jsonify
from .compat import make_response
from .compat import redirect
from .compat import render_template
from .compat import request
from .compat import send_file
from .compat import url_for
from .db import get_db

bp = Blueprint("notes", __name__)


def get_note(note_id: int) -> sqlite3.Row:
    """The current user's note ``note_id``; 404 if it does not exist, 403 if it is not theirs."""
    note = get_db().execute("SELECT * FROM note WHERE id = ?", (note_id,)).fetchone()
    if note is None:
        abort(404)
    if note["owner_id"] != g.user["id"]:
        abort(403)
    return t.cast(sqlite3.Row, note)


def _form() -> tuple[str, str, str | None]:
    title = request.form.get("title", "").strip()
    body = request.form.get("body", "")
    return title, body, None if title else "A title is required."


@bp.route("/")
def index() -> t.Any:
    notes = []
    if g.user is not None:
        notes = (
            get_db()
            .execute("SELECT * FROM note WHERE owner_id = ? ORDER BY id DESC", (g.user["id"],))
            .fetchall()
        )
    return render_template("notes/index.html", notes=notes)


@bp.route("/new", methods=("GET", "POST"))
@login_required
def create() -> t.Any:
    if request.method == "POST":
        title, body, error = _form()
        if error is None:
            db = get_db()
            db.execute(
                "INSERT INTO note (owner_id, title, body) VALUES (?, ?, ?)",
                (g.user["id"], title, body),
            )
            db.commit()
            flash(f"Saved “{title}”.", "success")
            return redirect(url_for("index"))
        flash(error, "error")
    return render_template("notes/form.html", note=None)


@bp.route("/<int:note_id>/edit", methods=("GET", "POST"))
@login_required
def edit(note_id: int) -> t.Any:
    note = get_note(note_id)
    if request.method == "POST":
        title, body, error = _form()
        if error is None:
            db = get_db()
            db.execute("UPDATE note SET title = ?, body = ? WHERE id = ?", (title, body, note_id))
            db.commit()
            flash(f"Updated “{title}”.", "success")
            return redirect(url_for("index"))
        flash(error, "error")
    return render_template("notes/form.html", note=note)


@bp.route("/<int:note_id>/delete", methods=("POST",))
@login_required
def delete(note_id: int) -> t.Any:
    get_note(note_id)
    db = get_db()
    db.execute("DELETE FROM note WHERE id = ?", (note_id,))
    db.commit()
    flash("Deleted.", "success")
    return redirect(url_for("index"))


@bp.route("/<int:note_id>/download")
@login_required
def download(note_id: int) -> t.Any:
    note = get_note(note_id)
    text = f"{note['title']}\n\n{note['body']}\n".encode()
    return send_file(
        io.BytesIO(text),
        mimetype="text/plain",
        as_attachment=True,
        download_name=f"note-{note_id}.txt",
    )


@bp.route("/api/notes", methods=("GET", "POST"))
@login_required
def api_notes() -> t.Any:
    db = get_db()
    if request.method == "POST":
        data = request.get_json(silent=True)
        if not isinstance(data, dict) or not str(data.get("title", "")).strip():
            return jsonify(error="Send a JSON object with a non-empty 'title'."), 400
        cursor = db.execute(
            "INSERT INTO note (owner_id, title, body) VALUES (?, ?, ?)",
            (g.user["id"], str(data["title"]).strip(), str(data.get("body", ""))),
        )
        db.commit()
        response = make_response(jsonify(id=cursor.lastrowid), 201)
        response.headers["Location"] = url_for("notes.edit", note_id=cursor.lastrowid)
        return response
    rows = db.execute(
        "SELECT id, title, body FROM note WHERE owner_id = ? ORDER BY id", (g.user["id"],)
    ).fetchall()
    return jsonify(notes=[dict(row) for row in rows])
