"""Every file a run leaves is readable as open() would have made it.

node_exporter, a log shipper or a colleague reading a report often runs as
another user: a file made 0600 is one they cannot read. The run goes in a
child process started with the umask under test (the umask is process-wide).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

CONFIG = """
targets:
  local:
    base_url: http://127.0.0.1:9
    timeout: 2s
"""

PROBES = """
def test_region_is_set(target):
    assert target.setting("DEPLOY_REGION") == "eu-west-1"
"""

OUTPUTS = ["--sleuth-json", "out/run.json", "--sleuth-report", "incident.md",
           "--sleuth-metrics", "metrics/sleuth.prom"]  # fmt: skip


def run(suite: Path, umask: int) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *OUTPUTS],
        cwd=suite,
        umask=umask,
        env={**os.environ, "DEPLOY_REGION": "eu-west-1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def modes(root: Path, *, written_by_test: set[str]) -> dict[str, int]:
    found = {}
    for path in sorted(root.rglob("*")):
        name = path.relative_to(root).as_posix()
        if name in written_by_test or "__pycache__" in path.parts:
            continue
        found[name] = stat.S_IMODE(path.stat().st_mode)
    return found


@pytest.mark.parametrize(
    "umask", [pytest.param(0o022, id="022"), pytest.param(0o027, id="027")]
)
def test_outputs_history_and_cache_follow_the_umask(tmp_path, umask):
    (tmp_path / "sleuth.yaml").write_text(textwrap.dedent(CONFIG))
    (tmp_path / "test_probes.py").write_text(textwrap.dedent(PROBES))

    run(tmp_path, umask)
    run(tmp_path, umask)  # the second run keeps sleuth.yaml's parse in .sleuth/

    file_mode, dir_mode = 0o666 & ~umask, 0o777 & ~umask
    found = modes(tmp_path, written_by_test={"sleuth.yaml", "test_probes.py"})
    assert found == {
        ".sleuth": dir_mode,
        ".sleuth/.gitignore": file_mode,
        ".sleuth/history.db": file_mode,
        ".sleuth/sleuth.yaml.parsed": file_mode,
        "incident.md": file_mode,
        "metrics": dir_mode,
        "metrics/sleuth.prom": file_mode,
        "out": dir_mode,
        "out/run.json": file_mode,
    }
    # Written whole: each reads as what it is.
    assert json.loads((tmp_path / "out/run.json").read_text())["run"]["counts"] == {
        "passed": 1
    }
    assert "sleuth_probe_success" in (tmp_path / "metrics/sleuth.prom").read_text()


def test_a_metrics_file_made_readable_by_an_operator_stays_so(tmp_path):
    # chmod 644 once, so node_exporter (another user) reads it; runs from a
    # shell with umask 077 replace it every time and must not lock it away.
    (tmp_path / "sleuth.yaml").write_text(textwrap.dedent(CONFIG))
    (tmp_path / "test_probes.py").write_text(textwrap.dedent(PROBES))
    run(tmp_path, 0o077)
    metrics = tmp_path / "metrics" / "sleuth.prom"
    assert stat.S_IMODE(metrics.stat().st_mode) == 0o600
    metrics.chmod(0o644)
    before = metrics.stat().st_ino

    run(tmp_path, 0o077)

    assert metrics.stat().st_ino != before  # replaced, not written in place
    assert stat.S_IMODE(metrics.stat().st_mode) == 0o644
