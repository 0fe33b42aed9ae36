"""sleuth's lazy imports run one thread at a time (sleuth/engine/imports.py says why)."""

from __future__ import annotations

import sys
import textwrap
import threading

from sleuth.engine import imports

SLOW_MODULE = """
    import time

    import _import_log

    _import_log.spans.append(("enter", __name__, time.monotonic()))
    time.sleep(0.2)
    _import_log.spans.append(("exit", __name__, time.monotonic()))
"""


def test_two_threads_loading_modules_never_overlap(tmp_path, monkeypatch):
    (tmp_path / "_import_log.py").write_text("spans = []\n")
    for name in ("slow_one", "slow_two"):
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(SLOW_MODULE))
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("_import_log", "slow_one", "slow_two"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    start = threading.Barrier(2)

    def load(name: str) -> None:
        start.wait()
        imports.load(name)

    threads = [
        threading.Thread(target=load, args=(n,)) for n in ("slow_one", "slow_two")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    spans = sys.modules["_import_log"].spans
    events = [(event, name) for event, name, _ in spans]
    # One module's body ran whole before the other's began.
    assert events in (
        [
            ("enter", "slow_one"),
            ("exit", "slow_one"),
            ("enter", "slow_two"),
            ("exit", "slow_two"),
        ],
        [
            ("enter", "slow_two"),
            ("exit", "slow_two"),
            ("enter", "slow_one"),
            ("exit", "slow_one"),
        ],
    )


def test_a_module_loaded_while_loading_another_does_not_deadlock(tmp_path, monkeypatch):
    (tmp_path / "outer_mod.py").write_text(
        "from sleuth.engine import imports\ninner = imports.load('inner_mod')\n"
    )
    (tmp_path / "inner_mod.py").write_text("VALUE = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("outer_mod", "inner_mod"):
        monkeypatch.delitem(sys.modules, name, raising=False)

    assert imports.load("outer_mod").inner.VALUE == 42
