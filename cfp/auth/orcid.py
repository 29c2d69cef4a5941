"""ORCID iDs: sixteen characters in four groups, the last one a check character
computed with ISO 7064 MOD 11-2 (https://support.orcid.org/hc/en-us/articles/360006897674)."""
from __future__ import annotations

import re

_FORM = re.compile(r"^(\d{4})-?(\d{4})-?(\d{4})-?(\d{3}[\dX])$")
_PREFIXES = ("https://orcid.org/", "http://orcid.org/", "orcid.org/")


def check_character(base_digits: str) -> str:
    """The ISO 7064 MOD 11-2 check character of the first fifteen digits."""
    if len(base_digits) != 15 or not base_digits.isdigit():
        raise ValueError("an ORCID iD has fifteen base digits")
    total = 0
    for digit in base_digits:
        total = (total + int(digit)) * 2
    result = (12 - total % 11) % 11
    return "X" if result == 10 else str(result)


def normalize_orcid(text: str) -> str | None:
    """`0000-0002-1825-0097` from what a person may paste (the URL form, no
    hyphens, a lowercase x, spaces), or None if it is not a valid ORCID iD."""
    value = "".join(text.split()).upper()
    for prefix in _PREFIXES:
        if value.startswith(prefix.upper()):
            value = value[len(prefix):]
            break
    match = _FORM.match(value)
    if match is None:
        return None
    digits = "".join(match.groups())
    if check_character(digits[:15]) != digits[15]:
        return None
    return "-".join(match.groups())


def is_valid_orcid(text: str) -> bool:
    return normalize_orcid(text) is not None
