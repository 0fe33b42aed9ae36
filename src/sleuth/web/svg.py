"""Small SVG drawn on the server: a probe's duration sparkline, a target's badge.

No JavaScript and no fonts to fetch: the page reads the same in any browser.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from sleuth.history.model import FAILING

SPARK_WIDTH = 120
SPARK_HEIGHT = 24
_GREEN = "#2e7d32"
_RED = "#c62828"
_GREY = "#757575"


def sparkline(points: Sequence[tuple[float, str]]) -> str:
    """``<svg>`` of durations (oldest first), failures as red dots."""
    if not points:
        return ""
    top = max(d for d, _ in points) or 1.0
    step = SPARK_WIDTH / max(len(points) - 1, 1)

    def xy(i: int, d: float) -> tuple[float, float]:
        return round(i * step, 1), round(
            SPARK_HEIGHT - 2 - (d / top) * (SPARK_HEIGHT - 4), 1
        )

    line = " ".join(
        f"{x},{y}" for x, y in (xy(i, d) for i, (d, _) in enumerate(points))
    )
    dots = "".join(
        f'<circle cx="{x}" cy="{y}" r="2" fill="{_RED}"/>'
        for i, (d, outcome) in enumerate(points)
        if outcome in FAILING
        for x, y in [xy(i, d)]
    )
    last = "the last run" if len(points) == 1 else f"the last {len(points)} runs"
    slowest = f"slowest {top * 1000:.0f} ms over {last}"
    return (
        f'<svg class="spark" xmlns="http://www.w3.org/2000/svg" width="{SPARK_WIDTH}" '
        f'height="{SPARK_HEIGHT}" viewBox="-2 0 {SPARK_WIDTH + 4} {SPARK_HEIGHT}" '
        f'role="img" aria-label="{slowest}"><title>{slowest}</title>'
        f'<polyline fill="none" stroke="{_GREY}" stroke-width="1.2" points="{line}"/>'
        f"{dots}</svg>"
    )


def badge(label: str, message: str, *, state: str) -> str:
    """A shields-style badge: ``sleuth | 3 failing`` in red, ``passing`` in green."""
    color = {"passing": _GREEN, "failing": _RED}.get(state, _GREY)
    left, right = 7 * len(label) + 12, 7 * len(message) + 12
    width = left + right
    label_x, message_x = left / 2, left + right / 2
    text = f"{label}: {message}"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" '
        f'role="img" aria-label="{escape(text)}"><title>{escape(text)}</title>'
        f'<rect width="{left}" height="20" fill="#555"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{color}"/>'
        '<g fill="#fff" text-anchor="middle" '
        'font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">'
        f'<text x="{label_x}" y="14">{escape(label)}</text>'
        f'<text x="{message_x}" y="14">{escape(message)}</text></g></svg>'
    )
