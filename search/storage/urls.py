"""What a `storage.url` names, its default, and its password masked wherever a URL is shown.

- `sqlite:///cellsearch.db` (the default for one worker): a SQLite file.
- a path ending in `.log` (or `journal:///path`): Optuna's journal file (the default for `workers` > 1).
- `postgresql://user@host/db`, `mysql+pymysql://...`: a database server; `redis://host:6379/0`: a Redis journal.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

HINT = ("use sqlite:///cellsearch.db, a journal file path ending in .log, postgresql://user@host/dbname or "
        "redis://host:6379/0")
DEFAULT_URL = {"one": "sqlite:///cellsearch.db", "several": "cellsearch.log"}
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>]*")
_QUERY_SECRET = re.compile(r"(?i)([?&;](?:password|passwd|pwd|pass)=)[^&;#\s'\"<>]*")
_SQLITE = "sqlite:///"


def journal_path(url: str) -> str | None:
    """The file of a journal storage (`journal:///path` or a path ending in .log), else None."""
    if url.startswith("journal://"):
        return url[len("journal://"):]
    if "://" not in url and url.endswith(".log"):
        return url
    return None


def sqlite_path(url: str) -> str | None:
    """The file of a `sqlite:///path` URL (None for any other URL, and for an in-memory database)."""
    if not url.startswith(_SQLITE) or url[len(_SQLITE):] in ("", ":memory:"):
        return None
    return url[len(_SQLITE):].split("?", 1)[0]


def local_file(url: str) -> str | None:
    """The file a SQLite or journal storage lives in; None for a server (or an in-memory database)."""
    return sqlite_path(url) or journal_path(url)


def _password_span(rest: str) -> tuple[int, int] | None:
    """Where the password of `user:password@host...` (a URL after its `://`) starts and ends: from the user's
    `:` to the last `@` (a password may hold "@", "/", "?" or "#" unencoded); None without one."""
    at = rest.rfind("@")
    return (rest.index(":") + 1, at) if at >= 0 and ":" in rest[:at] else None


def _mask_url(url: str) -> str:
    scheme, rest = url.split("://", 1)
    span = _password_span(rest)
    if span is not None:
        rest = rest[: span[0]] + "***" + rest[span[1]:]
    return _QUERY_SECRET.sub(r"\1***", f"{scheme}://{rest}")


def mask(text: str) -> str:
    """`text` (a URL, or a message that holds URLs) with every password replaced by ***: the one in a URL's
    user part (user:PASSWORD@host, whatever characters it holds) and a `password=` in its query, for every
    storage kind (postgresql, mysql, redis, ...)."""
    if "://" in text and not any(c.isspace() for c in text):  # one URL: whatever its password holds
        return _mask_url(text)
    return _URL.sub(lambda m: _mask_url(m.group(0)), text)


def mask_all(data):
    """A copy of plain data (a stored config: dicts, lists, strings) with `mask` applied to every string."""
    if isinstance(data, dict):
        return {key: mask_all(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [mask_all(value) for value in data]
    return mask(data) if isinstance(data, str) else data


def secrets_of(url: str) -> list[str]:
    """The passwords a URL holds (user part, `password=` query), as written and URL-decoded, so that a
    message quoting one (a driver's error, say) can hide it."""
    if "://" not in url:
        return []
    rest = url.split("://", 1)[1]
    span = _password_span(rest)
    found = [rest[span[0]: span[1]]] if span is not None else []
    found += [m.group(0).split("=", 1)[1] for m in _QUERY_SECRET.finditer(url)]
    return sorted({v for s in found if s for v in (s, unquote(s))}, key=len, reverse=True)


def hide_secrets(text: str, url: str) -> str:
    """`text` (a driver's message about `url`) with the URL's passwords hidden, quoted raw or inside URLs."""
    for secret in secrets_of(url):
        text = text.replace(secret, "***")
    return mask(text)
