"""A small OpenAI-compatible chat-completions server with planted behaviour, for tests and
benchmarks (no network beyond 127.0.0.1).

The behaviour is chosen by the request's ``model``: ``+``-separated words.

- ``consistent``: prefers the response marked with the higher ``[quality N]`` (tie if equal)
- ``first``: always answers ``A`` (a judge biased to the first-shown response)
- ``invalid``: replies with text that is not JSON (so does any prompt holding ``[broken]``)
- ``flaky``: not JSON on the first ask, a valid answer once told it was invalid
- ``offrubric``: JSON that does not fit the rubric (choice ``C``)
- ``fenced``: wraps the answer in a ```json fence
- ``nologprobs``: sends no log-probabilities
- ``ratelimit=S``: the first request for each prompt gets 429 with ``Retry-After: S``
- ``status=N``: always answers HTTP N
- ``delay=S``: waits S seconds before answering
- ``probs=P1,P2,...``: at a choice value, the chosen option's probability is P1 and the
  other options get P2... in their order; a last extra number goes to a token ``C`` that is
  no option (default ``0.9,0.06,0.04``)
"""

from __future__ import annotations

import json
import math
import re
import socket
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_QUALITY = re.compile(r"\[quality (\d+)\]")


def _behaviour(model: str) -> dict[str, str]:
    out = {}
    for word in model.split("+"):
        key, _, value = word.partition("=")
        out[key] = value
    return out


def _qualities(text: str) -> tuple[int, int]:
    head, _, b = text.partition("# Response B")
    a = head.partition("# Response A")[2]
    qa, qb = _QUALITY.search(a), _QUALITY.search(b)
    return (int(qa.group(1)) if qa else 0, int(qb.group(1)) if qb else 0)


def _value(schema: dict[str, Any], choice: str, name: str) -> Any:
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    props = schema.get("properties", {})
    if "choice" in props:
        answer: dict[str, Any] = {"choice": choice}
        if "strength" in props:
            answer["strength"] = None if choice == "tie" else 2
        if "both_bad" in props:
            answer["both_bad"] = False
        return answer
    if "object" in kinds:
        return {k: _value(v, choice, k) for k, v in props.items()}
    if "enum" in schema:
        values = [v for v in schema["enum"] if v is not None]
        return values[len(values) // 2] if all(isinstance(v, int) for v in values) else values[0]
    if "array" in kinds:
        return [_value(schema["items"], choice, name)]
    if "null" in kinds:
        return "the stub's reason" if "string" in kinds else None
    if "boolean" in kinds:
        return False
    if "string" in kinds:
        return "the stub's reason"
    return None


def _tokens(content: str, chosen_at: set[int], options: list[str], probs: list[float]) -> list[dict[str, Any]]:
    """Split the reply in tokens; at each choice value put the planted alternatives."""
    out = []
    for match in re.finditer(r"\w+|\s+|[^\w\s]", content):
        token = match.group()
        if match.start() in chosen_at:
            others = [o for o in options if o != token]
            alternatives = [(token, probs[0])] + list(zip(others, probs[1:], strict=False))
            if len(probs) > len(options):
                alternatives.append(("C", probs[len(options)]))
            top = [{"token": t, "logprob": math.log(p), "bytes": list(t.encode())} for t, p in alternatives if p > 0]
            out.append(
                {"token": token, "logprob": math.log(probs[0]), "bytes": list(token.encode()), "top_logprobs": top}
            )
        else:
            out.append(
                {
                    "token": token,
                    "logprob": 0.0,
                    "bytes": list(token.encode()),
                    "top_logprobs": [{"token": token, "logprob": 0.0}],
                }
            )
    return out


class StubState:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.seen: set[str] = set()
        self.count = 0


def _handler(state: StubState):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self):
            super().setup()
            # One small response in two writes (headers, body) would wait on Nagle and the
            # client's delayed ACK: 40 ms a request.
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, *args):  # quiet
            pass

        def _send(self, status: int, payload: dict[str, Any] | str, headers: dict[str, str] | None = None):
            body = (payload if isinstance(payload, str) else json.dumps(payload)).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            with state.lock:
                state.count += 1
                state.requests.append(body)
                state.headers.append(dict(self.headers))
            if not self.path.endswith("/chat/completions"):
                return self._send(404, {"error": {"message": f"no route {self.path}"}})
            how = _behaviour(body.get("model", ""))
            if "delay" in how:
                time.sleep(float(how["delay"]))
            if "status" in how:
                return self._send(int(how["status"]), {"error": {"message": "planted failure"}})
            messages = body["messages"]
            user = next(m["content"] for m in messages if m["role"] == "user")
            if "ratelimit" in how:
                with state.lock:
                    first = user not in state.seen
                    state.seen.add(user)
                if first:
                    return self._send(
                        429, {"error": {"message": "slow down"}}, {"Retry-After": how["ratelimit"] or "1"}
                    )
            self._send(200, self.completion(body, how, user, messages))

        def completion(self, body, how, user, messages):
            schema = body["response_format"]["json_schema"]["schema"]
            qa, qb = _qualities(user)
            if "first" in how:
                choice = "A"
            else:
                choice = "A" if qa > qb else "B" if qb > qa else "tie"
            answers = {name: _value(sub, choice, name) for name, sub in schema["properties"].items()}
            content = json.dumps(answers)
            retried = len(messages) > 2
            if "invalid" in how or "[broken]" in user or ("flaky" in how and not retried):
                content = "I think A is better, no JSON today {"
            elif "offrubric" in how:
                content = json.dumps(
                    {
                        **answers,
                        **{k: {"choice": "C"} for k, v in answers.items() if isinstance(v, dict) and "choice" in v},
                    }
                )
            elif "fenced" in how:
                content = "Here is my verdict:\n```json\n" + content + "\n```"
            choice_at = {m.end() for m in re.finditer(r'"choice": "', content)}
            probs = [float(p) for p in (how.get("probs") or "0.9,0.06,0.04").split(",")]
            logprobs = (
                None if "nologprobs" in how else {"content": _tokens(content, choice_at, ["A", "B", "tie"], probs)}
            )
            return {
                "id": f"stub-{state.count}",
                "object": "chat.completion",
                "model": body.get("model"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "logprobs": logprobs,
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": len(user) // 4,
                    "completion_tokens": len(content) // 4,
                    "total_tokens": len(user) // 4 + len(content) // 4,
                },
            }

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):  # a client that hung up is not news
        pass


class Stub:
    def __init__(self, server: ThreadingHTTPServer, state: StubState):
        self.server, self.state = server, state
        host, port = server.server_address[:2]
        self.url = f"http://{host}:{port}/v1"

    @property
    def requests(self) -> list[dict[str, Any]]:
        return self.state.requests


@contextmanager
def serve_stub():
    """Serve the stub on 127.0.0.1 at a free port, in a background thread."""
    state = StubState()
    server = _Server(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Stub(server, state)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


if __name__ == "__main__":  # serve until interrupted: python -m tests.judges.stub_server
    with serve_stub() as stub:
        print(stub.url, flush=True)
        threading.Event().wait()
