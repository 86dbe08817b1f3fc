"""The test client's cookie storage.

:class:`CookieJar` keeps what responses set with ``Set-Cookie`` (honouring
``Domain``, ``Path``, ``Max-Age``/``Expires`` and ``Secure``) and produces the
``Cookie`` header for each following request, like a browser would, within
the simplifications a test client can afford.
"""

from __future__ import annotations

import time
import typing as t
from http.cookies import SimpleCookie

if t.TYPE_CHECKING:
    from werkzeug.datastructures import Headers


class _Cookie(t.NamedTuple):
    value: str
    expires: float | None
    secure: bool


class CookieJar:
    """The cookies the test client stores and sends back, keyed by domain, path and name."""

    def __init__(self) -> None:
        self._cookies: dict[tuple[str, str, str], _Cookie] = {}

    def __len__(self) -> int:
        return len(self._cookies)

    def set(
        self,
        key: str,
        value: str = "",
        *,
        domain: str = "localhost",
        path: str = "/",
        expires: float | None = None,
        secure: bool = False,
    ) -> None:
        """Store a cookie (replacing one with the same domain, path and name)."""
        if expires is not None and expires <= time.time():
            self._cookies.pop((domain, path, key), None)
        else:
            self._cookies[(domain, path, key)] = _Cookie(value, expires, secure)

    def delete(self, key: str, *, domain: str = "localhost", path: str = "/") -> None:
        """Forget a cookie."""
        self._cookies.pop((domain, path, key), None)

    def get(self, key: str, *, domain: str = "localhost", path: str = "/") -> str | None:
        """The value of a stored cookie, or ``None``."""
        cookie = self._cookies.get((domain, path, key))
        return cookie.value if cookie is not None else None

    def header_for(self, host: str, path: str, scheme: str) -> str | None:
        """The ``Cookie`` header to send to ``host`` and ``path``, or ``None``."""
        now = time.time()
        host = host.split(":")[0].lower()
        parts = []
        for (domain, cookie_path, name), cookie in list(self._cookies.items()):
            if cookie.expires is not None and cookie.expires <= now:
                del self._cookies[(domain, cookie_path, name)]
                continue
            if cookie.secure and scheme != "https":
                continue
            if not _domain_matches(host, domain) or not _path_matches(path, cookie_path):
                continue
            parts.append(f"{name}={cookie.value}")
        return "; ".join(parts) if parts else None

    def extract(self, host: str, headers: Headers) -> None:
        """Store the cookies a response sets."""
        host = host.split(":")[0].lower()
        for header in headers.getlist("Set-Cookie"):
            parsed: SimpleCookie = SimpleCookie()
            try:
                parsed.load(header)
            except Exception:
                continue
            for name, morsel in parsed.items():
                domain = (morsel["domain"] or host).lstrip(".").lower()
                path = morsel["path"] or "/"
                expires: float | None = None
                if morsel["max-age"]:
                    try:
                        expires = time.time() + int(morsel["max-age"])
                    except ValueError:
                        expires = None
                elif morsel["expires"]:
                    from werkzeug.http import parse_date

                    date = parse_date(morsel["expires"])
                    if date is not None:
                        expires = date.timestamp()
                raw_value = header.split(";", 1)[0].partition("=")[2].strip()
                self.set(
                    name,
                    raw_value,
                    domain=domain,
                    path=path,
                    expires=expires,
                    secure=bool(morsel["secure"]),
                )


def _domain_matches(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


def _path_matches(path: str, cookie_path: str) -> bool:
    if path == cookie_path or cookie_path == "/":
        return True
    return path.startswith(cookie_path.rstrip("/") + "/")
