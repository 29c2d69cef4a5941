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


# The catalogs: complete, compiled, and checked by a test that CI runs (tests/run.sh).

from babel.messages.catalog import Catalog

from cfp.core import catalogs

TRANSLATED = ["fr", "zh_Hans"]  # every offered language but the source, English


@pytest.fixture(scope="module")
def template():
    return catalogs.extract_template()


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_string_of_the_code_has_a_translation_with_the_same_placeholders(language, template):
    """Fails as soon as a new string is added without its translation (or left fuzzy)."""
    po = catalogs.po_path(language)
    assert po.is_file(), f"{po.relative_to(ROOT)} is missing"
    problems = catalogs.untranslated(catalogs.read_catalog(po, language), template)
    assert not problems, f"{len(problems)} to translate, e.g. " + "\n".join(problems[:20])


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_committed_mo_is_the_compiled_po(language):
    """The app reads messages.mo, committed so that an install has it: it must say what
    messages.po says (bash tools/i18n.sh compile)."""
    assert catalogs.po_path(language).is_file()
    assert not catalogs.compiled_differences(language)


def test_the_catalogs_are_packaged():
    import tomllib

    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "translations/*/LC_MESSAGES/messages.mo" in data["cfp"]


def _catalog(*entries) -> Catalog:
    catalog = Catalog(locale="fr")
    for msgid, msgstr, *flags in entries:
        catalog.add(msgid, msgstr, flags=flags)
    return catalog


def test_the_checker_reports_missing_empty_fuzzy_and_changed_placeholders():
    template = _catalog(("Calls", ""), ("Log in", ""), ("Dear %(name)s,", ""), ("Page %s of %s", ""),
                        ("Due {when}", ""), ("Mail", ""), ("Joint ranking", ""))
    catalog = _catalog(
        ("Calls", "Appels"),                          # fine
        ("Log in", ""),                               # empty
        ("Dear %(name)s,", "Cher %(nom)s,"),          # a placeholder renamed
        ("Page %s of %s", "Page %s"),                 # one placeholder lost
        ("Due {when}", "Échéance {when}"),            # fine
        ("Joint ranking", "Classement conjoint", "fuzzy"),
    )                                                 # "Mail" missing
    assert catalogs.untranslated(catalog, template) == [
        "untranslated: 'Log in'",
        "placeholders differ: 'Dear %(name)s,' -> 'Cher %(nom)s,'",
        "placeholders differ: 'Page %s of %s' -> 'Page %s'",
        "untranslated: 'Mail'",
        "fuzzy: 'Joint ranking'",
    ]


def test_the_checker_accepts_a_complete_catalog_and_checks_plurals():
    template = Catalog(locale="zh_Hans")
    template.add(("%(num)d proposal", "%(num)d proposals"), None)
    good, bad = Catalog(locale="zh_Hans"), Catalog(locale="zh_Hans")
    good.add(("%(num)d proposal", "%(num)d proposals"), ("%(num)d 项申请",))
    bad.add(("%(num)d proposal", "%(num)d proposals"), ("若干申请",))
    assert catalogs.untranslated(good, template) == []
    assert catalogs.untranslated(bad, template) == [
        "placeholders differ: '%(num)d proposal' -> '若干申请'"]


def test_a_compiled_catalog_that_lags_its_po_is_reported(tmp_path, monkeypatch):
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import write_po

    folder = tmp_path / "fr" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    monkeypatch.setattr(catalogs, "TRANSLATIONS", tmp_path)
    monkeypatch.setattr(catalogs, "ROOT", tmp_path)
    assert catalogs.compiled_differences("fr") == ["fr/LC_MESSAGES/messages.mo is missing: run bash tools/i18n.sh compile"]
    old = _catalog(("Calls", "Appels"))
    with (folder / "messages.mo").open("wb") as mo:
        write_mo(mo, old)
    new = _catalog(("Calls", "Appels à projets"), ("Log in", "Se connecter"))
    with (folder / "messages.po").open("wb") as po:
        write_po(po, new)
    assert catalogs.compiled_differences("fr") == ["fr: not compiled: 'Calls'", "fr: not compiled: 'Log in'"]
    with (folder / "messages.mo").open("wb") as mo:
        write_mo(mo, new)
    assert catalogs.compiled_differences("fr") == []
