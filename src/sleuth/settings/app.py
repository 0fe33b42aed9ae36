"""Settings from the application's own function, e.g. ``my_app.config:get_setting``.

The module is imported from the suite's directory, the way the app's tests
import it, when the first setting is looked up. ``KeyError`` means absent.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from sleuth.engine import imports
from sleuth.settings import Found, SourceUnavailable
from sleuth.suite.sources import SourceSpec


class AppSource:
    def __init__(self, spec: SourceSpec, *, root: Path) -> None:
        self.spec = spec
        self.root = root
        self.is_secret = bool(spec.options.get("secret", False))
        self.label = f"app {spec.location}"
        self.where = spec.where
        self._function: Callable[[str], Any] | None = None
        self._lock = threading.Lock()

    @property
    def module_name(self) -> str:
        return self.spec.location.partition(":")[0]

    def function(self) -> Callable[[str], Any]:
        """The app's function itself (imported on first use).

        Raises:
            SourceUnavailable: it cannot be imported or is not a function.
        """
        return self._get_function()

    def _get_function(self) -> Callable[[str], Any]:
        with self._lock:
            if self._function is None:
                module_name, _, attribute = self.spec.location.partition(":")
                root = str(self.root)
                if root not in sys.path:
                    sys.path.insert(0, root)
                try:
                    target: Any = imports.load(module_name)
                except Exception as exc:  # its own import may fail too
                    raise SourceUnavailable(
                        f"cannot be imported ({type(exc).__name__}: {exc})"
                    ) from exc
                for part in attribute.split("."):
                    if not hasattr(target, part):
                        raise SourceUnavailable(
                            f"has no {part!r}: {module_name} imports, but "
                            f"{attribute} is not in it"
                        )
                    target = getattr(target, part)
                if not callable(target):
                    raise SourceUnavailable(f"is not callable: {attribute} is a value")
                self._function = target
            return self._function

    def lookup(self, name: str) -> Found:
        function = self._get_function()
        try:
            value = function(name)
        except KeyError:
            return Found("absent", detail="raised KeyError")
        return answer_of(value)

    def names(self) -> Iterable[str]:
        return []


def answer_of(value: Any) -> Found:
    """What the app's function returning ``value`` means: None is absent."""
    return Found.of(value, detail="returned None" if value is None else "")
