#!/usr/bin/env python3
"""moto's backends over real HTTP on loopback, without moto's per-request dispatcher overhead.

    .venv/bin/python tests/benchmarks/moto_direct.py [-H 127.0.0.1] [-p 5000]

`python -m moto.server` (moto 5.2.5) wraps its per-service Flask apps in `DomainDispatcherApplication`,
which, on every request and under one lock, lists the moto package directory (`os.listdir` + sort in
`backends.list_of_moto_modules()`) and matches the host against every backend's URL patterns. This
server serves the same apps, made by moto's own `create_backend_app(service)` (same backends, same
responses, same in-memory state for every account and region), and picks the app from the SigV4
credential scope (`Credential=KEY/DATE/REGION/SERVICE/aws4_request`: a string split) for the services in
`DIRECT`, whose signing name is their backend name and which need no other routing. Every other request
(unsigned, another service, `/moto-api`) goes to moto's stock dispatcher, unchanged.

Served by werkzeug's threaded server (a thread per connection, as `moto.server`), with moto's request
handler changed in two ways: connections are kept alive, and requests are not logged. werkzeug's own
handler (werkzeug 3.1) sends `Connection: close` on every response and then waits up to 10 ms for more
input to discard: every call paid a new TCP connection on both sides and a new server thread. Here a
request whose body has a Content-Length (every botocore request to IAM, STS, Organizations) is read
whole before the app runs, and its response goes out with a Content-Length in one write, so the
connection stays usable; any other request (chunked body, an app error) is served by werkzeug's handler
as before, and the connection is closed after it.

Used by bench_hygiene.py (`--server direct`); nothing in keysweep imports it.
"""

from __future__ import annotations

import argparse
import email.parser
import http.client
import io
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

# The services the hygiene collection and its seed call (iam, sts, organizations) and a few plain
# query/JSON protocol ones: signing name == moto backend name, no host- or path-based sub-routing.
DIRECT = frozenset({"iam", "sts", "organizations"})
SCOPE_PREFIX = "AWS4-HMAC-SHA256 Credential="


def service_of(authorization: str) -> str | None:
    """The SigV4 credential scope's service (`iam` in `Credential=AKIA/20261123/us-east-1/iam/aws4_request,
    SignedHeaders=..., Signature=...`), or None if the header is not a SigV4 one."""
    if not authorization.startswith(SCOPE_PREFIX):
        return None
    scope = authorization[len(SCOPE_PREFIX) :].split(",", 1)[0].split("/")
    return scope[3].lower() if len(scope) == 5 else None


class DirectApplication:
    """WSGI app: the service's cached moto Flask app when the credential scope names a `DIRECT` service,
    else moto's `DomainDispatcherApplication`."""

    def __init__(self) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        self._create = create_backend_app
        self._fallback = DomainDispatcherApplication(create_backend_app)
        self._apps: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _app(self, service: str) -> Any:
        app = self._apps.get(service)
        if app is None:
            with self._lock:
                app = self._apps.get(service)
                if app is None:
                    app = self._apps[service] = self._create(service)  # type: ignore[arg-type]
        return app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        service = service_of(environ.get("HTTP_AUTHORIZATION", ""))
        if service in DIRECT and not environ.get("PATH_INFO", "").startswith("/moto-api"):
            return self._app(service)(environ, start_response)
        return self._fallback(environ, start_response)


HEADER = re.compile(r"([!-9;-~]+):(.*)", re.S)  # what the email parser takes as a header line


def fast_parse_headers(fp: Any, _class: type[Any] = http.client.HTTPMessage) -> Any:
    """`http.client.parse_headers`, which `http.server` calls for every request, without the email
    package's feed parser (a tenth of this server's CPU per request): the same lines read with the same
    limits, the same (name, value) pairs as the parser's compat32 policy stores them. Anything unusual
    (a folded line, a line that is not a header) goes to the email parser, as before."""
    lines = http.client._read_headers(fp)  # type: ignore[attr-defined]
    message = _class()
    for raw in lines:
        line = raw.decode("iso-8859-1")
        if line in ("\r\n", "\n", ""):
            break
        match = HEADER.match(line)
        if match is None:
            return email.parser.Parser(_class=_class).parsestr(b"".join(lines).decode("iso-8859-1"))
        message.set_raw(match[1], match[2].lstrip(" \t").rstrip("\r\n"))
    return message


def _handler() -> type[Any]:
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    class KeepAliveHandler(MotoRequestHandler):
        disable_nagle_algorithm = True
        wbufsize = 1 << 16  # headers and body leave in one write (flushed after each request)

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            pass

        def run_wsgi(self) -> None:
            length = self.headers.get("Content-Length")
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower() or (
                length is None and self.command in ("POST", "PUT", "PATCH")
            ):
                super().run_wsgi()  # werkzeug's way: Connection: close
                self.close_connection = True
                return
            if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
                self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                self.wfile.flush()
            body = self.rfile.read(int(length or 0))
            environ = self.environ = self.make_environ()
            environ["wsgi.input"] = io.BytesIO(body)
            answer: list[Any] = []

            def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
                answer[:] = [status, headers]
                return lambda data: chunks.append(data)

            chunks: list[bytes] = []
            try:
                iterable = self.server.app(environ, start_response)
                try:
                    chunks.extend(iterable)
                finally:
                    if hasattr(iterable, "close"):
                        iterable.close()
            except Exception as exc:
                self.server.log("error", f"Error on request {self.requestline!r}: {exc!r}")
                self.send_error(500)
                self.close_connection = True
                return
            data = b"".join(chunks)
            status, headers = answer
            code, _, reason = status.partition(" ")
            self.send_response(int(code), reason)
            skip = {"connection", "transfer-encoding"}
            if self.command != "HEAD":
                skip.add("content-length")
            for name, value in headers:
                if name.lower() not in skip:
                    self.send_header(name, value)
            if self.command != "HEAD":
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            else:
                self.end_headers()

    return KeepAliveHandler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    args = parser.parse_args(argv)

    import os

    os.environ.setdefault("MOTO_PORT", str(args.port))
    from werkzeug.serving import run_simple

    http.client.parse_headers = fast_parse_headers  # type: ignore[assignment]  # this process only
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    run_simple(args.host, args.port, DirectApplication(), threaded=True, request_handler=_handler())


if __name__ == "__main__":
    main()
