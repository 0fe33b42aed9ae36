"""docs/config.md and docs/tables.md: the anchors and merge keys examples run as shown."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sleuth.errors import ConfigError
from sleuth.rows import load_table
from sleuth.suite.config import load_suite_config
from sleuth.suite.writes import is_intended_write

DOCS = Path(__file__).parents[1] / "docs"


def example(doc: str, first_line: str) -> str:
    """The ```yaml block of ``doc`` that starts with ``first_line``."""
    text = (DOCS / doc).read_text()
    for block in re.findall(r"```yaml\n(.*?)```", text, re.DOTALL):
        if block.startswith(first_line):
            return str(block)
    raise AssertionError(f"no example starting {first_line!r} in {doc}")


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "sleuth.yaml"
    path.write_text(example("config.md", "# sleuth.yaml\nx-common:"))
    return path


def test_the_merge_key_example_reads_as_it_says(config):
    suite = load_suite_config(config, environ={})
    prod, staging = suite.targets["prod"], suite.targets["staging"]
    assert (prod.timeout_s, staging.timeout_s) == (3.0, 10.0)
    assert prod.headers == staging.headers == {"X-Probe": "sleuth"}
    assert staging.base_url == "https://staging.example.com"
    assert [s.kind for s in prod.sources] == ["env"]


def test_the_error_shown_is_the_one_sleuth_gives(config):
    config.write_text(config.read_text().replace("timeout: 3s", "timeout: soon"))
    with pytest.raises(ConfigError) as caught:
        load_suite_config(config, environ={})
    assert f"ERROR: {caught.value}" in (DOCS / "config.md").read_text()


def test_the_table_example_merges_a_row_template(tmp_path):
    path = tmp_path / "api.yaml"
    path.write_text(example("tables.md", "# probes/api.yaml\nx-row:"))
    rows = load_table(path, display="probes/api.yaml", environ={})
    assert [(r.id, r.timeout_s, r.tags) for r in rows] == [
        ("GET /health", 2.0, ("smoke",)),
        ("GET /users/123", 2.0, ("smoke",)),
    ]


def test_the_writes_example_names_the_probes_it_says(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "sleuth.yaml"
    path.write_text(example("config.md", "# sleuth.yaml\nwrites:"))
    suite = load_suite_config(path, environ={})

    def named(nodeid: str) -> bool:
        file = tmp_path / nodeid.partition("::")[0]
        return is_intended_write(nodeid, file, suite.writes, suite.root)

    # The seed article's ids: endpoint-method-payload-status.
    assert named("test_api.py::test_api_endpoints[/users-POST-payload0-201]")
    assert named("test_api.py::test_api_endpoints[/items-POST-payload2-201]")
    assert not named("test_api.py::test_api_endpoints[/users/123-GET-None-200]")
    assert named("test_orders.py::TestRefunds::test_refund[eur]")
    assert not named("test_orders.py::TestOrders::test_list")


def test_the_writes_error_shown_is_the_one_sleuth_gives(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "sleuth.yaml"
    path.write_text(
        "targets:\n  prod:\n    base_url: http://x\n    timeout: 2s\n"
        "writes: test_api.py::*\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_suite_config(path, environ={})
    assert f"ERROR: {caught.value}" in (DOCS / "config.md").read_text()
