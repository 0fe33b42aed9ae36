"""The app's own settings function, seen when probes call it directly.

A target whose source is ``app: my_app.config:get_setting`` reads settings
through the app's function; the seed article's probes call that same function
themselves (``from my_app.config import get_setting``, then
``get_setting(name)``). For the run, every reference to the function in the
modules already imported is swapped for a wrapper, so that a probe's call is
recorded like ``target.setting``'s (where it was looked, close names on a
miss) and its value is known to the secret registry before the probe can print
it. The probe gets exactly what the function gives: the same value (not a
``Secret``), the same exception.

Test modules bind the function when they are imported, at collection, so
replacing the module's attribute alone would miss them: ``install`` scans the
globals of every loaded module for the function itself (``is``), and
``Installed.undo`` puts the original back wherever the wrapper is, at the end
of the run. A module that was never imported holds no reference: nothing is
imported here. Calls outside a probe (fixtures at collection, the app's own
code at import) are not recorded, but their values are still masked.
"""

from __future__ import annotations

import contextvars
import dataclasses
import functools
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from sleuth.engine import context as _context
from sleuth.settings import Found, SettingsResolver, SourceUnavailable
from sleuth.settings.app import AppSource, answer_of

if TYPE_CHECKING:
    from types import ModuleType

# Set while the wrapper runs: an app function that calls itself through its
# module's global (a fallback, a prefix) is one lookup, not several.
_inside: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "sleuth_inside_app_settings", default=False
)


@dataclasses.dataclass(slots=True)
class Installed:
    """The swaps made for one run, to be undone at its end."""

    swaps: list[tuple[Callable[..., Any], Callable[..., Any]]] = dataclasses.field(
        default_factory=list
    )  # (original, wrapper)

    @property
    def functions(self) -> list[Callable[..., Any]]:
        return [original for original, _ in self.swaps]

    def undo(self, extra: Iterable[ModuleType] = ()) -> None:
        """Put every original back, also where a module imported later took the
        wrapper (``from app.config import get_setting`` inside a probe)."""
        for original, wrapper in self.swaps:
            _replace(wrapper, original, extra)
        self.swaps.clear()


def install(resolver: SettingsResolver, extra: Iterable[ModuleType] = ()) -> Installed:
    """Wrap each app settings function of ``resolver`` wherever it is bound.

    ``extra`` names modules that may not be in ``sys.modules`` (test modules
    collected with ``--import-mode=importlib`` on older pytest).
    """
    extra = list(extra)
    installed = Installed()
    for source in resolver.sources:
        if not isinstance(source, AppSource) or source.module_name not in sys.modules:
            continue
        try:
            original = source.function()
        except SourceUnavailable:
            continue  # the source says so itself when a setting is looked up
        if any(original is done for done in installed.functions):
            continue
        wrapper = _wrap(original, source, resolver)
        if _replace(original, wrapper, extra):
            installed.swaps.append((original, wrapper))
    return installed


def _replace(old: object, new: object, extra: Iterable[ModuleType]) -> int:
    """Rebind every module global that is ``old`` to ``new``; how many."""
    count = 0
    seen: set[int] = set()
    for module in [*list(sys.modules.values()), *extra]:
        namespace = getattr(module, "__dict__", None)
        if not isinstance(namespace, dict) or id(namespace) in seen:
            continue
        seen.add(id(namespace))
        for key, value in list(namespace.items()):
            if value is old:
                namespace[key] = new
                count += 1
    return count


def _wrap(
    original: Callable[..., Any], source: AppSource, resolver: SettingsResolver
) -> Callable[..., Any]:
    @functools.wraps(original)
    def seen_by_sleuth(*args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        name = args[0] if args else kwargs.get("name")
        if _inside.get() or not isinstance(name, str):
            return original(*args, **kwargs)
        ctx = _context.current.get()
        token = _inside.set(True)
        try:
            if ctx is None:
                value = original(*args, **kwargs)
            else:
                with ctx.waiting_on(f"{source.label} for {name}"):
                    value = original(*args, **kwargs)
        except KeyError:
            if ctx is not None:
                _record(
                    ctx,
                    resolver,
                    source,
                    name,
                    Found("absent", detail="raised KeyError"),
                )
            raise
        except Exception as exc:
            if ctx is not None:
                found = Found("error", detail=f"{type(exc).__name__}: {exc}")
                _record(ctx, resolver, source, name, found)
            raise
        finally:
            _inside.reset(token)
        if ctx is None:
            if value is not None:
                resolver.tell(name, value, source)
        else:
            _record(ctx, resolver, source, name, answer_of(value))
        return value

    return seen_by_sleuth


def _record(
    ctx: _context.ProbeContext,
    resolver: SettingsResolver,
    source: AppSource,
    name: str,
    found: Found,
) -> None:
    ctx.record_setting(resolver.answered(name, source, found))
