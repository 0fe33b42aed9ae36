from __future__ import annotations

import pytest

from sleuth.errors import ConfigError
from sleuth.history.options import parse_keep
from sleuth.suite.units import (
    TIME_UNITS_S,
    parse_count,
    parse_days,
    parse_duration,
    parse_flag,
    parse_positive_int,
    parse_tls_version,
)


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


@pytest.mark.parametrize("value", ["abc", "2 fortnights", "2S", True, None, [1], "-1s"])
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


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(0, 0, id="zero"),
        pytest.param(12, 12, id="int"),
        pytest.param("12", 12, id="digits"),
        pytest.param(" 10k ", 10_000, id="k"),
        pytest.param("1.5M", 1_500_000, id="M"),
        pytest.param("2m", 2_000_000, id="m"),
    ],
)
def test_parse_count(value: object, expected: int):
    assert parse_count(value, where="probes.yaml line 3", what="max_queue_depth") == (
        expected
    )


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(-1, id="negative"),
        pytest.param(True, id="bool"),
        pytest.param("1.5", id="fraction"),
        pytest.param("ten", id="word"),
        pytest.param(2.0, id="float"),
    ],
)
def test_parse_count_rejects_with_where_and_example(value: object):
    with pytest.raises(ConfigError) as caught:
        parse_count(value, where="probes.yaml line 3", what="max_queue_depth")
    assert str(caught.value) == (
        f"probes.yaml line 3: invalid max_queue_depth {value!r}: expected a whole "
        f"number of zero or more, e.g. 100 or 10k"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(30, 30.0, id="int"),
        pytest.param(0, 0.0, id="zero"),
        pytest.param(7.5, 7.5, id="float"),
        pytest.param("30", 30.0, id="digits"),
        pytest.param("30d", 30.0, id="d"),
        pytest.param("30 days", 30.0, id="days"),
        pytest.param("1 day", 1.0, id="day"),
        pytest.param("2w", 14.0, id="weeks"),
        pytest.param("12h", 0.5, id="hours"),
    ],
)
def test_parse_days(value: object, expected: float):
    assert parse_days(value, where="w", what="min_days_left") == expected


@pytest.mark.parametrize("value", ["soon", "-3d", "30x", None, False, float("nan")])
def test_parse_days_rejects(value: object):
    with pytest.raises(ConfigError) as caught:
        parse_days(value, where="sleuth.yaml line 9", what="min_days_left")
    assert str(caught.value) == (
        f"sleuth.yaml line 9: invalid min_days_left {value!r}: expected days, e.g. "
        f"30, 30d or 2w"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1.2", "TLSv1.2"),
        ("TLSv1.3", "TLSv1.3"),
        ("tls1.1", "TLSv1.1"),
        ("TLS 1.3", "TLSv1.3"),
        pytest.param(1.2, "TLSv1.2", id="number"),
        ("1.0", "TLSv1"),
        ("1", "TLSv1"),
    ],
)
def test_parse_tls_version(value: object, expected: str):
    assert parse_tls_version(value, where="w", what="min_version") == expected


@pytest.mark.parametrize("value", ["2.0", "SSLv3", "1.4", True, None])
def test_parse_tls_version_rejects_listing_versions(value: object):
    with pytest.raises(ConfigError) as caught:
        parse_tls_version(value, where="w", what="min_version")
    assert str(caught.value) == (
        f"w: invalid min_version {value!r}: expected a TLS version, one of 1.0, "
        f"1.1, 1.2, 1.3 (or TLSv1.2 ...)"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        ("yes", True),
        ("No", False),
        ("0", False),
        (1, True),
    ],
)
def test_parse_flag(value: object, expected: bool):
    assert parse_flag(value, where="w", what="verify") is expected


def test_parse_flag_rejects():
    with pytest.raises(ConfigError, match="invalid verify 'maybe': expected true or"):
        parse_flag("maybe", where="w", what="verify")


# Every spelling the docs show for a length of time (timeouts, max_latency,
# --budget; min_days_left; --history-keep), with its length in seconds.
SPELLINGS = [
    pytest.param("150ms", 0.15, id="ms"),
    pytest.param("2s", 2.0, id="s"),
    pytest.param("2 sec", 2.0, id="sec"),
    pytest.param("1m", 60.0, id="m"),
    pytest.param("90 min", 5400.0, id="min"),
    pytest.param("12h", 43200.0, id="h"),
    pytest.param("30d", 30 * 86400.0, id="d"),
    pytest.param("1 day", 86400.0, id="day"),
    pytest.param("30 days", 30 * 86400.0, id="days"),
    pytest.param("2w", 14 * 86400.0, id="w"),
    pytest.param("1 week", 7 * 86400.0, id="week"),
    pytest.param("2weeks", 14 * 86400.0, id="weeks"),
]


def test_the_spellings_cover_every_unit():
    units = {p.id for p in SPELLINGS}
    assert units == set(TIME_UNITS_S)


@pytest.mark.parametrize(("text", "seconds"), SPELLINGS)
def test_one_grammar_reads_each_spelling_the_same_everywhere(text, seconds):
    assert parse_duration(text, where="x") == pytest.approx(seconds)
    assert parse_days(text, where="x", what="min_days_left") == pytest.approx(
        seconds / 86400
    )
    assert parse_keep(text, where="x").max_age_s == pytest.approx(seconds)


def test_a_bare_number_is_in_each_readers_own_unit():
    assert parse_duration("30", where="x") == 30.0  # seconds
    assert parse_days("30", where="x", what="min_days_left") == 30.0  # days
    assert (
        parse_keep("30", where="x").runs,
        parse_keep("30", where="x").max_age_s,
    ) == (
        30,
        None,
    )  # runs, not an age
