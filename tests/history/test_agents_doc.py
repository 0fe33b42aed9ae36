"""docs/agents.md: its manifests parse, its units name real options, and the
CronJob's command runs as written against a shared store."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from sleuth.history.options import AGENT_ENV, HISTORY_ENV
from sleuth.history.store import HistoryStore

DOC = Path(__file__).parents[2] / "docs" / "agents.md"


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(), flags=re.S)


def manifests() -> dict[str, Any]:
    found = {}
    for text in blocks("yaml"):
        for doc in yaml.safe_load_all(text):
            found[doc["kind"]] = doc
    return found


def containers(manifest: Any) -> list[Any]:
    spec = manifest["spec"]
    if manifest["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return list(spec["template"]["spec"]["containers"])


def test_the_manifests_parse_and_take_the_store_from_a_secret():
    found = manifests()
    assert sorted(found) == ["CronJob", "Deployment", "Secret"]
    secret = found["Secret"]["metadata"]["name"]
    for kind in ("Deployment", "CronJob"):
        (container,) = containers(found[kind])
        env = {e["name"]: e for e in container["env"]}
        ref = env[HISTORY_ENV]["valueFrom"]["secretKeyRef"]
        assert ref["name"] == secret
        assert ref["key"] in found["Secret"]["stringData"]
        command = " ".join(container.get("command", []) + container.get("args", []))
        assert "--history" not in command  # never on a command line
        assert "--agent" in command
        mounts = {m["mountPath"] for m in container["volumeMounts"]}
        assert f"{container['workingDir']}/.sleuth" in mounts  # the buffer


def exec_starts() -> list[list[str]]:
    lines = [
        line.split("=", 1)[1]
        for text in blocks("ini")
        for line in text.splitlines()
        if line.startswith("ExecStart=")
    ]
    return [shlex.split(line) for line in lines]


def run_options() -> str:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--help", "-p", "no:cacheprovider"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=DOC.parent,
    )
    return done.stdout


def test_the_units_run_sleuth_with_real_options_and_the_env_file_names_real_variables():
    starts = exec_starts()
    assert {words[1] for words in starts} == {"run", "watch"}
    known = run_options()
    for words in starts:
        assert words[0].endswith("/sleuth")
        if words[1] != "run":
            continue  # `sleuth watch` has its own options (watch/)
        for word in words[2:]:
            if word.startswith("--"):
                assert re.search(rf"\s{re.escape(word)}[\s=,]", known), word
    env_file = next(b for b in blocks("ini") if b.startswith("SLEUTH_"))
    names = [line.split("=", 1)[0] for line in env_file.splitlines() if line]
    assert names == [HISTORY_ENV, AGENT_ENV]
    units = "".join(blocks("ini"))
    for key in ("Restart=on-failure", "EnvironmentFile=/etc/sleuth/agent.env"):
        assert key in units


def _health_suite(root: Path, base_url: str) -> str:
    """A one-probe suite in ``root``; the installed ``sleuth`` to run it with."""
    (root / "sleuth.yaml").write_text(f"targets:\n  local:\n    base_url: {base_url}\n")
    (root / "test_api.py").write_text(
        "def test_health(target):\n"
        "    assert target.http.get('/status/200').status_code == 200\n"
    )
    sleuth = shutil.which("sleuth", path=str(Path(sys.executable).parent))
    assert sleuth is not None
    return sleuth


@pytest.mark.services
def test_the_cronjobs_command_runs_as_written(pg_url, tmp_path, http_target):
    (container,) = containers(manifests()["CronJob"])
    args = container["args"]
    assert args[:2] == ["sleuth", "run"]
    sleuth = _health_suite(tmp_path, http_target.url)
    done = subprocess.run(
        [sleuth, *args[1:], "-p", "no:cacheprovider"],
        cwd=tmp_path,
        env={**os.environ, HISTORY_ENV: pg_url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    store = HistoryStore.open(pg_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        assert [r.agent for r in store.runs()] == [args[args.index("--agent") + 1]]
    finally:
        store.close()


def _watch_commands() -> dict[str, list[str]]:
    """The documented ``sleuth watch`` commands, their variables as the
    Deployment and the unit set them."""
    (container,) = containers(manifests()["Deployment"])
    shell = container["command"]
    assert shell[:2] == ["sh", "-c"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    deployment = shlex.split(shell[2].replace("$NODE_REGION", env["NODE_REGION"]))
    assert deployment[0] == "exec"
    (unit,) = [words for words in exec_starts() if words[1] == "watch"]
    unit = [w.replace("${SLEUTH_AGENT}", "us-1") for w in unit]
    return {"Deployment": deployment[1:], "systemd unit": unit}


@pytest.mark.services
def test_the_documented_watches_run_as_written(pg_url, tmp_path, http_target):
    sleuth = _health_suite(tmp_path, http_target.url)
    agents = []
    for where, words in _watch_commands().items():
        assert words[:2] in (["sleuth", "watch"], ["/opt/sleuth/bin/sleuth", "watch"])
        agents.append(words[words.index("--agent") + 1])
        # As written, for one cycle (the watch starts it at once).
        done = subprocess.run(
            [sleuth, *words[1:], "--cycles", "1", "-p", "no:cacheprovider"],
            cwd=tmp_path,
            env={**os.environ, HISTORY_ENV: pg_url},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, f"{where}: {done.stdout}{done.stderr}"
        assert "cycle 1 " in done.stdout, where
    store = HistoryStore.open(pg_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        assert sorted(r.agent for r in store.runs()) == sorted(agents)
    finally:
        store.close()
    assert sorted(agents) == ["eu-1", "us-1"]
