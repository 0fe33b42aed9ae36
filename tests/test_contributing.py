"""CONTRIBUTING.md and the pre-commit hooks say what the repository does."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).parents[1]


def make_lint_commands() -> list[str]:
    """The commands of the Makefile's ``lint`` target, with ``$(BIN)`` spelled out."""
    text = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^lint:.*\n((?:\t.*\n)+)", text, re.MULTILINE)
    assert recipe is not None, "the Makefile has no lint target"
    return [
        line.strip().replace("$(BIN)", ".venv/bin")
        for line in recipe.group(1).splitlines()
    ]


def test_the_pre_commit_hooks_run_the_checks_make_test_runs():
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    [repo] = config["repos"]
    assert repo["repo"] == "local"  # nothing fetched when the hooks install
    entries = [hook["entry"] for hook in repo["hooks"]]
    assert entries == make_lint_commands()
    assert all(hook["pass_filenames"] is False for hook in repo["hooks"])


def test_the_readme_links_contributing():
    readme = (ROOT / "README.md").read_text()
    developing = readme[readme.index("## Developing") :]
    assert "(CONTRIBUTING.md)" in developing


def test_every_file_contributing_names_exists():
    text = (ROOT / "CONTRIBUTING.md").read_text()
    # Paths from the repository's root, or from src/sleuth/ ("probes/http.py").
    named = set(re.findall(r"`([\w./-]+(?:\.py|\.md|\.json|\.yaml|/))`", text))
    assert {"plugin/keys.py", "src/sleuth/errors.py", "rows/"} <= named
    places = [ROOT, ROOT / "src" / "sleuth"]
    missing = [
        name
        for name in sorted(named)
        if not any((place / name).exists() for place in places)
    ]
    assert missing == []


def test_the_layers_table_is_the_one_the_layer_test_enforces():
    from tests.test_layers import LAYERS

    text = (ROOT / "CONTRIBUTING.md").read_text()
    section = text[text.index("## The layers") :]
    rows = re.findall(r"^\| (?!layer |---)[^|]+\| ([^|]+) \|", section, re.MULTILINE)
    # A row's packages and modules at the root of src/sleuth/: `cli/`, `target.py`
    # (not the files inside a package, such as `cli/commands.py`).
    names = [
        {
            name.removesuffix("/").removesuffix(".py")
            for name in re.findall(r"`([\w.]+/?)`", row)
            if name.endswith(("/", ".py"))
        }
        for row in rows
    ]
    assert names == LAYERS


def test_the_readme_tree_lists_the_layers_in_order():
    from tests.test_layers import LAYERS

    readme = (ROOT / "README.md").read_text()
    tree = readme[
        readme.index("src/sleuth/\n") : readme.index(
            "```", readme.index("src/sleuth/\n")
        )
    ]
    listed = [
        {
            word.removesuffix("/").removesuffix(".py")
            for word in line.strip().split("  ")[0].split()
        }
        for line in tree.splitlines()[1:]
    ]
    # The last line sums up the shared modules; the test's last layer names them all.
    assert listed[:-1] == LAYERS[:-1]
    assert {"errors", "redact", "_compat"} <= listed[-1]
