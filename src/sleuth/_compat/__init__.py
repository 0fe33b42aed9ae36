"""Other packages' private names that sleuth relies on, one module per package
(pytest's assertion rewriter apart from the rest of pytest's: ``rewriting``).

Each function here reaches into one private attribute or function, says what
and why, and is the only place sleuth does. ``tests/test_compat.py`` checks
every one against the installed package and, when a release drops or renames
one, fails naming the package, its version and the module here to update.

No module here imports its package at import time: the plugin and
``import sleuth`` stay as cheap as before.
"""
