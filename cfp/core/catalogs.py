"""The translation catalogs: extracting the strings of the code, updating each
language's messages.po, compiling the messages.mo the app reads, and checking them.

The compiled messages.mo are committed next to their messages.po (and packaged), so
that an install has them with no extra step; tests/test_i18n.py fails when a .mo no
longer matches its .po, or when a string of the code has no translation.

    bash tools/i18n.sh            # extract, update every language, compile
    bash tools/i18n.sh check      # what tests/test_i18n.py checks, as a list

(`python -m cfp.core.catalogs extract|update|compile|check` does the same.)"""
from __future__ import annotations

import os
import re
import sys
from collections import Counter
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import CommandLineInterface, parse_keywords, parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "cfp"
MAPPING = PACKAGE / "babel.cfg"
TRANSLATIONS = PACKAGE / "translations"
TEMPLATE = TRANSLATIONS / "messages.pot"
# What marks a string for translation, beyond Babel's defaults (_, gettext, ngettext,
# pgettext...), as pybabel's -k spec: "1c,2" reads the context from the first argument.
KEYWORDS = {"_l": "", "lazy_gettext": "", "lazy_ngettext": "1,2", "pgettext": "1c,2",
            "lazy_pgettext": "1c,2"}
# The placeholders a translation must keep: %(name)s, %s, {name}; not a literal %%.
PLACEHOLDER = re.compile(r"%\([A-Za-z_][A-Za-z0-9_]*\)[-#0 +]*\d*(?:\.\d+)?[sdifr]|%[sdifr]|\{[A-Za-z_0-9]*\}")


def extract_template() -> Catalog:
    """Every string of the code marked for translation, as Babel extracts it (the
    messages.pot `extract` writes, built in memory)."""
    from babel.messages.extract import DEFAULT_KEYWORDS

    with MAPPING.open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    keywords = parse_keywords([f"{k}:{spec}" if spec else k for k, spec in KEYWORDS.items()])
    catalog = Catalog(project="cfp")
    for filename, lineno, message, comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords={**DEFAULT_KEYWORDS, **keywords},
        comment_tags=("TRANSLATORS:",), strip_comment_tags=True,
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def languages() -> list[str]:
    """The languages that have a catalog folder."""
    return sorted(p.name for p in TRANSLATIONS.iterdir() if (p / "LC_MESSAGES").is_dir()) \
        if TRANSLATIONS.is_dir() else []


def po_path(language: str) -> Path:
    return TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"


def read_catalog(path: Path, language: str) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=language)


def _texts(value) -> list[str]:
    return list(value) if isinstance(value, list | tuple) else [value]


def placeholders(text: str) -> Counter:
    return Counter(PLACEHOLDER.findall(text or ""))


def untranslated(catalog: Catalog, template: Catalog) -> list[str]:
    """What `catalog` lacks for `template`, one line each: a message missing or with an
    empty translation, a fuzzy one, one whose placeholders differ from the original's."""
    problems = []
    for message in template:
        if not message.id:
            continue  # the header
        key = message.id if isinstance(message.id, str) else message.id[0]
        translated = catalog.get(message.id, context=message.context)
        if translated is None or not all(_texts(translated.string)):
            problems.append(f"untranslated: {key!r}")
        elif translated.fuzzy:
            problems.append(f"fuzzy: {key!r}")
        else:
            wanted = placeholders(_texts(message.id)[-1])
            for text in _texts(translated.string):
                if placeholders(text) != wanted:
                    problems.append(f"placeholders differ: {key!r} -> {text!r}")
                    break
    return problems


def compiled_differences(language: str) -> list[str]:
    """Where messages.mo says otherwise than messages.po (the translations the app
    would use versus those committed), one line each; the .mo missing is one line."""
    po, mo = po_path(language), po_path(language).with_suffix(".mo")
    if not mo.is_file():
        return [f"{mo.relative_to(ROOT)} is missing: run bash tools/i18n.sh compile"]
    source = read_catalog(po, language)
    with mo.open("rb") as f:
        compiled = read_mo(f)
    # Plural translations: a tuple from the .po, a list from the .mo; compare them as tuples.
    wanted = {(m.context, m.id if isinstance(m.id, str) else tuple(m.id)): tuple(_texts(m.string))
              for m in source if m.id and not m.fuzzy and all(_texts(m.string))}
    have = {(m.context, m.id if isinstance(m.id, str) else tuple(m.id)): tuple(_texts(m.string))
            for m in compiled if m.id}
    lines = [f"not compiled: {key[1]!r}" for key in wanted if have.get(key) != wanted[key]]
    lines += [f"compiled but not in the .po: {key[1]!r}" for key in have if key not in wanted]
    return [f"{language}: {line}" for line in lines]


def _pybabel(*args: str) -> None:
    status = CommandLineInterface().run(["pybabel", *args])
    if status:
        raise SystemExit(status)


def extract() -> None:
    TRANSLATIONS.mkdir(exist_ok=True)
    keywords = [f"-k{k}" + (f":{spec}" if spec else "") for k, spec in KEYWORDS.items()]
    _pybabel("extract", "-F", str(MAPPING), *keywords, "--add-comments=TRANSLATORS:",
             "--project=cfp", "--sort-by-file", "-o", str(TEMPLATE), ".")  # babel.cfg's paths


def update() -> None:
    for language in languages():
        _pybabel("update", "-i", str(TEMPLATE), "-d", str(TRANSLATIONS), "-l", language,
                 "--ignore-obsolete")  # a string gone from the code leaves no #~ entry behind


def compile_all() -> None:
    for language in languages():
        if po_path(language).is_file():
            _pybabel("compile", "-d", str(TRANSLATIONS), "-l", language, "--statistics")


def check() -> list[str]:
    template = extract_template()
    problems = []
    for language in languages():
        if po_path(language).is_file():
            problems += [f"{language}: {p}" for p in untranslated(read_catalog(po_path(language), language), template)]
            problems += compiled_differences(language)
    return problems


def main(argv: list[str]) -> int:
    os.chdir(ROOT)  # the references in the catalogs are relative to the repository (cfp/...)
    steps = argv or ["extract", "update", "compile"]
    for step in steps:
        if step == "check":
            problems = check()
            print("\n".join(problems) or "every catalog is complete and compiled")
            if problems:
                return 1
        else:
            {"extract": extract, "update": update, "compile": compile_all}[step]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
