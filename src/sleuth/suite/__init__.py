"""The suite's configuration: what a run was asked to do, read and checked.

Discovery of the suite's root, ``sleuth.yaml`` read with line numbers (and a
parse cache), ``${...}`` interpolation, validation with did-you-mean hints,
settings ``sources:``, ``writes:``, TLS options and the one grammar of durations
and sizes. The lowest layer above the shared modules: imports nothing else of
sleuth, and never pytest.
"""
