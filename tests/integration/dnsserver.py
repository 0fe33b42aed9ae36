"""A tiny authoritative DNS server on a loopback UDP port, for the dns probe's tests.

Built on dnspython's message API: it answers from a dict of records, says
NXDOMAIN for names it does not know, NOERROR with no answer for a known name
of another type, and SERVFAIL for names under ``broken.``.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Mapping, Sequence
from types import TracebackType

POLL_S = 0.05


class DnsServer:
    def __init__(
        self, records: Mapping[tuple[str, str], Sequence[str]], *, ttl: int = 300
    ) -> None:
        # {("api.test.", "A"): ["192.0.2.10"]}: names absolute, types upper case
        self.records = {
            (n.lower(), t.upper()): list(v) for (n, t), v in records.items()
        }
        self.ttl = ttl
        self.queries = 0
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.settimeout(POLL_S)
        self.port: int = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> DnsServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self._sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            self.queries += 1
            self._sock.sendto(self.answer(data), peer)

    def answer(self, wire: bytes) -> bytes:
        import dns.flags
        import dns.message
        import dns.rcode
        import dns.rdatatype
        import dns.rrset

        query = dns.message.from_wire(wire)
        response = dns.message.make_response(query)
        question = query.question[0]
        name = question.name.to_text().lower()
        rdtype = dns.rdatatype.to_text(question.rdtype)
        response.flags |= dns.flags.AA
        if name.endswith("broken.") or name == "broken.":
            response.set_rcode(dns.rcode.SERVFAIL)
        elif (name, rdtype) in self.records:
            response.answer.append(
                dns.rrset.from_text_list(
                    question.name, self.ttl, "IN", rdtype, self.records[(name, rdtype)]
                )
            )
        elif not any(known == name for known, _ in self.records):
            response.set_rcode(dns.rcode.NXDOMAIN)
        wire_out: bytes = response.to_wire()
        return wire_out
