"""Flask-Mail on quartlike: messages sent over SMTP to a local server.

Each test starts an ``aiosmtpd`` server on a free port of 127.0.0.1 (in a
thread, with its own event loop) and stops it afterwards. Flask-Mail talks
to it with :mod:`smtplib`, which blocks: a plain ``def`` view calls
``mail.send`` directly (it runs in the thread pool); an ``async def`` view
hands it to the pool with ``await run_sync(mail.send)(msg)``, so the event
loop keeps serving other requests while the mail goes out.
"""

from __future__ import annotations

import asyncio
import collections.abc as cabc
import email
import email.message
import email.policy
import socket
import threading
import typing as t

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from flask import request
from flask_mail import Mail
from flask_mail import Message

from quartlike import run_sync

#: The longest any wait here may take, in seconds.
TIMEOUT = 15


class Inbox:
    """The aiosmtpd handler: keeps every message it receives.

    While :attr:`hold` is set, each message waits (at most :data:`TIMEOUT`
    seconds) for :attr:`release` before it is accepted, and :attr:`arrived`
    is set as soon as its data is in.
    """

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], email.message.EmailMessage]] = []
        self.hold = False
        self.arrived = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server: t.Any, session: t.Any, envelope: t.Any) -> str:
        self.arrived.set()
        if self.hold:
            await asyncio.to_thread(self.release.wait, TIMEOUT)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, email.message.EmailMessage)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"

    def one(self) -> tuple[str, list[str], email.message.EmailMessage]:
        (message,) = self.messages
        return message


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop(controller: Controller) -> None:
    """``controller.stop()``, bounded: it joins the server thread without a timeout."""
    stopper = threading.Thread(target=controller.stop, daemon=True)
    stopper.start()
    stopper.join(TIMEOUT)
    if stopper.is_alive():
        raise RuntimeError(f"the SMTP server did not stop within {TIMEOUT} s")


@pytest.fixture
def smtp() -> cabc.Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, ready_timeout=TIMEOUT)
    controller.start()
    try:
        yield inbox, port
    finally:
        inbox.release.set()
        stop(controller)


@pytest.fixture
def app_and_mail(
    make_app: cabc.Callable[..., Flask], smtp: tuple[Inbox, int]
) -> tuple[Flask, Mail]:
    _, port = smtp
    app = make_app(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=port,
        MAIL_DEFAULT_SENDER=("Quartlike App", "app@example.test"),
        # TESTING suppresses sending by default: these tests send for real.
        MAIL_SUPPRESS_SEND=False,
    )
    mail = Mail(app)

    def welcome(face: str) -> Message:
        return Message(
            subject=f"Welcome from a {face} view",
            recipients=[request.args["to"]],
            body=f"Hello {request.args['name']}, this came from the {face} view.",
        )

    @app.route("/welcome/sync", methods=["POST"])
    def welcome_sync() -> str:
        mail.send(welcome("sync"))
        return "sent"

    @app.route("/welcome/async", methods=["POST"])
    async def welcome_async() -> str:
        await run_sync(mail.send)(welcome("async"))
        return "sent"

    @app.route("/digest", methods=["POST"])
    def digest() -> str:
        names = request.form.getlist("name")
        with mail.connect() as connection:
            for name in names:
                message = Message(
                    subject=f"Digest for {name}",
                    recipients=[f"{name}@example.test"],
                    body=f"Dear {name}, here is your digest.",
                    html=f"<p>Dear <b>{name}</b>, here is your digest.</p>",
                )
                message.attach("digest.txt", "text/plain", f"digest of {name}".encode())
                connection.send(message)
        return f"sent {len(names)}"

    @app.route("/later", methods=["POST"])
    async def later() -> str:
        message = Message("Sent later", recipients=["later@example.test"], body="background")
        app.add_background_task(mail.send, message)
        return "queued"

    @app.route("/ping")
    async def ping() -> str:
        return "pong"

    return app, mail


@pytest.mark.parametrize("face", ["sync", "async"])
def test_a_view_sends_a_message(
    app_and_mail: tuple[Flask, Mail], smtp: tuple[Inbox, int], face: str
) -> None:
    app, mail = app_and_mail
    inbox, _ = smtp
    with mail.record_messages() as outbox:
        response = app.test_client().post(
            f"/welcome/{face}", query_string={"to": "ada@example.test", "name": "Ada"}
        )
    assert (response.status_code, response.text) == (200, "sent")
    sender, recipients, message = inbox.one()
    assert sender == "app@example.test"
    assert recipients == ["ada@example.test"]
    assert message["Subject"] == f"Welcome from a {face} view"
    assert message["To"] == "ada@example.test"
    assert message["From"] == "Quartlike App <app@example.test>"
    assert message.get_content().strip() == f"Hello Ada, this came from the {face} view."
    # Flask-Mail's email_dispatched signal fired too (record_messages listens to it).
    assert [m.subject for m in outbox] == [f"Welcome from a {face} view"]


def test_an_async_view_sending_mail_does_not_block_the_loop(
    app_and_mail: tuple[Flask, Mail], smtp: tuple[Inbox, int]
) -> None:
    app, _ = app_and_mail
    inbox, _ = smtp
    inbox.hold = True  # the server keeps the message until released
    results: dict[str, t.Any] = {}

    def send() -> None:
        results["send"] = app.test_client().post(
            "/welcome/async", query_string={"to": "bob@example.test", "name": "Bob"}
        )

    def ping() -> None:
        results["ping"] = app.test_client().get("/ping")

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    try:
        assert inbox.arrived.wait(TIMEOUT), "the message never reached the SMTP server"
        # The async view is still waiting for the server; the app answers meanwhile.
        pinger = threading.Thread(target=ping, daemon=True)
        pinger.start()
        pinger.join(TIMEOUT)
        assert not pinger.is_alive(), "the app could not answer while a mail was being sent"
        assert results["ping"].text == "pong"
        assert "send" not in results
        assert inbox.messages == []
    finally:
        inbox.release.set()
        sender.join(TIMEOUT)
    assert not sender.is_alive()
    assert results["send"].text == "sent"
    assert inbox.one()[2]["Subject"] == "Welcome from a async view"


def test_several_messages_on_one_connection_with_html_and_an_attachment(
    app_and_mail: tuple[Flask, Mail], smtp: tuple[Inbox, int]
) -> None:
    app, _ = app_and_mail
    inbox, _ = smtp
    response = app.test_client().post("/digest", data={"name": ["ada", "alan", "grace"]})
    assert response.text == "sent 3"
    assert [recipients for _, recipients, _ in inbox.messages] == [
        ["ada@example.test"],
        ["alan@example.test"],
        ["grace@example.test"],
    ]
    _, _, message = inbox.messages[1]
    assert message["Subject"] == "Digest for alan"
    body = message.get_body(preferencelist=("html",))
    assert body is not None
    assert "<b>alan</b>" in body.get_content()
    (attachment,) = message.iter_attachments()
    assert attachment.get_filename() == "digest.txt"
    assert attachment.get_content() == "digest of alan"


def test_sending_from_a_background_task(
    app_and_mail: tuple[Flask, Mail], smtp: tuple[Inbox, int]
) -> None:
    app, _ = app_and_mail
    inbox, _ = smtp
    with app.test_app() as test_app:
        assert test_app.test_client().post("/later").text == "queued"
    # Shutting the app down waited for the task, which sent the message.
    _, recipients, message = inbox.one()
    assert recipients == ["later@example.test"]
    assert message.get_content().strip() == "background"


def test_suppressed_sending_still_records_the_message(
    make_app: cabc.Callable[..., Flask], smtp: tuple[Inbox, int]
) -> None:
    # Flask-Mail's testing mode (MAIL_SUPPRESS_SEND follows TESTING): nothing
    # reaches the server, the signal still fires.
    inbox, port = smtp
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_DEFAULT_SENDER="a@example.test")
    mail = Mail(app)

    @app.route("/send", methods=["POST"])
    async def send() -> str:
        await run_sync(mail.send_message)("Quiet", recipients=["q@example.test"], body="shh")
        return "ok"

    with mail.record_messages() as outbox:
        assert app.test_client().post("/send").text == "ok"
    assert [(m.subject, m.recipients) for m in outbox] == [("Quiet", ["q@example.test"])]
    assert inbox.messages == []
