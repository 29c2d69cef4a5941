"""What the committed catalogs say a string is in a language, so that the rendering
tests do not hard-code the translators' words."""
from __future__ import annotations

from cfp.core import catalogs


def translation(language: str, msgid: str) -> str:
    po = catalogs.po_path(language)
    assert po.is_file(), f"no catalog for {language} yet ({po})"
    message = catalogs.read_catalog(po, language).get(msgid)
    assert message is not None and message.string and not message.fuzzy, f"{msgid!r} untranslated in {language}"
    assert message.string != msgid
    return message.string
