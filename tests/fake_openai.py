"""A real local HTTP server speaking the OpenAI Chat Completions wire format, with faults.

Register with `pytest_plugins = ["tests.fake_openai"]`; the `fake_openai` fixture points the
settings at it. Knobs (set them on the fixture's object before sending):

- `tokens`: the reply, streamed one item per SSE chunk
- `token_delay` / `first_token_delay`: seconds to wait between chunks / before the first one
- `fail_status` + `fail_times`: answer that HTTP status (before any token) to the next N requests
- `cut_after`: drop the connection after that many tokens (mid-body, no [DONE])
- `stall_after` + `stall_seconds`: go silent after that many tokens
- `include_usage`: send the final usage chunk
- `title`: the text of non-streamed completions; `fail_titles` answers them with a 503
- `start_together`: hold every stream's first token until that many streams are open
  (benchmarks: replies that really stream at the same time, however long starting them took)

`requests` records every JSON body received; `usages` every usage report sent.
"""

import contextlib
import json
import socket
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

DEFAULT_TOKENS = ["Hello", " there", "!", " Here", " is", " a", " fake", " reply", "."]


class _Server(ThreadingHTTPServer):
    request_queue_size = 1024  # benchmarks open hundreds of streams at once (default 5)

    def handle_error(self, request, client_address):
        """A client that goes away (a server process stopped mid-keep-alive) is not news."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakeOpenAI:
    def __init__(self):
        self.closing = threading.Event()
        self.lock = threading.Lock()
        self.all_started = threading.Condition(self.lock)
        self.reset()
        self.server = _Server(("127.0.0.1", 0), _handler_for(self))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        host, port = self.server.server_address[:2]
        self.base_url = f"http://{host}:{port}/v1"

    def reset(self) -> None:
        """Restore the default behaviour and forget recorded requests."""
        self.tokens = list(DEFAULT_TOKENS)
        self.token_delay = 0.0
        self.first_token_delay = 0.0
        self.fail_status = None
        self.fail_times = 0
        self.cut_after = None
        self.stall_after = None
        self.stall_seconds = 0.0
        self.include_usage = True
        self.title = "A fake title"
        self.fail_titles = False
        self.requests = []
        self.usages = []
        self.streams_started = 0
        self.streams_finished = 0
        self.start_together = 0
        # When a dict: {last user message: [monotonic time each token was sent]} (benchmarks).
        self.token_times = None

    @property
    def reply(self) -> str:
        return "".join(self.tokens)

    def wait(self, seconds: float) -> None:
        self.closing.wait(seconds)

    def close(self) -> None:
        self.closing.set()
        with self.all_started:
            self.all_started.notify_all()
        self.server.shutdown()
        self.server.server_close()


def _handler_for(fake: FakeOpenAI):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args):  # noqa: A002 - keep test output quiet
            pass

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            with fake.lock:
                fake.requests.append(body)
                failing = fake.fail_status is not None and fake.fail_times > 0
                if failing:
                    fake.fail_times -= 1
            if not self.path.endswith("/chat/completions"):
                return self._json(404, {"error": {"message": "Not found", "type": "invalid"}})
            if failing:
                return self._json(
                    fake.fail_status,
                    {"error": {"message": "The fake upstream failed.", "type": "server_error"}},
                )
            if body.get("stream"):
                return self._stream(body)
            if fake.fail_titles:
                return self._json(503, {"error": {"message": "Titles are down.", "type": "x"}})
            return self._completion(body)

        def _json(self, status: int, payload: dict):
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _completion(self, body: dict):
            self._json(
                200,
                {
                    "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body.get("model", ""),
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": fake.title},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
                },
            )

        def _chunk(self, payload: str) -> None:
            data = f"data: {payload}\n\n".encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        def _stream(self, body: dict):
            completion_id = f"chatcmpl-{uuid.uuid4().hex[:12]}"
            base = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": body.get("model", ""),
            }
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.flush()
            with fake.all_started:
                # As a model does: the response starts at once, its first token comes later.
                fake.streams_started += 1
                fake.all_started.notify_all()
                fake.all_started.wait_for(
                    lambda: fake.streams_started >= fake.start_together or fake.closing.is_set(),
                    timeout=300,
                )
            try:
                if fake.first_token_delay:
                    fake.wait(fake.first_token_delay)
                for index, token in enumerate(fake.tokens):
                    if fake.cut_after is not None and index >= fake.cut_after:
                        return self._cut()
                    if fake.stall_after is not None and index >= fake.stall_after:
                        fake.wait(fake.stall_seconds)
                        return self._cut()
                    if index and fake.token_delay:
                        fake.wait(fake.token_delay)
                    delta = {"content": token}
                    if index == 0:
                        delta["role"] = "assistant"
                    choice = {"index": 0, "delta": delta, "finish_reason": None}
                    self._chunk(json.dumps({**base, "choices": [choice]}))
                    if fake.token_times is not None:
                        key = body["messages"][-1]["content"]
                        fake.token_times.setdefault(key, []).append(time.monotonic())
                finish = {"index": 0, "delta": {}, "finish_reason": "stop"}
                self._chunk(json.dumps({**base, "choices": [finish]}))
                if fake.include_usage:
                    prompt = sum(len(str(m.get("content", ""))) for m in body["messages"]) // 4
                    usage = {
                        "prompt_tokens": prompt + 3,
                        "completion_tokens": len(fake.tokens),
                        "total_tokens": prompt + 3 + len(fake.tokens),
                    }
                    fake.usages.append(usage)
                    self._chunk(json.dumps({**base, "choices": [], "usage": usage}))
                self._chunk("[DONE]")
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
                with fake.lock:
                    fake.streams_finished += 1
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client went away (Stop or a cancelled stream)

        def _cut(self):
            """Drop the connection mid-body, as a crashed upstream or a broken network would."""
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

    return Handler


@pytest.fixture(scope="session")
def fake_openai_server():
    server = FakeOpenAI()
    yield server
    server.close()


@pytest.fixture
def fake_openai(fake_openai_server, settings):
    """Yield the fake upstream, with the settings pointing every model at it."""
    from conversations.llm import reset_providers

    fake_openai_server.reset()
    settings.OPENAI_API_KEY = "sk-test"
    settings.OPENAI_BASE_URL = fake_openai_server.base_url
    settings.CHAT_MODELS = ["fake-model", "fake-model-2"]
    settings.TITLE_MODEL = "fake-model"
    settings.OPENAI_MAX_RETRIES = 0
    reset_providers()
    yield fake_openai_server
    reset_providers()
    fake_openai_server.reset()
