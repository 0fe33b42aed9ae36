"""The conflict note itself: which sources, how many fingerprints, who wins."""

from __future__ import annotations

import re

from sleuth.settings.conflict import note

KEY = b"k" * 32


def test_three_sources_list_a_fingerprint_each_and_agreeing_ones_match() -> None:
    text = note(
        [("environment", "on"), ("dotenv deploy.env", "off"), ("file c.yaml", "on")],
        key=KEY,
    )
    match = re.fullmatch(
        r"environment, dotenv deploy\.env and file c\.yaml differ "
        r"\(fingerprints (\w{4}), (\w{4}), (\w{4})\); "
        r"the first source, environment, wins",
        text,
    )
    assert match, text
    first, second, third = match.groups()
    assert first == third != second
    assert "on" not in text.replace("environment", "")
    assert "off" not in text


def test_values_compare_as_text_and_one_holder_is_no_conflict() -> None:
    assert note([("environment", "5"), ("file c.yaml", 5)], key=KEY) == ""
    assert note([("environment", "x")], key=KEY) == ""
    assert note([], key=KEY) == ""
    assert note([("environment", ""), ("dotenv .env", "x")], key=KEY)


def test_fingerprints_depend_on_the_key() -> None:
    held = [("environment", "a"), ("dotenv .env", "b")]
    assert note(held, key=KEY) != note(held, key=b"j" * 32)
