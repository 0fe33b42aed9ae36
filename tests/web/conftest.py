"""A history made by really running a suite: two agents, one of them seeing
the orders endpoint fail; a probe timing out, one blocked, one refused a write."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import HttpTarget

CANARY_KEY = "canary-key-web-91c2e7"
CANARY_DSN_PASSWORD = "canary-pw-web-3b8d4f"  # noqa: S105 (a planted test secret)

SUITE = """
targets:
  local:
    base_url: {url}
    timeout: 5s
    sources: [env, {{dotenv: deploy.env}}]
"""

PROBES = """
import os

import pytest

ORDERS = os.environ.get("ORDERS_STATUS", "200")

def test_home(target):
    assert target.setting("DATABASE_URL") is not None
    assert target.http.get("/status/200").status_code == 200

def test_orders(target):
    key = target.setting("API_KEY")
    response = target.http.get(
        f"/status/{ORDERS}", params={"key": key, "body": "orders down for " + key}
    )
    assert response.status_code == 200

@pytest.mark.needs("test_orders")
def test_order_detail(target):
    assert target.http.get(f"/status/{ORDERS}").status_code == 200

@pytest.mark.probe(timeout=0.5)  # the one that times out: the others pass in 5 s
def test_search(target):
    target.http.get("/hang")

def test_cancel(target):
    target.http.post("/echo", json={"order": 1})
"""

# (agent, the orders endpoint's status): eu-1 sees it fail in its second run.
RUNS = [("eu-1", "200"), ("us-1", "200"), ("eu-1", "503"), ("us-1", "200")]


def make_suite(root: Path, url: str) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "sleuth.yaml").write_text(textwrap.dedent(SUITE.format(url=url)))
    (root / "deploy.env").write_text(
        f"API_KEY={CANARY_KEY}\n"
        f"DATABASE_URL=postgresql://app:{CANARY_DSN_PASSWORD}@db/orders\n"
    )
    (root / "test_shop.py").write_text(PROBES)


def run_suite(root: Path, history_url: str, *, agent: str, orders: str) -> None:
    """One real sleuth run, in its own process, stored under ``agent``."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLEUTH_", "PYTEST"))
    }
    env.update(ORDERS_STATUS=orders, PYTHONPATH=os.pathsep.join(sys.path))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sleuth",
            "run",
            "-p",
            "no:cacheprovider",
            "--history",
            history_url,
            "--agent",
            agent,
            "-q",
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode in (0, 1), done.stdout + done.stderr


def fill_history(root: Path, url: str, history_url: str) -> str:
    make_suite(root, url)
    for agent, orders in RUNS:
        run_suite(root, history_url, agent=agent, orders=orders)
    return history_url


@pytest.fixture(scope="session")
def incident_store(
    tmp_path_factory: pytest.TempPathFactory, _http_server: HttpTarget
) -> str:
    """A SQLite store of four real runs (see RUNS)."""
    root = tmp_path_factory.mktemp("web-suite")
    return fill_history(root, _http_server.url, f"sqlite:///{root}/.sleuth/history.db")
