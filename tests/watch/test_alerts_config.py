"""``alerts:`` in sleuth.yaml: what is read, and each mistake at its file and line."""

from __future__ import annotations

import textwrap

import pytest

from sleuth.errors import ConfigError
from sleuth.suite.config import load_suite_config
from sleuth.watch.alerts import Alerter

TOKEN = "hooksecret-0c9e51d2aa"  # noqa: S105 (a planted test secret)


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path, monkeypatch):
    """Errors name the file as seen from the current directory."""
    monkeypatch.chdir(tmp_path)


def load(tmp_path, text: str, *, environ: dict[str, str] | None = None):
    path = tmp_path / "sleuth.yaml"
    path.write_text(textwrap.dedent(text))
    return load_suite_config(path, environ=environ or {})


def test_alerts_are_read_with_their_defaults(tmp_path):
    suite = load(
        tmp_path,
        """\
        targets:
          local: {base_url: http://127.0.0.1:1}
        alerts:
          page_url: https://status.example.com/
          to:
            - webhook: {url: "https://hooks.example.com/${env:HOOK}"}
            - slack: "https://hooks.slack.example.com/services/T/B/x"
            - alertmanager: {url: http://127.0.0.1:9093, timeout: 2s}
        """,
        environ={"HOOK": TOKEN},
    )
    alerts = suite.alerts
    assert alerts is not None
    assert (alerts.after, alerts.page_url) == (2, "https://status.example.com")
    assert [(r.kind, r.timeout_s) for r in alerts.receivers] == [
        ("webhook", 5.0),
        ("slack", 5.0),
        ("alertmanager", 2.0),
    ]
    assert alerts.receivers[0].url == f"https://hooks.example.com/{TOKEN}"
    assert TOKEN not in repr(alerts)  # a receiver's URL is a credential


@pytest.mark.parametrize(
    ("body", "where", "message"),
    [
        ("alerts: [slack]", 3, "alerts must be a mapping such as {after: 2"),
        ("alerts:\n  after: 0\n  to: []", 4, "invalid after 0: expected a whole number"),
        ("alerts:\n  aftr: 2", 4, "unknown key 'aftr' in alerts. Valid keys: after, "
         "page_url, to. Did you mean 'after'?"),
        ("alerts:\n  after: 2", 3, "alerts has no to: say where alerts go"),
        ("alerts:\n  to: []", 4, "alerts' to is empty"),
        ("alerts:\n  to:\n    - slak: {url: https://x.example}", 5,
         "unknown receiver kind 'slak'. Kinds: alertmanager, slack, webhook. "
         "Did you mean 'slack'?"),
        ("alerts:\n  to:\n    - slack: {}", 5, "slack has no url: e.g. slack: {url:"),
        ("alerts:\n  to:\n    - webhook: {url: ftp://x.example/" + TOKEN + "}", 5,
         "webhook's url is not an http:// or https:// URL"),
        ("alerts:\n  to:\n    - webhook: {url: https://x.example, retries: 3}", 5,
         "unknown key 'retries' in webhook. Valid keys: timeout, url."),
        ("alerts:\n  page_url: status\n  to:\n    - slack: https://x.example", 4,
         "page_url is not an http:// or https:// URL"),
        ("alerts:\n  to:\n    - {slack: https://x.example, webhook: https://y.example}",
         5, "a receiver is one kind"),
    ],
)  # fmt: skip
def test_each_mistake_is_named_at_its_line(tmp_path, body, where, message):
    text = "targets:\n  local: {}\n" + body + "\n"
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    error = str(caught.value)
    assert error.startswith(f"sleuth.yaml line {where}"), error
    assert message in error
    assert TOKEN not in error


def test_a_bad_alerts_key_stops_a_run_with_exit_4(pytester):
    pytester.makefile(".yaml", sleuth="targets:\n  local: {}\nalerts:\n  aftr: 2\n")
    pytester.makepyfile(test_a="def test_a(target):\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*sleuth.yaml line 4*unknown key 'aftr' in alerts*"])


def test_a_url_from_a_setting_is_filled_in_when_the_alerter_is_built(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "hooks.env").write_text(f"HOOK_URL=https://hooks.example.com/{TOKEN}\n")
    text = """\
        targets:
          local:
            sources: [{dotenv: hooks.env}]
        alerts:
          to:
            - slack: {url: "${setting:HOOK_URL}"}
            - webhook: {url: "${setting:OTHER_HOOK}"}
        """
    with pytest.raises(ConfigError) as caught:
        Alerter.from_suite(load(tmp_path, text), target="local")
    assert str(caught.value).startswith(
        "sleuth.yaml line 7: ${setting:OTHER_HOOK} has no value for target 'local'. "
    )

    suite = load(tmp_path, text.replace("OTHER_HOOK", "HOOK_URL"))
    alerter = Alerter.from_suite(suite, target="local")
    assert alerter is not None
    try:
        assert [r.url for r in alerter.receivers] == [
            f"https://hooks.example.com/{TOKEN}"
        ] * 2
        assert TOKEN not in repr(alerter.receivers)
        assert TOKEN not in alerter.scrub(f"POST https://hooks.example.com/{TOKEN}")
        assert TOKEN not in alerter.scrub(f"a token {TOKEN} on its own")
    finally:
        alerter.close()

    with pytest.raises(ConfigError, match="unknown target 'prod'"):
        Alerter.from_suite(suite, target="prod")


def test_a_setting_that_is_no_url_is_refused_without_showing_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "hooks.env").write_text(f"HOOK_URL={TOKEN}\n")
    text = """\
        targets:
          local:
            sources: [{dotenv: hooks.env}]
        alerts:
          to:
            - slack: {url: "${setting:HOOK_URL}"}
        """
    with pytest.raises(ConfigError) as caught:
        Alerter.from_suite(load(tmp_path, text), target="local")
    assert "slack's url is not an http:// or https:// URL" in str(caught.value)
    assert TOKEN not in str(caught.value)


def test_without_a_target_the_default_or_only_one_is_read(tmp_path):
    (tmp_path / "a.env").write_text(f"HOOK=https://a.example.com/{TOKEN}\n")
    (tmp_path / "b.env").write_text("HOOK=https://b.example.com/hook\n")
    text = """\
        targets:
          a: {sources: [{dotenv: a.env}]}
          b: {sources: [{dotenv: b.env}]}
        alerts:
          to:
            - webhook: {url: "${setting:HOOK}"}
        """
    with pytest.raises(ConfigError) as caught:
        Alerter.from_suite(load(tmp_path, text))
    assert str(caught.value) == (
        "sleuth.yaml line 4: a receiver's url reads ${setting:...}, and the suite "
        "has several targets (a, b): name the one whose settings hold it "
        "(--target), or set default_target:"
    )
    suite = load(tmp_path, "default_target: b\n" + textwrap.dedent(text))
    only_a = load(tmp_path, textwrap.dedent(text).replace("  b: {", "  # b: {"))
    for found, host in ((suite, "b"), (only_a, "a")):
        made = Alerter.from_suite(found)
        assert made is not None
        made.close()
        assert made.receivers[0].url.startswith(f"https://{host}.example.com/")
