"""The app on a history of real runs, through Starlette's TestClient."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
from prometheus_client.parser import text_string_to_metric_families

with warnings.catch_warnings():
    # Starlette asks for httpx2 over httpx; the client works the same either way.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from sleuth.web.app import create_app
from sleuth.web.auth import hash_password, parse_auth
from tests.conftest import HttpTarget
from tests.web.conftest import CANARY_DSN_PASSWORD, CANARY_KEY

SCHEMA = Path(__file__).parents[2] / "docs" / "schema" / "status-1.json"
PATHS = [
    "/",
    "/api/v1/status",
    "/metrics",
    "/healthz",
    "/badge/local.svg",
    "/probes/test_shop.py::test_orders?target=local",
    "/probes/test_shop.py::test_search",
    "/probes/test_shop.py::test_cancel?target=local&run=3",
]


@pytest.fixture
def client(incident_store: str) -> Iterator[TestClient]:
    with TestClient(create_app(incident_store)) as client:
        yield client


def test_the_page_puts_the_failing_probe_and_its_cause_first(client: TestClient):
    page = client.get("/")
    assert page.status_code == 200
    html = page.text
    assert '<meta http-equiv="refresh" content="30">' in html
    assert "<script" not in html
    rows = html.split('<tr class="probe ')[1:]
    assert rows[0].startswith('failing" data-probe="test_shop.py::test_orders"')
    assert rows[-1].startswith('passing" data-probe="test_shop.py::test_')
    causes = html.split('class="causes"')[1].split("</ol>")[0]
    assert "test_orders: GET http://127.0.0.1:" in causes
    assert "(blocks 1 probe)" in causes
    assert "seen from eu-1" in causes
    assert (
        "fails from eu-1, passes from us-1: "
        "compare the evidence from eu-1 with that from us-1"
    ) in html
    assert "<svg" in html  # the durations
    assert "timeout" in html
    assert "write-refused" in html
    assert "blocked" in html


def test_the_probe_page_shows_the_evidence_and_the_timeline(client: TestClient):
    page = client.get("/probes/test_shop.py::test_orders?target=local")
    assert page.status_code == 200
    html = page.text
    assert "Evidence: run 3 from eu-1" in html
    assert "Evidence: run 4 from us-1" in html
    assert "503 Service Unavailable" in html
    assert "orders down for" in html  # the body excerpt, scrubbed
    timeline = html.split('class="timeline"')[1]
    assert timeline.count("<tr class=") == 4
    one = client.get("/probes/test_shop.py::test_orders?target=local&run=1").text
    assert "Evidence: run 1 from eu-1" in one
    assert "Evidence: run 3" not in one
    missing = client.get("/probes/test_shop.py::test_nothing")
    assert missing.status_code == 404
    assert "no probe &#39;test_shop.py::test_nothing&#39;" in missing.text


def test_the_api_follows_its_schema(client: TestClient):
    answer = client.get("/api/v1/status")
    assert answer.status_code == 200
    data = answer.json()
    jsonschema.validate(data, json.loads(SCHEMA.read_text()))
    assert data["version"] == 1
    assert data["healthy"] is False
    (target,) = data["targets"]
    first = target["probes"][0]
    assert first["id"] == "test_shop.py::test_orders"
    assert first["spread"].startswith("fails from eu-1, passes from us-1")
    assert [a["agent"] for a in first["agents"]] == ["eu-1", "us-1"]
    assert client.get("/api/v1/status?target=local").json()["targets"][0] == target
    assert client.get("/api/v1/status?target=nope").status_code == 404


def test_one_agents_view_is_what_that_agent_alone_saw(client: TestClient):
    # eu-1's second run saw the orders endpoint fail; us-1 saw it pass twice.
    everyone = client.get("/").text
    assert '<a href="/?agent=eu-1">eu-1</a> (run 3)' in everyone
    emptied = client.get("/?agent=").text  # an emptied field: every agent
    assert "alone sees it" not in emptied
    assert emptied.count('<tr class="probe ') == everyone.count('<tr class="probe ')
    assert '<a href="/?agent=us-1">us-1</a> (run 4)' in emptied
    eu = client.get("/?agent=eu-1")
    assert eu.status_code == 200
    assert "as agent <strong>eu-1</strong> alone sees it" in eu.text
    assert '<a href="/">all agents</a>' in eu.text
    rows = eu.text.split('<tr class="probe ')[1:]
    assert rows[0].startswith('failing" data-probe="test_shop.py::test_orders"')
    assert "fails from" not in eu.text  # one agent: no spread to tell
    us = client.get("/?agent=us-1").text
    orders = us.split('data-probe="test_shop.py::test_orders"')[0]
    assert orders.endswith('<tr class="probe passing" ')
    assert "test_orders: GET" not in us.split('class="causes"')[1].split("</ol>")[0]

    data = client.get("/api/v1/status?agent=eu-1").json()
    jsonschema.validate(data, json.loads(SCHEMA.read_text()))
    (target,) = data["targets"]
    assert target["agents"] == [{"name": "eu-1", "run": 3}]
    assert target["latest_run"] == 3
    first = target["probes"][0]
    assert [a["agent"] for a in first["agents"]] == ["eu-1"]
    assert len(first["durations_s"]) == 2  # its own two runs, not us-1's
    assert first["last_passed"]["run"] == 1
    assert all(agents == ["eu-1"] for agents in (c["agents"] for c in target["causes"]))
    assert "test_orders" in [c["label"] for c in target["causes"]]
    us_data = client.get("/api/v1/status?agent=us-1&target=local").json()
    us_orders = next(
        p for p in us_data["targets"][0]["probes"] if p["id"].endswith("test_orders")
    )
    assert us_orders["state"] == "passing"
    assert us_orders["last_passed"]["run"] == 4


def test_an_agent_with_no_runs_is_a_404_naming_the_agents_there(client: TestClient):
    said = "no runs from agent &#39;nope&#39; in the history (agents: eu-1, us-1)"
    page = client.get("/?agent=nope")
    assert page.status_code == 404
    assert said in page.text
    api = client.get("/api/v1/status?agent=nope")
    assert api.status_code == 404
    assert api.json()["error"] == said.replace("&#39;", "'")
    health = client.get("/healthz?agent=nope")
    assert (health.status_code, health.text) == (
        404,
        f"unknown: {api.json()['error']}\n",
    )
    # Both agents see the hung search and the refused write: failing from each.
    assert client.get("/healthz?agent=us-1").status_code == 503


def test_metrics_are_prometheus_text(client: TestClient):
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(answer.text)}
    success = {
        (s.labels["probe"].rpartition("::")[2], s.labels["agent"]): s
        for s in families["sleuth_probe_success"].samples
    }
    assert success["test_orders", "eu-1"].value == 0.0
    assert success["test_orders", "eu-1"].labels["category"] == "http-5xx"
    assert success["test_orders", "us-1"].value == 1.0
    assert success["test_search", "us-1"].labels["category"] == "timeout"
    assert success["test_home", "eu-1"].labels["target"] == "local"
    durations = families["sleuth_probe_duration_seconds"].samples
    assert len(durations) == 10
    assert all(s.value >= 0 for s in durations)
    stamps = {
        s.labels["agent"]: s.value
        for s in families["sleuth_run_timestamp_seconds"].samples
    }
    assert set(stamps) == {"eu-1", "us-1"}
    assert stamps["us-1"] > stamps["eu-1"]


def test_healthz_and_the_badge(client: TestClient):
    whole = client.get("/healthz")
    assert (whole.status_code, whole.text) == (503, "failing: local: 4 failing\n")
    assert client.get("/healthz?target=local").status_code == 503
    assert client.get("/healthz?target=nope").status_code == 404
    svg = client.get("/badge/local.svg")
    assert svg.headers["content-type"] == "image/svg+xml"
    assert "4 failing" in svg.text
    assert client.get("/badge/nope.svg").status_code == 404


def test_a_passing_suite_is_healthy(tmp_path: Path, _http_server: HttpTarget) -> None:  # noqa: PT019 (its URL is used)
    from tests.web.conftest import make_suite, run_suite

    make_suite(tmp_path, _http_server.url)
    (tmp_path / "test_shop.py").write_text(
        "def test_home(target):\n"
        "    assert target.http.get('/status/200').status_code == 200\n"
    )
    url = f"sqlite:///{tmp_path}/history.db"
    run_suite(tmp_path, url, agent="eu-1", orders="200")
    with TestClient(create_app(url)) as client:
        for path in ("/healthz", "/healthz?target=local"):
            answer = client.get(path)
            assert (answer.status_code, answer.text) == (200, "ok\n"), path
        assert client.get("/healthz?target=elsewhere").status_code == 404
        assert "passing" in client.get("/badge/local.svg").text
        assert client.get("/api/v1/status").json()["healthy"] is True


def test_an_unreachable_store_is_a_503_naming_it_without_its_password(
    closed_port: int,
):
    url = f"postgresql+psycopg://app:{CANARY_DSN_PASSWORD}@127.0.0.1:{closed_port}/h"
    with TestClient(create_app(url)) as client:
        for path in ("/", "/api/v1/status", "/healthz", "/metrics"):
            answer = client.get(path)
            assert answer.status_code == 503, path
            assert "could not be read" in answer.text
            assert CANARY_DSN_PASSWORD not in answer.text


def test_no_secret_in_any_answer(client: TestClient, incident_store: str):
    from sleuth.history.store import HistoryStore

    store = HistoryStore.open(incident_store, create_dir=False)
    try:
        runs = [r.id for r in store.runs(limit=10)]
        probes, _ = store.names()
    finally:
        store.close()
    assert len(runs) == 4
    paths = [*PATHS, *(f"/probes/{p}?target=local" for p in probes)]
    paths += [f"/probes/test_shop.py::test_orders?run={r}" for r in runs]
    for path in paths:
        text = client.get(path).text
        assert CANARY_KEY not in text, path
        assert CANARY_DSN_PASSWORD not in text, path
    # The key was sent, and its place is masked where it shows.
    assert "orders down for" in client.get(PATHS[5]).text


def test_auth_bearer(incident_store: str):
    auth = parse_auth("bearer:WEB_TOKEN", environ={"WEB_TOKEN": "s3cret-token"})
    with TestClient(create_app(incident_store, auth=auth)) as client:
        for path in ("/", "/api/v1/status", "/metrics", "/badge/local.svg"):
            assert client.get(path).status_code == 401
        none = client.get("/api/v1/status")
        assert none.headers["www-authenticate"] == 'Bearer realm="sleuth"'
        wrong = {"Authorization": "Bearer s3cret-tokem"}
        assert client.get("/api/v1/status", headers=wrong).status_code == 401
        right = {"Authorization": "Bearer s3cret-token"}
        assert client.get("/api/v1/status", headers=right).status_code == 200
        assert client.get("/", headers=right).status_code == 200
        assert client.get("/healthz").status_code == 503  # open, and failing


def test_auth_basic(incident_store: str):
    auth = parse_auth(f"basic:ops:{hash_password('horse battery')}")
    with TestClient(create_app(incident_store, auth=auth)) as client:
        assert client.get("/").status_code == 401
        assert client.get("/", auth=("ops", "horse batterz")).status_code == 401
        assert client.get("/", auth=("opz", "horse battery")).status_code == 401
        assert client.get("/", auth=("ops", "horse battery")).status_code == 200
        assert client.get("/", auth=("ops", "horse battery")).status_code == 200
        assert client.get("/", auth=("ops", "horse batterz")).status_code == 401
