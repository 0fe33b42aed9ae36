"""The options of one run, resolved once from every place they can be given.

Precedence is marker > command line > environment > config file > default
(pytest-timeout's order); markers apply per probe, the rest here. Each value
keeps where it came from, so messages can say "timeout 2.0 s from sleuth.yaml".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from sleuth.errors import ConfigError
from sleuth.suite.config import SuiteConfig, TargetConfig, unknown_target_message
from sleuth.suite.units import parse_duration, parse_positive_int

DEFAULT_TIMEOUT_S = 5.0
# Large enough that 500 `def` probes waiting on the network all run at once
# (bench/RESULTS.md); each idle worker is a parked thread.
DEFAULT_WORKERS = 512

TARGET_ENV = "SLEUTH_TARGET"
TIMEOUT_ENV = "SLEUTH_TIMEOUT"
BUDGET_ENV = "SLEUTH_BUDGET"
WORKERS_ENV = "SLEUTH_WORKERS"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RunOptions:
    """What this run does; built in ``pytest_configure`` and kept in the stash."""

    suite: SuiteConfig
    target: TargetConfig
    timeout_s: float
    timeout_origin: str
    budget_s: float | None = None
    budget_origin: str = ""
    workers: int = DEFAULT_WORKERS
    workers_origin: str = "default"
    allow_writes: bool = False
    in_order: bool = False


def resolve(
    suite: SuiteConfig,
    *,
    cli: Mapping[str, object],
    environ: Mapping[str, str],
) -> RunOptions:
    """Combine the command line, the environment and the config file.

    ``cli`` holds the pytest option values (None where not given): ``target``,
    ``timeout``, ``budget``, ``workers``, ``allow_writes``, ``in_order``.
    """
    target = _pick_target(suite, cli, environ)
    timeout_s, timeout_origin = _first_duration(
        "timeout",
        ("--sleuth-timeout", cli.get("timeout")),
        (TIMEOUT_ENV + " environment variable", environ.get(TIMEOUT_ENV)),
        (f"target {target.name!r} in {suite.display}", target.timeout_s),
        (suite.display, suite.timeout_s),
    ) or (DEFAULT_TIMEOUT_S, "default")
    budget = _first_duration(
        "budget",
        ("--budget", cli.get("budget")),
        (BUDGET_ENV + " environment variable", environ.get(BUDGET_ENV)),
        (suite.display, suite.budget_s),
    )
    workers, workers_origin = _first_workers(
        ("--sleuth-workers", cli.get("workers")),
        (WORKERS_ENV + " environment variable", environ.get(WORKERS_ENV)),
        (suite.display, suite.workers),
    ) or (DEFAULT_WORKERS, "default")
    return RunOptions(
        suite=suite,
        target=target,
        timeout_s=timeout_s,
        timeout_origin=timeout_origin,
        budget_s=budget[0] if budget else None,
        budget_origin=budget[1] if budget else "",
        workers=workers,
        workers_origin=workers_origin,
        allow_writes=bool(cli.get("allow_writes")),
        in_order=bool(cli.get("in_order")),
    )


def _pick_target(
    suite: SuiteConfig, cli: Mapping[str, object], environ: Mapping[str, str]
) -> TargetConfig:
    for origin, name in (
        ("--sleuth-target", cli.get("target")),
        (TARGET_ENV + " environment variable", environ.get(TARGET_ENV)),
        (suite.display, suite.default_target),
    ):
        if name:
            if name not in suite.targets:
                raise ConfigError(
                    unknown_target_message(str(name), suite.targets), where=origin
                )
            return suite.targets[str(name)]
    if len(suite.targets) > 1:
        raise ConfigError(
            f"{len(suite.targets)} targets and no default_target: pick one with "
            f"--target NAME or default_target: in the config. Targets: "
            f"{', '.join(sorted(suite.targets))}.",
            where=suite.display,
        )
    return next(iter(suite.targets.values()))


def _first_duration(
    what: str, *candidates: tuple[str, object]
) -> tuple[float, str] | None:
    for origin, value in candidates:
        if value is not None and value != "":
            return parse_duration(value, where=origin, what=what), origin
    return None


def _first_workers(*candidates: tuple[str, object]) -> tuple[int, str] | None:
    for origin, value in candidates:
        if value is not None and value != "":
            return parse_positive_int(value, where=origin, what="workers"), origin
    return None
