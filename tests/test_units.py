from __future__ import annotations

import pytest

from sleuth.errors import ConfigError
from sleuth.units import parse_duration, parse_positive_int


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (2, 2.0),
        (2.5, 2.5),
        (" 2.5 ", 2.5),
        ("2s", 2.0),
        ("150ms", 0.15),
        ("1m", 60.0),
        ("1 min", 60.0),
        ("1h", 3600.0),
    ],
)
def test_durations(value, seconds):
    assert parse_duration(value, where="here") == pytest.approx(seconds)


@pytest.mark.parametrize("value", ["abc", "2 weeks", True, None, [1], "-1s"])
def test_bad_durations_say_what_is_expected_and_where(value):
    with pytest.raises(
        ConfigError,
        match=r"^SLEUTH_TIMEOUT: invalid timeout .*: expected seconds, e.g. 2.5, 2s or 150ms$",
    ):
        parse_duration(value, where="SLEUTH_TIMEOUT", what="timeout")


def test_zero_is_not_a_duration():
    with pytest.raises(ConfigError, match="expected more than zero seconds"):
        parse_duration("0s", where="x")


@pytest.mark.parametrize(("value", "number"), [(4, 4), ("64", 64)])
def test_positive_ints(value, number):
    assert parse_positive_int(value, where="x", what="workers") == number


@pytest.mark.parametrize("value", [0, -3, "x", 2.5, True])
def test_bad_positive_ints(value):
    with pytest.raises(
        ConfigError, match=r"expected a whole number above zero, e\.g\. 64"
    ):
        parse_positive_int(value, where="x", what="workers")
