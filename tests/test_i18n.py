"""Every visible string goes through Flask-Babel: no bare text in templates, no
literal message in flash() or in the errors operations raise."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir

ROOT = Path(__file__).resolve().parent.parent
ALLOWED_WORDS = {"cfp"}  # the product's name
ENTITIES = re.compile(r"&[a-z]+;")


def _visible_text(source: str) -> tuple[list[str], list[str]]:
    s = re.sub(r"{#.*?#}", "", source, flags=re.DOTALL)
    s = re.sub(r"<(script|style)\b.*?</\1>", "", s, flags=re.DOTALL)
    s = re.sub(r"{{.*?}}|{%.*?%}", " ", s, flags=re.DOTALL)
    attributes = re.findall(r'\b(?:placeholder|title|aria-label|alt)="([^"{]*[A-Za-z][^"{]*)"', s)
    text = ENTITIES.sub(" ", re.sub(r"<[^>]*>", " ", s, flags=re.DOTALL))
    words = [w for w in re.findall(r"[^\W\d_]{2,}", text) if w not in ALLOWED_WORDS]
    return words, attributes


TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT / "templates")))
def test_templates_have_no_untranslated_text(path):
    words, attributes = _visible_text(path.read_text(encoding="utf-8"))
    assert not words and not attributes, f"wrap in _(): {words[:10]} {attributes[:5]}"


def test_no_literal_messages_in_python():
    literal = re.compile(r"""(?:\bflash|raise (?:DomainError|NotAllowed|IllegalTransition))\(\s*["'][A-Za-z]""")
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in sorted((ROOT / "cfp").rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if literal.search(line)
    ]
    assert not offenders, offenders


def test_the_catalogue_extracts_the_application_strings():
    method_map = [("cfp/**.py", "python"), ("workers/**.py", "python"),
                  ("templates/**.html", "jinja2"), ("templates/**.txt", "jinja2")]
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None}
    messages = {m[2] for m in extract_from_dir(str(ROOT), method_map, keywords=keywords)}
    for expected in ("Submit the proposal", "Joint ranking", "Approve for my side",
                     "Log in", "Reviewers of my side"):
        assert expected in messages
    assert len(messages) > 500
