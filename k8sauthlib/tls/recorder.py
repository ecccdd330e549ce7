"""A tiny HTTPS server that records what clients send: the book's "an API server is a web server" probe.

It is not a Kubernetes stand-in (that is :mod:`k8sauthlib.lab`): it answers every ``GET`` with one
fixed JSON body and keeps, for each request, its request line and ``Authorization`` header, so a
notebook can show that ``kubectl get --raw`` and ``curl`` send the same plain HTTPS request.
Built on the standard library's ``http.server.ThreadingHTTPServer`` and ``ssl`` (Python 3.11+).
"""

from __future__ import annotations

import json
import ssl
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ..errors import InputError


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it.

    Attributes:
        method: e.g. ``"GET"``.
        path: the request target, e.g. ``"/api/v1/namespaces/default/pods"``.
        version: e.g. ``"HTTP/1.1"``.
        authorization: the ``Authorization`` header, or ``None``.
        user_agent: the ``User-Agent`` header, or ``None``.
    """

    method: str
    path: str
    version: str
    authorization: str | None
    user_agent: str | None

    @property
    def line(self) -> str:
        """The HTTP request line: ``GET /path HTTP/1.1``."""
        return f"{self.method} {self.path} {self.version}"


class RequestRecorder:
    """An HTTPS server on 127.0.0.1 that answers ``GET`` with ``body`` and records every request.

    Use as a context manager (or call :meth:`close`)::

        with RequestRecorder("web.pem", "web-key.pem", {"kind": "PodList", ...}) as web:
            subprocess.run(["curl", "--cacert", "ca.pem", web.url + "/api/v1/pods"])
            web.requests[-1].line

    Args:
        cert_file: the server certificate (PEM; may hold the chain).
        key_file: its private key (PEM).
        body: the JSON value every ``GET`` gets, with ``200 OK`` and ``Content-Type: application/json``.
        host: the address to listen on; the port is chosen by the system.

    Raises:
        InputError: the certificate or key cannot be loaded, or they are not a pair.
    """

    def __init__(self, cert_file, key_file, body, *, host="127.0.0.1"):
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            tls.load_cert_chain(str(cert_file), str(key_file))
        except (OSError, ssl.SSLError) as e:
            raise InputError(
                f"cannot serve HTTPS with {cert_file} and {key_file}: {e}; give a server "
                f"certificate and its own private key (PEM)"
            ) from None
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        payload = json.dumps(body).encode()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                with recorder._lock:
                    recorder.requests.append(
                        RecordedRequest(
                            self.command,
                            self.path,
                            self.request_version,
                            self.headers.get("Authorization"),
                            self.headers.get("User-Agent"),
                        )
                    )
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):  # the notebook shows self.requests, not stderr lines
                pass

        self._server = ThreadingHTTPServer((host, 0), Handler)
        self._server.daemon_threads = True
        self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="RequestRecorder", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """``https://<host>:<port>``."""
        host, port = self._server.server_address[:2]
        return f"https://{host}:{port}"

    def close(self):
        """Stop serving and close the listening socket (idempotent)."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"<RequestRecorder {self.url} requests={len(self.requests)}>"


__all__ = ["RecordedRequest", "RequestRecorder"]
