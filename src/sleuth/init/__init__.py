"""``sleuth init``: a first probe suite written from what a service already has.

An OpenAPI document becomes a table of its safe operations (``openapi``), a
pydantic-settings model or a ``.env.example`` a table of critical settings
(``settings``), and ``files`` writes them, with a ``sleuth.yaml``, as a person
would. Imported only by the command: nothing here loads during a run.
"""
