"""The loopback HTTP server both fakes are built on, and what they record and deliver."""

import json
import re
import secrets
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

Response = tuple[int, dict[str, Any]]


@dataclass
class Recorded:
    """One request as the fake received it."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    form: dict[str, Any] = field(default_factory=dict)
    json: Any = None

    def header(self, name: str) -> str:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return ""


@dataclass
class Delivery:
    """A webhook as the provider sends it; `status` is our answer when it was POSTed."""

    url: str
    body: bytes
    headers: dict[str, str]
    status: int | None = None

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Error(Exception):
    def __init__(self, status: int, payload: dict[str, Any]) -> None:
        super().__init__(status, payload)
        self.status = status
        self.payload = payload


def new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(12)


def post(url: str, body: bytes, headers: dict[str, str]) -> int | None:
    """POST like a provider would; our answer's status, or None when nobody answered.

    Only to loopback and never through a proxy: a URL elsewhere (a test that uses Django's
    test client sets such a BASE_URL) is not called at all.
    """
    if urlsplit(url).hostname not in ("127.0.0.1", "localhost", "::1"):
        return None
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with opener.open(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError:
        return None


def bracket_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding (`a[b][0][c]=v`) back into nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = re.findall(r"([^\[\]]+)|\[([^\]]*)\]", key)
        names = [a or b for a, b in parts]
        node = root
        for name in names[:-1]:
            node = node.setdefault(name, {})
        node[names[-1]] = value

    def lists(node: Any) -> Any:
        if isinstance(node, dict):
            node = {k: lists(v) for k, v in node.items()}
            if node and all(k.isdigit() for k in node):
                return [node[k] for k in sorted(node, key=int)]
        return node

    return lists(root)


class FakeServer:
    """A threaded HTTP server on 127.0.0.1 with an ephemeral port; a context manager."""

    name = "fake"

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._idempotent: dict[str, Response] = {}
        self._outbox: list[Delivery] = []

    # -- lifecycle --

    @property
    def url(self) -> str:
        assert self._server is not None, "start the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeServer":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                split = urlsplit(self.path)
                recorded = Recorded(
                    method=self.command,
                    path=split.path,
                    query=split.query,
                    headers=dict(self.headers.items()),
                    body=body,
                )
                status, payload, content_type = fake._dispatch(recorded)
                data = (
                    payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
                )
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                self.wfile.flush()
                # Like the real providers, webhooks go out after the API call has answered.
                fake.flush()

            do_GET = do_POST = do_DELETE = do_PATCH = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            # A short poll keeps `stop()` (which waits for the loop to notice) quick.
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name=f"{self.name}-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- requests --

    content_type = "application/json"

    def _dispatch(self, recorded: Recorded) -> tuple[int, dict[str, Any] | str, str]:
        with self.lock:
            self.parse_body(recorded)
            self.requests.append(recorded)
            if recorded.method == "GET":
                page = self.hosted_page(recorded.path)
                if page is not None:
                    return 200, page, "text/html; charset=utf-8"
            try:
                if not self.authorized(recorded):
                    raise self.unauthorized()
                key = recorded.header("Idempotency-Key")
                if key and recorded.method == "POST" and key in self._idempotent:
                    status, payload = self._idempotent[key]
                else:
                    status, payload = self.route(recorded)
                    if key and recorded.method == "POST":
                        self._idempotent[key] = (status, payload)
            except Error as error:
                status, payload = error.status, error.payload
            return status, payload, self.content_type

    def parse_body(self, recorded: Recorded) -> None:
        raise NotImplementedError

    def hosted_page(self, path: str) -> str | None:
        """The provider's page a donor's browser is sent to (no API key), or None."""
        return None

    @staticmethod
    def page(title: str, amount: str, back: str, cancel: str) -> str:
        return (
            f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}'
            f"</title></head><body><h1>{escape(title)}</h1><p>{escape(amount)}</p>"
            f'<p><a href="{escape(back)}">Back to the organization</a></p>'
            f'<p><a href="{escape(cancel)}">Cancel</a></p></body></html>'
        )

    def authorized(self, recorded: Recorded) -> bool:
        raise NotImplementedError

    def unauthorized(self) -> Error:
        raise NotImplementedError

    def route(self, recorded: Recorded) -> Response:
        raise NotImplementedError

    def flush(self) -> None:
        """POST the webhooks waiting to go out (never while holding the lock: our webhook
        handler may call this server back)."""
        while True:
            with self.lock:
                if not self._outbox:
                    return
                delivery = self._outbox.pop(0)
            if delivery.url:
                delivery.status = post(delivery.url, delivery.body, delivery.headers)

    def requests_to(self, method: str, path: str) -> list[Recorded]:
        """Recorded requests by method and path (`{id}` matches one path segment)."""
        pattern = re.compile("^" + re.escape(path).replace(r"\{id\}", "[^/]+") + "$")
        return [r for r in self.requests if r.method == method and pattern.match(r.path)]
