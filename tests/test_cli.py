from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from sleuth.cli.commands import group as main
from sleuth.cli.runargs import translate_run_args


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--target", "prod", "-k", "x"], ["--sleuth-target", "prod", "-k", "x"]),
        (["--target=prod"], ["--sleuth-target=prod"]),
        (
            ["--timeout", "2s", "--budget", "30s"],
            ["--sleuth-timeout", "2s", "--budget", "30s"],
        ),
        (["--allow-writes", "tests/x.py::t"], ["--allow-writes", "tests/x.py::t"]),
        (
            ["--workers=8", "--config", "s.yaml"],
            ["--sleuth-workers=8", "--sleuth-config", "s.yaml"],
        ),
    ],
)
def test_run_short_options_become_pytest_options(args, expected):
    assert translate_run_args(args) == expected


def test_run_help_mentions_pytest_options():
    result = CliRunner().invoke(main, ["run", "--help"])
    assert result.exit_code == 0
    assert "Every pytest option is accepted too" in result.output
    assert "--target" in result.output


def test_run_without_a_suite_still_runs_pytest(tmp_path):
    (tmp_path / "test_x.py").write_text("def test_x():\n    pass\n")
    result = subprocess.run(
        [sys.executable, "-m", "sleuth", "run", "-q", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    assert "1 passed" in result.stdout


def test_demo_diagnoses_its_staged_incident(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "sleuth", "demo"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert out.count("[found]") == 3
    assert (
        "FEATURE_FLAG_X: missing. Looked in environment (prefix SHOP_): absent; dotenv deploy.env: absent. Close names that exist: FEATURE_FLAGX (dotenv deploy.env)."
        in out
    )
    assert "/orders -> 500 Internal Server Error" in out
    assert "timed out after 2.0 s waiting for GET http://127.0.0.1:" in out
    assert "and 6 probes found the rest healthy." in out
    assert (
        "likely root causes:\n  1. settings: FEATURE_FLAG_X: missing (blocks 1 probe)"
        in out
    )
    assert "1 failed, 6 passed, 1 error, 1 blocked" in out
    assert "Traceback" not in result.stderr


def test_run_names_its_plugin_when_autoloading_is_off():
    from sleuth.cli.runargs import run_args

    assert run_args(["--target", "prod"], {}) == [
        "--sleuth-run", "--sleuth-target", "prod",
    ]  # fmt: skip
    assert run_args(["-k", "x"], {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}) == [
        "-p", "sleuth.plugin", "--sleuth-run", "-k", "x",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["-q"], False),
        (["-n", "2"], True),
        (["-n2"], True),
        (["-nauto"], True),
        (["--numprocesses=auto"], True),
        (["-n", "0"], False),
        (["-n0"], False),
        (["--dist", "no"], False),
        (["--dist=worksteal", "--tx", "popen"], True),
        (["--tx=ssh=probe@host"], True),
        (["-k", "n"], False),
    ],
)
def test_run_knows_when_xdist_makes_the_requests(args, expected):
    from sleuth.cli.runargs import hands_tests_to_xdist

    assert hands_tests_to_xdist(args) is expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--target", "prod"], "prod"),
        (["-q", "--target=prod"], "prod"),
        (["--sleuth-target", "eu"], "eu"),
        (["--sleuth-target=eu", "--target", "us"], "us"),  # argparse takes the last
        (["--targets", "x"], None),  # another option, not a prefix match
        (["--target"], None),  # no value: pytest says so, not us
        (["-k", "target"], None),
    ],
)
def test_an_option_value_is_read_from_pytest_arguments(args, expected):
    from sleuth.suite.discovery import option_value

    assert option_value(args, "--target", "--sleuth-target") == expected


def settings_suite(path: Path) -> None:
    """A one-probe suite reading a setting from the environment, in ``path``."""
    (path / "sleuth.yaml").write_text("targets:\n  t:\n    sources: [env]\n")
    (path / "test_x.py").write_text(
        "def test_x(target):\n    assert target.setting('PATH')\n"
    )


def run_without_autoloading(path: Path) -> subprocess.CompletedProcess[str]:
    """``sleuth run -q --no-history`` in ``path``, pytest's plugin autoloading off."""
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    return subprocess.run(
        [sys.executable, "-m", "sleuth", "run", "-q", "-p", "no:cacheprovider", "--no-history"],
        cwd=path, capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip


def test_run_works_with_autoloading_off(tmp_path):
    settings_suite(tmp_path)
    result = run_without_autoloading(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


EXIT_CONFTEST = """\
import atexit
import gc
import threading
import time

# Never closed: the interpreter flushes it as it tears the module down.
LOG = open("exit.log", "w")


def _at_exit():
    LOG.write(f"atexit ran, objects frozen: {gc.get_freeze_count() > 0}\\n")


atexit.register(_at_exit)


def _late():
    time.sleep(0.2)
    LOG.write("a thread still running at the end finished\\n")


def pytest_unconfigure(config):
    threading.Thread(target=_late).start()
"""


def test_a_run_ends_with_its_objects_frozen_and_nothing_lost(tmp_path):
    """``sleuth run`` freezes what is alive before it exits, so the
    interpreter's shutdown does not walk it all again; a thread still running
    is waited for, atexit handlers run, an unclosed file is flushed."""
    settings_suite(tmp_path)
    (tmp_path / "conftest.py").write_text(EXIT_CONFTEST)
    result = run_without_autoloading(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "exit.log").read_text().splitlines() == [
        "a thread still running at the end finished",
        "atexit ran, objects frozen: True",
    ]


def modules_a_run_loads(path: Path, *args: str, runs: int = 1) -> set[str]:
    """The modules in ``sys.modules`` as the last of ``runs`` runs of the
    settings suite in ``path`` (``sleuth run -q ARGS``) ends."""
    settings_suite(path)
    (path / "loaded.py").write_text(
        "import sys\n\n"
        "def pytest_unconfigure(config):\n"
        "    with open('modules.txt', 'w') as out:\n"
        "        out.write('\\n'.join(sorted(sys.modules)))\n"
    )
    # Without coverage's subprocess hook (make test runs under it), which loads
    # sysconfig itself: what is measured is what sleuth loads.
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")}
    env |= {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONPATH": "."}
    for _ in range(runs):
        result = subprocess.run(
            [sys.executable, "-m", "sleuth", "run", "-q", "-p", "no:cacheprovider", "-p", "loaded", *args],
            cwd=path, capture_output=True, text=True, timeout=60, env=env,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
    loaded = set((path / "modules.txt").read_text().split())
    assert "sleuth.plugin.session" in loaded  # the run was sleuth's
    return loaded


def test_a_settings_suite_run_loads_no_http_stack(tmp_path):
    # What a run starts with is what `sleuth run -k settings` waits for in an
    # incident: the stdlib HTTP client (and with it ssl and the email parser),
    # the HTTP worker, alerts and sysconfig are loaded only when used.
    # Two runs: the first makes the history store (with SQLAlchemy).
    loaded = modules_a_run_loads(tmp_path, runs=2)
    assert "sleuth.history.store" in loaded  # the history recorded this run
    lazy = {"http.client", "ssl", "email.parser", "aiohttp", "sysconfig"}
    lazy |= {"sleuth.http.worker", "sleuth.suite.alerts", "sleuth.clients.stdlib"}
    assert sorted(lazy & loaded) == []


def test_a_run_without_a_history_loads_only_its_options(tmp_path):
    # --no-history (and every xdist worker, which leaves the history to the
    # controller) reads the history options and nothing else of it.
    loaded = modules_a_run_loads(tmp_path, "--no-history")
    history = sorted(name for name in loaded if name.startswith("sleuth.history"))
    assert history == ["sleuth.history", "sleuth.history.options"]


def test_a_pytest_run_outside_a_suite_loads_only_the_plugins_entry(tmp_path):
    # The plugin is on in every pytest run where sleuth is installed: a
    # project's own tests, with no sleuth.yaml, pay for its entry point alone.
    (tmp_path / "test_x.py").write_text("def test_x():\n    pass\n")
    (tmp_path / "loaded.py").write_text(
        "import sys\n\n"
        "def pytest_unconfigure(config):\n"
        "    with open('modules.txt', 'w') as out:\n"
        "        out.write('\\n'.join(sorted(sys.modules)))\n"
    )
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONPATH": "."}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "-p", "sleuth.plugin", "-p", "loaded"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    loaded = set((tmp_path / "modules.txt").read_text().split())
    assert "sleuth.plugin" in loaded
    ours = sorted(name for name in loaded if name.startswith("sleuth"))
    assert ours == [
        "sleuth",
        "sleuth._compat",
        "sleuth._compat.rewriting",
        "sleuth.errors",
        "sleuth.plugin",
        "sleuth.plugin.keys",
        "sleuth.suite",
        "sleuth.suite.discovery",
    ]


@pytest.mark.parametrize("autoload", [True, False], ids=["autoload", "no-autoload"])
def test_a_run_does_not_rewrite_sleuths_own_modules(tmp_path, autoload):
    # pytest marks a plugin's package for assertion rewriting: each sleuth
    # module would be parsed and compiled again by every run that cannot keep
    # pytest's .pyc (PYTHONDONTWRITEBYTECODE, a read-only site-packages).
    settings_suite(tmp_path)
    (tmp_path / "loaders.py").write_text(
        "import sys\n\n"
        "def pytest_unconfigure(config):\n"
        "    with open('rewritten.txt', 'w') as out:\n"
        "        for name, module in sorted(sys.modules.items()):\n"
        "            loader = type(getattr(module, '__loader__', None)).__name__\n"
        "            if loader == 'AssertionRewritingHook':\n"
        "                out.write(name + '\\n')\n"
    )
    env = {**os.environ, "PYTHONPATH": ".", "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
    if not autoload:
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    result = subprocess.run(
        [sys.executable, "-m", "sleuth", "run", "-q", "-p", "no:cacheprovider",
         "--no-history", "-p", "loaders"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    rewritten = (tmp_path / "rewritten.txt").read_text().split()
    assert "test_x" in rewritten  # the suite's own asserts still are
    # Only what loads with the plugin's entry, before pytest asks it for its
    # options: the rest of sleuth (the session, the engine, ...) is not.
    ours = {name for name in rewritten if name.startswith("sleuth")}
    assert "sleuth.plugin.session" not in ours
    assert ours <= {"sleuth.plugin", "sleuth.plugin.keys", "sleuth.suite",
                    "sleuth.suite.discovery", "sleuth._compat",
                    "sleuth._compat.rewriting"}, ours  # fmt: skip


def _run(cwd, *args):
    return subprocess.run(
        [sys.executable, "-m", *args, "-p", "no:cacheprovider"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_run_without_a_suite_says_so_and_runs_with_sleuth(tmp_path):
    (tmp_path / "test_x.py").write_text(
        "def test_x(target):\n    assert target.setting('SLEUTH_TEST_VALUE') == 'v'\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "sleuth", "run", "-p", "no:cacheprovider",
         "--no-history", "--sleuth-json", "run.json", "--sleuth-report", "run.md",
         "--sleuth-metrics", "run.prom"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "SLEUTH_TEST_VALUE": "v"},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    said = [line for line in result.stdout.splitlines() if "no sleuth.yaml" in line]
    assert said == [
        f"sleuth: no sleuth.yaml (nor pyproject.toml with [tool.sleuth]) in "
        f"{tmp_path} or its parents: running with defaults (settings from the "
        f"environment, no base_url)"
    ]
    assert "sleuth: timeout 5 s (default)" in result.stdout
    document = json.loads((tmp_path / "run.json").read_text())
    assert [p["outcome"] for p in document["probes"]] == ["passed"]
    assert (tmp_path / "run.md").read_text().startswith("#")
    assert "sleuth_probe_success" in (tmp_path / "run.prom").read_text()


def test_plain_pytest_outside_a_suite_is_untouched_unless_asked(tmp_path):
    (tmp_path / "test_x.py").write_text("def test_x():\n    pass\n")
    plain = _run(tmp_path, "pytest")
    assert plain.returncode == 0
    assert "sleuth" not in plain.stdout.replace("sleuth-", "")  # only the plugin list
    asked = _run(tmp_path, "pytest", "--sleuth-json", "run.json")
    assert asked.returncode == 0
    assert "no sleuth.yaml" in asked.stdout
    assert json.loads((tmp_path / "run.json").read_text())["probes"][0]["outcome"] == (
        "passed"
    )
