"""No page links to what its viewer cannot open: each role walks the site from the home
page, following every link on every page it reaches, and no link answers 403 or 404."""
from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import pytest

from tests.test_access import ROLES, as_role, scene  # noqa: F401  (the scene fixture)

LINK = re.compile(r'<a\s[^>]*href="([^"#]+)"')
SKIP = ("/static/", "/bootstrap/", "/logout")
MAX_PAGES = 1500


def _walk(client, start: str, pages: dict | None = None, max_pages: int = MAX_PAGES,
          per_path: int | None = None):
    """Breadth first from `start`: {url: status}, and for each url the page it was found on;
    the HTML of each page into `pages` when given. With `per_path`, at most that many
    links with a query string are followed per path (the audit log's filters link to
    every value of every filter: thousands of variants of one page)."""
    seen, found_on, queue = {}, {start: "(start)"}, [start]
    variants: dict[str, int] = {}
    while queue and len(seen) < max_pages:
        url = queue.pop(0)
        with client.get(url) as response:  # closes a file sent by the page
            seen[url] = response.status_code
            html = response.status_code == 200 and "text/html" in response.content_type
            body = response.get_data(as_text=True) if html else ""
        if pages is not None and body:
            pages[url] = body
        for href in LINK.findall(body):
            target = urljoin(url, href.replace("&amp;", "&"))
            parts = urlsplit(target)
            if parts.netloc not in ("", "localhost") or parts.path.startswith(SKIP):
                continue
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if target in found_on:
                continue
            if per_path is not None and parts.query:
                variants[parts.path] = variants.get(parts.path, 0) + 1
                if variants[parts.path] > per_path:
                    continue
            found_on[target] = url
            queue.append(target)
    return seen, found_on


@pytest.mark.parametrize("role", ROLES)
def test_no_page_links_to_a_page_its_viewer_cannot_open(client, scene, role):  # noqa: F811
    as_role(client, scene, role)
    seen, found_on = _walk(client, "/")
    broken = [f"{url} ({status}), linked from {found_on[url]}" for url, status in seen.items()
              if status in (403, 404)]
    assert len(seen) > 3
    assert not broken, f"as {role}:\n" + "\n".join(broken)
