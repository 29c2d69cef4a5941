"""ORCID iDs and their ISO 7064 MOD 11-2 check character."""
from __future__ import annotations

import pytest

from cfp.auth.orcid import check_character, is_valid_orcid, normalize_orcid


@pytest.mark.parametrize("orcid", ["0000-0002-1825-0097", "0000-0001-5109-3700", "0000-0002-1694-233X"])
def test_known_ids_are_valid(orcid):
    assert is_valid_orcid(orcid)
    assert normalize_orcid(orcid) == orcid


@pytest.mark.parametrize("base, check", [
    ("000000021825009", "7"), ("000000015109370", "0"), ("000000021694233", "X"),
])
def test_the_check_character(base, check):
    assert check_character(base) == check


@pytest.mark.parametrize("pasted, orcid", [
    ("https://orcid.org/0000-0002-1825-0097", "0000-0002-1825-0097"),
    ("orcid.org/0000-0001-5109-3700", "0000-0001-5109-3700"),
    ("0000-0002-1694-233x", "0000-0002-1694-233X"),
    ("0000000216942 33X", "0000-0002-1694-233X"),
    (" 0000-0002-1825-0097 ", "0000-0002-1825-0097"),
])
def test_what_people_paste_is_normalized(pasted, orcid):
    assert normalize_orcid(pasted) == orcid


@pytest.mark.parametrize("text", [
    "0000-0002-1825-0098",   # wrong check digit
    "0000-0002-1825-009X",   # X where 7 is due
    "0000-0002-1694-2330",   # 0 where X is due
    "0000-0002-1825-097",    # too short
    "0000-0002-1825-00977",  # too long
    "0000-0002-1825-X097",   # X only as the last character
    "abcd-efgh-ijkl-mnop",
    "",
    "https://example.org/0000-0002-1825-0097",
])
def test_invalid_ids_are_refused(text):
    assert not is_valid_orcid(text)
    assert normalize_orcid(text) is None


def test_the_base_must_be_fifteen_digits():
    with pytest.raises(ValueError):
        check_character("12345")
