"""The languages cfp speaks, which one a request is answered in, and how amounts,
numbers and calendar days are written in it.

A language is named by its catalog folder in cfp/translations (`en`, `fr`, `zh_Hans`),
which is also what users.locale and agencies.locale store. A request is answered in
the logged-in user's language, else the language kept in the `cfp_lang` cookie (set by
the switcher), else the best of the browser's Accept-Language, else English. Outside
a request (workers) the caller picks one with force_locale (emails: the recipient's)."""
from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from babel.lists import format_list
from babel.numbers import format_currency, format_decimal, parse_pattern
from flask import current_app, g, has_request_context, request
from flask_babel import format_date, get_locale, get_translations
from flask_login import current_user

COOKIE = "cfp_lang"
COOKIE_DAYS = 365
# Each language in its own name, as the switcher and the profile offer it.
NAMES = {"en": "English", "fr": "Français", "zh_Hans": "中文"}


def offered(code: str | None) -> str | None:
    """`code` if it is one of the offered languages, else None."""
    return code if code in current_app.config["LANGUAGES"] else None


def language_of(holder, default: str = "en") -> str:
    """The offered language of a user or an agency (its `locale`), else `default`."""
    return offered(getattr(holder, "locale", None)) or default


def select_locale() -> str | None:
    """Flask-Babel's locale selector: the user's profile, the cookie, the browser, English."""
    if not has_request_context():
        return None  # workers: the default, or force_locale() (emails: the recipient's)
    if current_user and current_user.is_authenticated and offered(current_user.locale):
        return current_user.locale
    return (offered(request.cookies.get(COOKIE))
            or request.accept_languages.best_match(current_app.config["LANGUAGES"])
            or "en")


def html_lang(locale=None) -> str:
    """The BCP 47 tag of the current language, for <html lang> (`zh_Hans` -> `zh-Hans`)."""
    return str(locale or get_locale() or "en").replace("_", "-")


def language_choices() -> list[tuple[str, str]]:
    return [(code, NAMES.get(code, code)) for code in current_app.config["LANGUAGES"]]


def catalog():
    """The current language's translations, kept for the request while its language is the
    same (`force_locale` switches it: an email in its recipient's language). The templates'
    `_()` reads it: Flask-Babel's own path looks up the context three times and names the
    locale again on every string (a tenth of a list page's time)."""
    locale = get_locale()
    if locale is None:
        return get_translations()  # no app context: Flask-Babel's null catalog
    kept = g.get("_cfp_catalog")
    if kept is not None and kept[0] is locale:
        return kept[1]
    translations = get_translations()
    g._cfp_catalog = (locale, translations)
    return translations


def install_gettext(env) -> None:
    """Jinja's `_`, `gettext`, `ngettext`, `pgettext` and `npgettext` through `catalog()`
    (in place of those Flask-Babel installs: the same catalogs, the same newstyle
    formatting and escaping)."""
    env.install_gettext_callables(
        gettext=lambda s: catalog().ugettext(s),
        ngettext=lambda s, p, n: catalog().ungettext(s, p, n),
        pgettext=lambda c, s: catalog().upgettext(c, s),
        npgettext=lambda c, s, p, n: catalog().unpgettext(c, s, p, n),
        newstyle=True,
    )


def _locale():
    """The current language's babel Locale (Flask-Babel keeps it for the request), or "en":
    given the object, babel's formatters need not parse its name again on every number."""
    return get_locale() or "en"


@lru_cache(maxsize=32)
def _pattern(shape: str):
    """A number shape (`#,##0.000`) parsed once, rather than on every number of a page."""
    return parse_pattern(shape)


def money(amount, currency: str = "") -> str:
    """An amount in its currency as the current language writes it (`1 234,50 €` in
    French, `¥420,000.00` in Chinese); without a currency, the number with two decimals."""
    if amount is None:
        return "—"
    if currency:
        return format_currency(Decimal(amount), currency, locale=_locale())
    return format_decimal(Decimal(amount), format=_pattern("#,##0.00"), locale=_locale())


def number(value, decimals: int | None = None) -> str:
    """A number with the current language's separators (`1 234,5` in French)."""
    if value is None:
        return "—"
    if decimals is None:
        return format_decimal(value, locale=_locale())
    shape = "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(Decimal(str(value)), format=_pattern(shape), locale=_locale())


def day(value, shape: str = "medium") -> str:
    """A calendar day as the current language writes it (14 juil. 2021, 2021年7月14日)."""
    if value is None:
        return ""
    return format_date(value, shape)


def items(values) -> str:
    """A list as the current language writes it: `a, b, and c`, `a, b et c`, `a、b和c`
    (for "Missing: %(list)s.", never an English "; " between translated items)."""
    return format_list([str(v) for v in values], locale=_locale())
