"""docs/serve.md: its Python example runs as shown."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

DOC = (Path(__file__).parents[2] / "docs" / "serve.md").read_text()


def test_the_python_example_prints_what_the_doc_says(incident_store: str):
    blocks = re.findall(r"```python\n(.*?)```", DOC, re.S)
    assert len(blocks) == 1
    after = DOC.split(blocks[0], 1)[1]
    said = re.search(r"\n```\n(.*?)\n```", after, re.S)
    assert said is not None
    root = Path(incident_store[len("sqlite:///") :]).parents[1]
    done = subprocess.run(
        [sys.executable, "-c", blocks[0]],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == said[1].strip()


def test_the_curl_examples_answer_what_the_doc_says(incident_store: str):
    # The doc's store is the one these tests fill: eu-1 saw the orders
    # endpoint fail, us-1 did not; both saw the hung search and refused write.
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Starlette's client asks for httpx2
        from starlette.testclient import TestClient

    from sleuth.web.app import create_app

    shown = re.findall(
        r"^\$ curl -s '(http://[^/]+)(/[^']*)'\n(.*?)(?=^\$|^```)", DOC, re.S | re.M
    )
    assert len(shown) == 3
    with TestClient(create_app(incident_store)) as client:
        for _base, path, said in shown:
            assert client.get(path).text == said, path


def test_the_doc_names_every_route_and_metric():
    from sleuth.web.app import create_app

    app = create_app("sqlite:///unused.db")
    for route in app.routes:
        path = getattr(route, "path", "")
        shown = path.replace("{probe_id:path}", "<id>").replace("{target}", "<target>")
        assert f"`{shown}" in DOC, path
    for metric in (
        "sleuth_probe_success",
        "sleuth_probe_duration_seconds",
        "sleuth_run_timestamp_seconds",
    ):
        assert metric in DOC
