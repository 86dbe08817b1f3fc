"""Acceptance: Flask's own tutorial app (flaskr) and its test suite, run on quartlike.

At test time the Flask 3.1.3 source distribution is downloaded from the
package index into a temporary folder (nothing of Flask is kept in this
repository), its ``examples/tutorial`` is copied out, and only the import
lines are changed, ``flask`` becoming ``quartlike.flask``. Then:

* flaskr's own pytest suite must pass, unchanged otherwise, with the real
  ``flask`` package made unimportable;
* ``quartlike --app flaskr init-db`` and ``quartlike --app flaskr run``
  (Hypercorn) must serve it: register, log in, write a post, read it back.

The test is skipped only when the package index cannot be reached; any other
failure to get the sources fails it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pytest

from tests.servers import Server
from tests.servers import child_env
from tests.servers import free_port
from tests.servers import start_server

pytestmark = pytest.mark.slow

FLASK_SDIST = "flask==3.1.3"
#: Bounds, in seconds, on the download, flaskr's test run, and the server.
DOWNLOAD_TIMEOUT = 180
TEST_RUN_TIMEOUT = 300
SERVER_TIMEOUT = 20

#: What pip prints when it cannot reach the index (as opposed to other failures).
NETWORK_ERRORS = re.compile(
    r"NewConnectionError|Failed to establish a new connection|Temporary failure in name"
    r" resolution|Name or service not known|Network is unreachable|Connection refused"
    r"|ConnectTimeoutError|Read timed out|ProxyError|Max retries exceeded|ConnectionError"
    r"|Could not fetch URL|No route to host|SSLError",
    re.IGNORECASE,
)

# Only import lines change: ``import flask``, ``from flask import ...`` and
# ``from flask.X import ...``.
IMPORT_REWRITES = [
    (re.compile(r"^(\s*)import flask(\s*(#.*)?)$"), r"\1import quartlike.flask as flask\2"),
    (re.compile(r"^(\s*)from flask import "), r"\1from quartlike.flask import "),
    (re.compile(r"^(\s*)from flask\.([\w.]+) import "), r"\1from quartlike.flask.\2 import "),
]
FLASK_IMPORT = re.compile(r"^\s*(from|import)\s+flask\b")

#: A pytest plugin (loaded with ``-p``) that makes the real Flask unimportable,
#: so that the run proves nothing but quartlike is used.
NO_FLASK_PLUGIN = textwrap.dedent(
    '''
    """Make ``import flask`` fail in this test run."""

    import importlib.abc
    import sys


    class NoFlask(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "flask" or name.startswith("flask."):
                raise ImportError(f"{name} is blocked: this run must use quartlike.flask")
            return None


    sys.meta_path.insert(0, NoFlask())
    '''
)


def index_urls(pip_output: str) -> list[str]:
    """The HTTP(S) package indexes pip searched (it names them unless it used PyPI alone)."""
    match = re.search(r"^Looking in indexes: (.+)$", pip_output, re.MULTILINE)
    urls = match.group(1).split(", ") if match else ["https://pypi.org/simple"]
    return [url.strip() for url in urls if url.strip().startswith(("http://", "https://"))]


def index_answers(index_url: str) -> bool:
    """Whether the index answers at all (pip does not always say why it found nothing)."""
    try:
        httpx.get(f"{index_url.rstrip('/')}/flask/", timeout=15, follow_redirects=True)
    except httpx.HTTPError:
        return False
    return True


def download_tutorial(workdir: Path) -> Path:
    """Download and unpack Flask's sdist; return its ``examples/tutorial`` folder."""
    downloads = workdir / "downloads"
    downloads.mkdir()
    args = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--no-binary",
        ":all:",
        "--disable-pip-version-check",
        "--no-input",
        FLASK_SDIST,
        "-d",
        str(downloads),
    ]
    try:
        result = subprocess.run(
            args, capture_output=True, text=True, timeout=DOWNLOAD_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.skip(
            f"The package index did not answer within {DOWNLOAD_TIMEOUT} s: cannot download"
            f" {FLASK_SDIST} for the acceptance test."
        )
    output = result.stdout + result.stderr
    if result.returncode != 0:
        if NETWORK_ERRORS.search(output) or not any(map(index_answers, index_urls(output))):
            pytest.skip(f"The package index cannot be reached to download {FLASK_SDIST}:\n{output}")
        pytest.fail(f"pip could not download {FLASK_SDIST} (not a network failure):\n{output}")
    archives = sorted(downloads.glob("flask-*.tar.gz"))
    assert archives, f"pip reported success but left no sdist in {downloads}:\n{output}"
    with tarfile.open(archives[0]) as archive:
        archive.extractall(workdir / "sdist", filter="data")
    (root,) = (workdir / "sdist").iterdir()
    tutorial = root / "examples" / "tutorial"
    assert (tutorial / "flaskr" / "__init__.py").is_file(), f"no tutorial in {root}"
    return tutorial


def port_to_quartlike(source: Path, target: Path) -> int:
    """Copy the tutorial and rewrite its flask imports; return the number of lines changed."""
    shutil.copytree(source, target)
    changed = 0
    for path in sorted(target.rglob("*.py")):
        lines = path.read_text().splitlines(keepends=True)
        for number, line in enumerate(lines):
            for pattern, replacement in IMPORT_REWRITES:
                new = pattern.sub(replacement, line)
                if new != line:
                    lines[number] = new
                    changed += 1
                    break
            assert not FLASK_IMPORT.match(lines[number]), f"unported import in {path}: {line!r}"
        path.write_text("".join(lines))
    return changed


@pytest.fixture(scope="module")
def flaskr(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = tmp_path_factory.mktemp("flaskr")
    tutorial = download_tutorial(workdir)
    target = workdir / "tutorial"
    changed = port_to_quartlike(tutorial, target)
    assert changed >= 10, f"only {changed} import lines were rewritten"
    plugins = workdir / "plugins"
    plugins.mkdir()
    (plugins / "no_flask.py").write_text(NO_FLASK_PLUGIN)
    return target


def environment(flaskr: Path) -> dict[str, str]:
    env = child_env(flaskr, flaskr.parent / "plugins")
    env.pop("QUARTLIKE_APP", None)
    return env


def test_flaskr_test_suite_passes_on_quartlike(flaskr: Path) -> None:
    report = flaskr.parent / "report.xml"
    args = [
        sys.executable,
        "-m",
        "pytest",
        # flaskr's environment has pytest alone: no plugins of ours, no asyncio
        # plugin (whose configuration warning flaskr's filterwarnings=error
        # would turn into an error), no cache in the copied folder.
        "-p",
        "no:asyncio",
        "-p",
        "no:cacheprovider",
        "-p",
        "no_flask",
        "-q",
        f"--junitxml={report}",
        "tests",
    ]
    result = subprocess.run(
        args,
        cwd=flaskr,
        env=environment(flaskr),
        capture_output=True,
        text=True,
        timeout=TEST_RUN_TIMEOUT,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"flaskr's tests failed on quartlike:\n{output}"
    suite = ET.parse(report).getroot()
    suite = suite if suite.tag == "testsuite" else suite[0]
    counts = {key: int(suite.get(key, "0")) for key in ("tests", "failures", "errors", "skipped")}
    assert counts["tests"] >= 20, output
    assert counts["failures"] == counts["errors"] == counts["skipped"] == 0, (counts, output)


def serving(flaskr: Path) -> Server:
    """Run ``quartlike --app flaskr run`` (Hypercorn); stop it by PID when the block ends."""
    port = free_port()
    return start_server(
        [sys.executable, "-m", "quartlike", "--app", "flaskr", "run", "--port", str(port)],
        port=port,
        cwd=flaskr,
        env=environment(flaskr),
        ready_path="/hello",
        timeout=SERVER_TIMEOUT,
        stop_timeout=SERVER_TIMEOUT,
        log_path=flaskr.parent / f"server-{port}.log",
    )


def test_flaskr_serves_on_hypercorn(flaskr: Path) -> None:
    init = subprocess.run(
        [sys.executable, "-m", "quartlike", "--app", "flaskr", "init-db"],
        cwd=flaskr,
        env=environment(flaskr),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert init.returncode == 0 and "Initialized the database." in init.stdout, init
    with serving(flaskr) as server, httpx.Client(base_url=server.base_url) as http:
        assert http.get("/").status_code == 200
        account = {"username": "ada", "password": "lovelace"}
        rv = http.post("/auth/register", data=account)
        assert (rv.status_code, rv.headers["Location"]) == (302, "/auth/login")
        rv = http.post("/auth/register", data=account)
        assert "User ada is already registered." in rv.text
        rv = http.post("/auth/login", data=account)
        assert (rv.status_code, rv.headers["Location"]) == (302, "/")
        rv = http.post("/create", data={"title": "Served", "body": "by Hypercorn"})
        assert rv.status_code == 302
        page = http.get("/").text
        assert "<h1>Served</h1>" in page and "by ada on" in page
        assert http.get("/static/style.css").status_code == 200
        assert http.post("/2/update").status_code == 404
