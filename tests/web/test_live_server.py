"""The browser tests' live server closes every response, also when the client resets the connection."""

from __future__ import annotations

import socket
import struct
import threading

from flask import Flask, Response

from tests.web.browser import serve


def _closing_app(closed: threading.Event) -> Flask:
    app = Flask(__name__)

    @app.post("/body")
    def body() -> Response:
        response = Response(iter([b"hello"]), content_type="text/plain")
        response.call_on_close(closed.set)
        return response

    return app


def _post_then_reset(port: int) -> bytes:
    """Send a request whose body the app never reads, take the response, then reset the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        client.sendall(b"POST /body HTTP/1.0\r\nHost: t\r\nContent-Length: 1000\r\n\r\n" + b"x" * 10)
        received = b""
        while b"hello" not in received:
            chunk = client.recv(4096)
            if not chunk:
                break
            received += chunk
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    return received


def test_a_response_is_closed_when_the_client_resets_while_the_server_drains_the_request():
    closed = threading.Event()
    with serve(_closing_app(closed)) as server:
        received = _post_then_reset(server.port)
        assert received.startswith(b"HTTP/1.1 200") and b"hello" in received
        assert closed.wait(5), "the response was never closed"
