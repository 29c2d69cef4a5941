"""Countries by their ISO 3166 alpha-2 code, named in the reader's language from Babel's
CLDR data (no list of our own to translate)."""
from __future__ import annotations

from functools import cache

from babel import Locale
from flask_babel import get_locale

# CLDR's two-letter territories that are not countries: the EU, the euro area, the UN,
# "unknown region", "outlying Oceania" and two pseudo-locales' regions.
_NOT_COUNTRIES = frozenset({"EU", "EZ", "UN", "ZZ", "QO", "XA", "XB"})


@cache
def country_codes() -> frozenset[str]:
    return frozenset(code for code in Locale.parse("en").territories
                     if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES)


@cache
def _names(locale: str) -> dict[str, str]:
    territories = Locale.parse(locale).territories
    return {code: territories.get(code, code) for code in country_codes()}


def country_name(code: str | None, locale: str | None = None) -> str:
    """The country's name in `locale` (the request's language by default); the code itself
    when it is not a country CLDR knows; "" for none."""
    if not code:
        return ""
    return _names(locale or str(get_locale() or "en")).get(code, code)


def country_choices() -> list[tuple[str, str]]:
    """(code, name) of every country, by name in the request's language."""
    names = _names(str(get_locale() or "en"))
    return sorted(names.items(), key=lambda item: item[1].casefold())
