"""Where each value of the app's settings model came from.

After the model is built, each of its pydantic-settings sources (the app's
own, in its order) is read once more to see what it holds: the first source
holding a field is the one whose value the app got. A dotenv source reading
several files is said per file, the last file to set a name winning, as
pydantic-settings reads them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sleuth.settings import modeltext

MISSING: Any = object()
State = tuple[
    str, dict[str, Any]
]  # (the source as the evidence names it, what it holds)


def states(used: list[Any], model: type[Any], env: Any) -> list[State]:
    """What each source holds, in the app's order (the first one wins)."""
    case_sensitive = bool(getattr(env, "case_sensitive", False))
    delimiter = getattr(env, "env_nested_delimiter", None) or ""
    said: list[State] = []
    for source in used:
        state = _state_of(source)
        files = _dotenv_files(source)
        if len(files) > 1:  # said per file: which one the value came from
            names = {
                key: [e for _, e, _ in env._extract_field_info(info, name)]
                for name, info in model.model_fields.items()
                for key in modeltext.keys(name, info)
            }
            said.extend(
                _per_file(state, files, names, delimiter, case_sensitive, source)
            )
        else:
            said.append((modeltext.label(source), state))
    return said


def _state_of(source: Any) -> dict[str, Any]:
    try:
        state = source()
    except Exception:  # the build already said what was wrong
        return {}
    return state if isinstance(state, dict) else {}


def _dotenv_files(source: Any) -> list[Any]:
    from pydantic_settings import DotEnvSettingsSource

    if not isinstance(source, DotEnvSettingsSource) or not source.env_file:
        return []
    files = source.env_file
    return list(files) if isinstance(files, (list, tuple)) else [files]


def _per_file(
    state: dict[str, Any],
    files: list[Any],
    env_names: dict[str, list[str]],
    delimiter: str,
    case_sensitive: bool,
    source: Any,
) -> list[tuple[str, dict[str, Any]]]:
    """A dotenv source reading several files, as one state per file, the file
    that wins (the last to set a name, as pydantic-settings reads them) first."""
    from dotenv import dotenv_values

    fold = (lambda text: text) if case_sensitive else str.casefold
    split = []
    for file in reversed(files):
        path = Path(file).expanduser()
        if not path.is_file():
            continue
        held = {fold(k) for k in dotenv_values(path, encoding=source.env_file_encoding)}
        mine = {
            key: value
            for key, value in state.items()
            if any(
                fold(e) in held
                or (delimiter and any(h.startswith(fold(e) + delimiter) for h in held))
                for e in env_names.get(key, [key])
            )
        }
        split.append((f"dotenv {file}", mine))
    return split


def origin(states: list[State], keys: list[str], rest: tuple[str, ...] = ()) -> str:
    """The first source (the one that wins) holding the field, or its leaf."""
    for label, state in states:
        for key in keys:
            held: Any = state.get(key, MISSING)
            for part in rest:
                held = held.get(part, MISSING) if isinstance(held, dict) else MISSING
            if held is not MISSING:
                return label
    return ""
