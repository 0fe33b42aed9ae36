"""docs/alerts.md: its sleuth.yaml and its Python run as shown, against local receivers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sleuth.errors import ConfigError
from sleuth.history.store import HistoryStore
from sleuth.suite.config import load_suite_config
from tests.history.helpers import make_record
from tests.watch.alerting import Receiver, serve

DOC = Path(__file__).parents[2] / "docs" / "alerts.md"
SLACK_TOKEN = "T0DOCS/B0DOCS/docsecret5b2e9a71"  # noqa: S105 (a planted test secret)


def block(language: str) -> str:
    [found] = re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), re.DOTALL)
    return str(found)


def test_the_example_sends_to_each_receiver(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    receiver = Receiver()
    with serve(receiver.app()) as server:
        (tmp_path / "sleuth.yaml").write_text(block("yaml"))
        (tmp_path / "deploy.env").write_text(
            f"SLACK_WEBHOOK_URL={server.url}/services/{SLACK_TOKEN}\n"
        )
        monkeypatch.setenv("ALERT_HOOK_URL", f"{server.url}/hook")
        monkeypatch.setenv("ALERTMANAGER_URL", f"{server.url}/am")
        store = HistoryStore.open("sqlite:///.sleuth/history.db")
        for _ in range(2):  # after: 2
            record = make_record(
                {"test_api.py::test_items": "error"},
                target="prod",
                messages={"test_api.py::test_items": "items answered 503"},
            )
            store.write_run(record, agent="eu-1")
        store.close()

        exec(compile(block("python"), str(DOC), "exec"), {})  # noqa: S102 (the doc's own)

        receiver.wait_for(3)
    paths = sorted(path for path, _ in receiver.requests)
    assert paths == ["/am/api/v2/alerts", "/hook", f"/services/{SLACK_TOKEN}"]
    bodies = dict(receiver.requests)
    assert bodies["/hook"]["link"] == (
        "https://status.example.com/probes/test_api.py%3A%3Atest_items?target=prod"
    )
    assert bodies["/hook"]["diagnosis"] == "items answered 503"
    assert "items answered 503" in bodies[f"/services/{SLACK_TOKEN}"]["text"]


def test_the_error_shown_is_the_one_sleuth_gives(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sleuth.yaml").write_text(block("yaml").replace("- slack:", "- slak:"))
    with pytest.raises(ConfigError) as caught:
        load_suite_config(tmp_path / "sleuth.yaml", environ={"ALERT_HOOK_URL": "x"})
    assert f"ERROR: {caught.value}" in DOC.read_text()
