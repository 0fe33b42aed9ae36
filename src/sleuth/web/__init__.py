"""The status page, its JSON API, ``/metrics`` and ``/healthz``, read from the
history (``sleuth serve``, and ``sleuth watch --serve``).
"""
