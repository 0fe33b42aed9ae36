"""The value checks alone: what each accepts, and that no reason quotes the value."""

from __future__ import annotations

import re

import pytest

from sleuth.settings.checks import SettingChecks

PLACEHOLDER = SettingChecks.build(not_placeholder=True)


@pytest.mark.parametrize(
    "value",
    [
        "changeme", "CHANGE_ME", "Change-Me", "prefix-changeme-9", "TODO", "todo",
        "FIXME", "xxx", "XXXXXXXX", "<your-api-key>", "< fill in >",
        "https://api.example.com/hook", "ops@example.org", "postgres://u:<pw>@db/x",
    ],
)  # fmt: skip
def test_placeholders_are_caught_in_any_case(value):
    assert PLACEHOLDER.failures(value) != []


@pytest.mark.parametrize(
    "value",
    [
        "sk_live_51HqZ", "todoist-sync-token", "xx", "myexample.com",
        "https://hooks.shop.internal/in", "a-long-random-secret-xxyz",
    ],
)  # fmt: skip
def test_real_values_are_not_placeholders(value):
    assert PLACEHOLDER.failures(value) == []


@pytest.mark.parametrize(
    ("checks", "value", "reason"),
    [
        ({"matches": "^sk_live_"}, "sk_test_51Hq", "does not match ^sk_live_"),
        ({"one_of": ["debug", 1]}, "verbose", "is not one of debug, 1"),
        ({"url": True}, "http://[::1", "does not parse as a URL"),
        ({"url": True}, "http://host:eighty/", "does not parse as a URL"),
        ({"url": True}, "hooks.internal/in", "is not a URL with a scheme and a host"),
        ({"url": ["https", "wss"]}, "http://h/", "is a URL whose scheme is not https or wss"),
        ({"non_empty": True}, "  ", "is empty (non_empty)"),
    ],
)  # fmt: skip
def test_each_failure_says_why_without_the_value(checks, value, reason):
    assert SettingChecks.build(**checks).failures(value) == [reason]


@pytest.mark.parametrize(
    ("checks", "value"),
    [
        ({"matches": re.compile("^sk_live_")}, "sk_live_1"),
        ({"one_of": ["debug", "info"]}, " info\n"),
        ({"url": ["HTTPS"]}, "HTTPS://h:8443/x"),
        ({"non_empty": True}, "x"),
    ],
)
def test_each_check_passes_a_good_value(checks, value):
    assert SettingChecks.build(**checks).failures(value) == []


def test_non_empty_fails_an_empty_collection():
    assert SettingChecks.build(non_empty=True).failures("[]", []) != []
    assert SettingChecks.build(non_empty=True).failures("[1]", [1]) == []


@pytest.mark.parametrize(
    ("checks", "error"),
    [
        ({"matches": "^(sk_"}, re.error),
        ({"one_of": "debug"}, ValueError),
        ({"one_of": []}, ValueError),
        ({"one_of": [{"a": 1}]}, ValueError),
        ({"url": "https"}, ValueError),
        ({"url": []}, ValueError),
    ],
)
def test_a_check_that_cannot_run_is_refused_when_built(checks, error):
    with pytest.raises(error):
        SettingChecks.build(**checks)
