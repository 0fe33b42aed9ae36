"""The HTTP stack: everything between a probe's ``target.http.get`` and the wire.

- ``client``: the asynchronous client probes use, with sleuth's pool and rules;
- ``sync``: the synchronous facade a plain ``def`` probe calls;
- ``response``: what a request returns, with the evidence it carries;
- ``wire``: aiohttp underneath, and its errors translated into sleuth's;
- ``retry``: when a request is tried again, and how long sleuth waits;
- ``readonly``: which methods a probe may send; ``bodytext``: bodies as text;
- ``worker``: the process that sends a run's requests off pytest's core.

Imports only from the engine, the suite's configuration and the shared modules
at the package root; never pytest.
"""
