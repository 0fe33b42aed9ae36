"""``sleuth watch``: the suite run every interval, each cycle a sleuth run kept in
the history, alerts sent when a probe changes state, and an agent that keeps
its results when the shared store is away.
"""
