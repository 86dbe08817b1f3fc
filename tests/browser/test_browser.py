"""The examples in a real browser: headless Chromium, driven with Playwright.

Each test serves an example (``examples/<name>``) with Hypercorn on a free
loopback port, in a subprocess stopped by PID, and works its pages the way a
person would: the blog (register, log in, post, edit, log out, another
user's 403), the chat (two browsers talking over websockets) and the media
player (Range requests answered with 206, and playback). Screenshots and the
servers' logs go to ``test-artifacts/browser/`` at the repository root
(``$QUARTLIKE_TEST_ARTIFACTS/browser`` when that is set).

The browser is Debian's Chromium (``/usr/bin/chromium``, or
``$QUARTLIKE_CHROMIUM``): Playwright's own browser builds are not downloaded.
``scripts/browser-setup`` installs it and the ``playwright`` package. Without
them these tests are skipped with a message, except on CI (``CI`` set) and
under ``scripts/test`` (``QUARTLIKE_REQUIRE_BROWSER=1``), where they fail;
``QUARTLIKE_SKIP_BROWSER=1`` skips them on purpose (not allowed on CI).
"""

from __future__ import annotations

import asyncio
import collections.abc as cabc
import contextlib
import os
import socket
import sys
import typing as t
from pathlib import Path

import pytest

from tests.servers import Server
from tests.servers import child_env

try:
    from playwright.async_api import async_playwright
    from playwright.async_api import expect

    PLAYWRIGHT_MISSING: str | None = None
except ImportError as error:  # reported by the browser_ready fixture
    PLAYWRIGHT_MISSING = str(error)

if t.TYPE_CHECKING:
    from playwright.async_api import Browser
    from playwright.async_api import ConsoleMessage
    from playwright.async_api import Page
    from playwright.async_api import Request
    from playwright.async_api import Response

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("QUARTLIKE_TEST_ARTIFACTS") or ROOT / "test-artifacts") / "browser"
CHROMIUM = os.environ.get("QUARTLIKE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Bounds, in seconds: a server starting and stopping, a browser starting, a
#: whole test; and in milliseconds, one browser action or expectation.
STARTUP_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
LAUNCH_TIMEOUT = 30.0
TEST_TIMEOUT = 120.0
ACTION_TIMEOUT_MS = 10_000
PASSWORD = "correct horse battery"


def flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def browser_unavailable(reason: str) -> t.NoReturn:
    """Fail on CI and under scripts/test; skip, with directions, anywhere else."""
    if flag("CI") or flag("QUARTLIKE_REQUIRE_BROWSER"):
        pytest.fail(
            f"Browser tests cannot run: {reason}. Run scripts/browser-setup"
            " (CI and scripts/test require these tests).",
            pytrace=False,
        )
    pytest.skip(
        f"browser tests not run: {reason}; run scripts/browser-setup"
        " (or set QUARTLIKE_SKIP_BROWSER=1 to skip them on purpose)"
    )


@pytest.fixture(scope="session")
def browser_ready() -> None:
    """Check once that Playwright and Chromium are there (or skip, or fail: see above)."""
    if flag("QUARTLIKE_SKIP_BROWSER"):
        if flag("CI"):
            pytest.fail(
                "QUARTLIKE_SKIP_BROWSER is for local runs; CI runs the browser tests.",
                pytrace=False,
            )
        pytest.skip("browser tests skipped on request (QUARTLIKE_SKIP_BROWSER=1)")
    if PLAYWRIGHT_MISSING is not None:
        browser_unavailable(f"the playwright package is not installed ({PLAYWRIGHT_MISSING})")
    if not os.access(CHROMIUM, os.X_OK):
        browser_unavailable(f"there is no Chromium at {CHROMIUM}")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)


@pytest.fixture
async def browser(browser_ready: None) -> cabc.AsyncIterator[Browser]:
    """Headless Chromium, with a fresh temporary profile (Playwright makes one per launch)."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            timeout=LAUNCH_TIMEOUT * 1000,
        )
        try:
            yield browser
        finally:
            await browser.close()


# -- servers ------------------------------------------------------------------------------


@contextlib.contextmanager
def serving(example: str, **env: str) -> cabc.Iterator[Server]:
    """Serve ``examples/<example>`` with Hypercorn, on a socket this test made.

    The listening socket is bound here (port 0: the system picks a free port)
    and handed to Hypercorn as ``fd://N``, so no other process can take the
    port between choosing it and serving on it.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        fd = listener.fileno()
        args = [sys.executable, "-m", "hypercorn", "--bind", f"fd://{fd}"]
        args += ["--access-logfile", "-", f"{example}:app"]
        server = Server(
            args,
            port=int(listener.getsockname()[1]),
            cwd=ROOT / "examples" / example,
            env=child_env(**env),
            log_path=ARTIFACTS / f"{example}-server.log",
            pass_fds=(fd,),
            stop_timeout=STOP_TIMEOUT,
        )
    with server:
        server.wait_ready("/", STARTUP_TIMEOUT)
        yield server


@pytest.fixture
def chat_server(browser_ready: None) -> cabc.Iterator[Server]:
    with serving("chat") as server:
        yield server


@pytest.fixture
def blog_server(browser_ready: None, tmp_path: Path) -> cabc.Iterator[Server]:
    # A database of its own in the test's folder, and a throwaway key.
    database = str(tmp_path / "blog.sqlite")
    with serving("blog", BLOG_DATABASE=database, BLOG_SECRET_KEY=os.urandom(16).hex()) as server:
        yield server


@pytest.fixture
def video_server(browser_ready: None, tmp_path: Path) -> cabc.Iterator[Server]:
    with serving("video", VIDEO_MEDIA_FOLDER=str(tmp_path / "media")) as server:
        yield server


# -- pages --------------------------------------------------------------------------------


class Tab:
    """A page in a browser context of its own (its own cookies), watched for script errors."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        page.set_default_timeout(ACTION_TIMEOUT_MS)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        page.on("console", self._console)

    def _console(self, message: ConsoleMessage) -> None:
        # A failed request (the favicon, an expected 403) is logged as an error
        # too; only script errors count here.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(message.text)

    async def screenshot(self, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        return path


async def open_tab(browser: Browser) -> Tab:
    context = await browser.new_context(viewport={"width": 1000, "height": 700})
    return Tab(await context.new_page())


# -- the blog ------------------------------------------------------------------------------


async def register_and_log_in(tab: Tab, url: str, username: str) -> None:
    page = tab.page
    await page.goto(f"{url}/")
    await page.get_by_role("link", name="Register").click()
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Register").click()
    await expect(page).to_have_url(f"{url}/login")
    await expect(page.locator(".flash.success")).to_have_text(
        f"Welcome, {username}! You can log in now."
    )
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page).to_have_url(f"{url}/")
    await expect(page.locator(".flash.success")).to_have_text(f"Logged in as {username}.")
    await expect(page.locator("#whoami")).to_have_text(username)


async def test_blog_register_log_in_post_and_edit(browser: Browser, blog_server: Server) -> None:
    url = blog_server.base_url
    async with asyncio.timeout(TEST_TIMEOUT):
        ada = await open_tab(browser)
        page = ada.page
        await page.goto(f"{url}/")
        await expect(page.locator("#empty")).to_contain_text("No posts yet.")

        await register_and_log_in(ada, url, "ada")
        cookies = {cookie["name"]: cookie for cookie in await page.context.cookies()}
        assert cookies["session"].get("httpOnly") is True
        assert cookies["session"].get("sameSite") == "Lax"

        await page.get_by_role("link", name="New post").click()
        await page.get_by_label("Title").fill("Hello from Chromium")
        await page.get_by_label("Body").fill("Written by a real browser,\nover two lines.")
        await page.get_by_role("button", name="Publish").click()
        await expect(page.locator(".flash.success")).to_have_text("Your post is published.")
        post = page.locator("article.post")
        await expect(post).to_have_count(1)
        await expect(post.locator("h2")).to_have_text("Hello from Chromium")
        await expect(post.locator(".author")).to_have_text("ada")
        await expect(post.locator(".body")).to_contain_text("over two lines.")
        await ada.screenshot("blog-posted")

        await post.get_by_role("link", name="Edit").click()
        await expect(page.get_by_label("Title")).to_have_value("Hello from Chromium")
        await page.get_by_label("Title").fill("Hello again <em>escaped</em>")
        await page.get_by_role("button", name="Save").click()
        await expect(page.locator(".flash.success")).to_have_text("Your post is updated.")
        await expect(post.locator("h2")).to_have_text("Hello again <em>escaped</em>")
        await expect(post.locator("h2 em")).to_have_count(0)

        await page.get_by_role("button", name="Log out").click()
        await expect(page.locator(".flash.success")).to_have_text("Logged out.")
        await expect(page.locator("#whoami")).to_have_count(0)
        await expect(post.locator("h2")).to_have_text("Hello again <em>escaped</em>")
        await expect(post.get_by_role("link", name="Edit")).to_have_count(0)

        # Someone else sees the post, without an Edit link, and may not edit it.
        bob = await open_tab(browser)
        await register_and_log_in(bob, url, "bob")
        await expect(bob.page.locator("article.post h2")).to_have_text(
            "Hello again <em>escaped</em>"
        )
        await expect(bob.page.get_by_role("link", name="Edit")).to_have_count(0)
        response = await bob.page.goto(f"{url}/1/edit")
        assert response is not None
        assert response.status == 403
        await expect(bob.page.locator("h1")).to_have_text("403 Forbidden")
        await expect(bob.page.locator("p.error")).to_have_text(
            "You can only change your own posts."
        )
        await bob.screenshot("blog-forbidden")

        # A wrong password is refused, with the message flashed on the page.
        await page.get_by_role("link", name="Log in").click()
        await page.get_by_label("Username").fill("ada")
        await page.get_by_label("Password").fill("not the password")
        await page.get_by_role("button", name="Log in").click()
        await expect(page.locator(".flash.error")).to_have_text("Incorrect username or password.")
        await expect(page.get_by_label("Username")).to_have_value("ada")

        assert ada.errors == []
        assert bob.errors == []


# -- the chat ------------------------------------------------------------------------------


async def join_chat(tab: Tab, url: str, nick: str) -> None:
    await tab.page.goto(f"{url}/")
    await tab.page.get_by_label("Nickname").fill(nick)
    await tab.page.get_by_role("button", name="Join").click()
    await expect(tab.page.locator("#status")).to_contain_text(f"Connected as {nick}.")
    await expect(tab.page.locator("#say")).to_be_visible()


async def say(tab: Tab, text: str) -> None:
    await tab.page.get_by_label("Message").fill(text)
    await tab.page.get_by_label("Message").press("Enter")


async def expect_message(tab: Tab, nick: str, text: str) -> None:
    message = tab.page.locator("#log li.message").last
    await expect(message.locator(".nick")).to_have_text(nick)
    await expect(message).to_have_text(f"{nick}{text}")


async def test_chat_two_browsers_exchange_messages(browser: Browser, chat_server: Server) -> None:
    url = chat_server.base_url
    async with asyncio.timeout(TEST_TIMEOUT):
        alice = await open_tab(browser)
        bob = await open_tab(browser)
        await join_chat(alice, url, "alice")
        await join_chat(bob, url, "bob")
        await expect(bob.page.locator("#status")).to_contain_text("Here: alice, bob")
        await expect(alice.page.locator("#log li.notice").last).to_have_text("bob joined")

        await say(alice, "hello bob")
        await expect_message(bob, "alice", "hello bob")
        await expect_message(alice, "alice", "hello bob")
        await expect(alice.page.get_by_label("Message")).to_have_value("")

        await say(bob, "hi alice, <b>this</b> stays text")
        await expect_message(alice, "bob", "hi alice, <b>this</b> stays text")
        await expect(alice.page.locator("#log b")).to_have_count(0)

        await alice.screenshot("chat-alice")
        await bob.screenshot("chat-bob")

        # A newcomer gets the history; and a closed tab leaves the room.
        carol = await open_tab(browser)
        await join_chat(carol, url, "carol")
        await expect(carol.page.locator("#log li.history")).to_have_count(2)
        await bob.page.context.close()
        await expect(alice.page.locator("#log li.notice").last).to_have_text("bob left")
        await expect(carol.page.locator("#log li.notice").last).to_have_text("bob left")

        assert alice.errors == []
        assert bob.errors == []
        assert carol.errors == []


# -- the media player -----------------------------------------------------------------------


async def test_video_player_uses_range_requests(browser: Browser, video_server: Server) -> None:
    async with asyncio.timeout(TEST_TIMEOUT):
        tab = await open_tab(browser)
        ranges: list[str | None] = []
        statuses: list[int] = []

        def on_request(request: Request) -> None:
            if "/media/" in request.url:
                ranges.append(request.headers.get("range"))

        def on_response(response: Response) -> None:
            if "/media/" in response.url:
                statuses.append(response.status)

        tab.page.on("request", on_request)
        tab.page.on("response", on_response)
        await tab.page.goto(f"{video_server.base_url}/")
        player = "document.getElementById('player')"
        await tab.page.wait_for_function(f"{player}.readyState >= 1")  # metadata loaded
        duration = await tab.page.evaluate(f"{player}.duration")
        assert duration == pytest.approx(1.0, abs=0.05)
        assert ranges
        assert all(value is not None and value.startswith("bytes=") for value in ranges)
        assert 206 in statuses

        # Muted, so that no user gesture is needed to start playing.
        await tab.page.evaluate(f"(() => {{ {player}.muted = true; return {player}.play(); }})()")
        await tab.page.wait_for_function(f"{player}.currentTime > 0.2")
        await tab.screenshot("video-player")
        assert tab.errors == []
