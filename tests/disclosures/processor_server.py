"""A real local HTTP server that plays a processor's webhook (http.server in a thread)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Processor:
    """What the processor answers (``status``, ``location``) and what it received."""

    url: str = ""
    status: int = 200
    location: str | None = None
    received: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)


@contextmanager
def live_processor(status: int = 200, location: str | None = None) -> Iterator[Processor]:
    """Serve on 127.0.0.1 on a free port until the block ends."""
    processor = Processor(status=status, location=location)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            processor.received.append((self.path, dict(self.headers.items()), body))
            self.send_response(processor.status)
            if processor.location:
                self.send_header("Location", processor.location)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *_args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    processor.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield processor
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
