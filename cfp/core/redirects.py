"""Where a redirect may send the user: a path on this site, and nothing else.

A target taken from the request (`next`, the Referer) is read as a browser will
read the Location header: tabs and newlines anywhere are dropped, control
characters and spaces at the ends are stripped, a backslash counts as a slash.
What remains must be a path (`/...`, never `//host` nor `scheme:`)."""
from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit

MAX_LENGTH = 2048
_DROPPED = str.maketrans("", "", "\t\n\r")
_ENDS = "".join(chr(c) for c in range(0x21))  # C0 controls and the space
_REFUSED_CATEGORIES = {"Cc", "Cf", "Zl", "Zp"}  # controls, invisible format characters, line breaks


def local_path(target: str | None) -> str | None:
    """`target` as a path on this site, cleaned as a browser would clean it, or None."""
    if not target or len(target) > MAX_LENGTH:
        return None
    path = target.translate(_DROPPED).strip(_ENDS).replace("\\", "/")
    if not path.startswith("/") or path.startswith("//"):
        return None
    if any(unicodedata.category(char) in _REFUSED_CATEGORIES for char in path):
        return None
    parts = urlsplit(path)
    if parts.scheme or parts.netloc:
        return None
    return path


def local_referrer_path(referrer: str | None, host: str) -> str | None:
    """The path of `referrer` if it is a page of `host` (this site), or None."""
    if not referrer or len(referrer) > MAX_LENGTH:
        return None
    cleaned = referrer.translate(_DROPPED).strip(_ENDS).replace("\\", "/")
    try:
        parts = urlsplit(cleaned)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return None
    elsewhere = parts.scheme not in ("http", "https") or parts.netloc != host
    if (parts.scheme or parts.netloc) and elsewhere:
        return None
    return local_path(parts.path + (f"?{parts.query}" if parts.query else ""))
