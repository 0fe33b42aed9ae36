"""The app's own settings: the environment first, then the deployed file."""

from __future__ import annotations

import os
from pathlib import Path

DEPLOYED = Path(
    os.environ.get("MY_APP_SETTINGS", Path(__file__).with_name("deploy.env"))
)


def _deployed() -> dict[str, str]:
    if not DEPLOYED.is_file():
        return {}
    values = {}
    for line in DEPLOYED.read_text().splitlines():
        if line.strip() and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def get_setting(name: str) -> str | None:
    return os.environ.get(name) or _deployed().get(name)
