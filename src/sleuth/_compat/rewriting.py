"""pytest's assertion rewriter: keeping sleuth's own modules out of it.

Apart from ``pytest.py`` (pytest's other private names) because it runs
while sleuth's package is still marked for rewriting: a module imported then
is rewritten itself, and this one is small.
"""

from __future__ import annotations

# The assertion rewriter's names marked for rewriting (with their submodules),
# and the decisions it keeps per module name.
MARKED = "_must_rewrite"
DECIDED = "_marked_for_rewrite_cache"


def keep_from_rewriting(rewrite_hook: object, package: str) -> None:
    """Stop pytest rewriting the asserts of ``package``'s modules.

    pytest marks a plugin's package for assertion rewriting (all of it, for
    an installed plugin; the plugin's module and everything under it, for
    ``-p sleuth.plugin``), so each sleuth module a run imports is parsed and
    compiled from source again, whenever pytest cannot keep its own ``.pyc``
    of it: ``PYTHONDONTWRITEBYTECODE``, or a read-only site-packages (a
    container image). sleuth holds no test asserts to rewrite, only a few
    invariants. No public API unmarks a name, hence the private set.
    ``rewrite_hook`` is ``config.pluginmanager.rewrite_hook``.
    """
    marked = getattr(rewrite_hook, MARKED, None)
    if not isinstance(marked, set):
        return  # assertions in plain mode (--assert=plain): nothing is rewritten
    for name in [m for m in marked if m == package or m.startswith(package + ".")]:
        marked.discard(name)
    decided = getattr(rewrite_hook, DECIDED, None)
    if isinstance(decided, dict):
        for name in [n for n in decided if n == package or n.startswith(package + ".")]:
            del decided[name]
