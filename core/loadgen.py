"""A mixed write load through a real HTTP server on 127.0.0.1: the load test and
``benchmarks/write_load.py`` both drive it.

Each client thread keeps one HTTP connection and sends writes in a fixed rotation: a plugin switch, a
plugin setting, a credit-bureau authorization, a credit-bureau query for the subject it just
authorized, and a new user. Every write creates or changes something countable, so after a run the
caller can check that the database holds exactly what succeeded: no lost, duplicated or half-written
rows, and the audit chains still verify.
"""

from __future__ import annotations

import http.client
import json
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable, Iterator

from nongxin.sdk.identity import make_resident_id

#: The operations of one rotation: (name, user who may do it).
OPERATIONS = ("switch", "settings", "authorize", "query", "user")
EVIDENCE = {"ref": "archive://JNRCB/load/auth.pdf", "sha256": "ab" * 32}


@dataclass
class Server:
    """waitress serving ``app`` on a free port of 127.0.0.1, in a background thread."""

    app: Any
    threads: int = 16
    host: str = "127.0.0.1"
    port: int = 0
    _server: Any = None
    _thread: Any = None
    _stopping: bool = False

    def __enter__(self) -> "Server":
        import logging

        from waitress.server import create_server

        logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "task queue depth" is the point here
        self._server = create_server(self.app, host=self.host, port=0, threads=self.threads,
                                     connection_limit=256, channel_timeout=60)
        self.port = self._server.effective_port
        self._thread = threading.Thread(target=self._serve, name="nongxin-load-server", daemon=True)
        self._thread.start()
        return self

    def _serve(self) -> None:
        try:
            self._server.run()
        except (OSError, ValueError):
            if not self._stopping:  # closing the sockets under the loop is how it stops
                raise

    def __exit__(self, *exc: Any) -> None:
        import logging

        self._stopping = True
        waitress_log = logging.getLogger("waitress")
        level = waitress_log.level
        waitress_log.setLevel(logging.CRITICAL)
        try:
            self._server.task_dispatcher.shutdown()
            for channel in list(self._server._map.values()):
                channel.handle_close()
            self._thread.join(timeout=10)
        finally:
            waitress_log.setLevel(level)


@dataclass
class Outcome:
    operation: str
    status: int
    ms: float
    body: Any = None


@dataclass
class Report:
    threads: int
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def errors(self) -> list[Outcome]:
        return [o for o in self.outcomes if not 200 <= o.status < 300]

    def succeeded(self, operation: str) -> int:
        return sum(1 for o in self.outcomes if o.operation == operation and 200 <= o.status < 300)

    def figures(self) -> dict[str, Any]:
        times = sorted(o.ms for o in self.outcomes)
        return {
            "threads": self.threads, "requests": len(self.outcomes), "errors": len(self.errors),
            "rps": round(len(self.outcomes) / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": round(statistics.median(times), 1) if times else 0.0,
            "p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))], 1) if times else 0.0,
            "statuses": dict(Counter(o.status for o in self.outcomes)),
        }


class Client:
    """One keep-alive connection, as one member of staff at one desk."""

    def __init__(self, port: int, tokens: dict[str, str]) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.tokens = tokens

    def send(self, user: str, method: str, path: str, body: Any,
             extra_headers: dict[str, str] | None = None) -> tuple[int, Any]:
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers = {"Authorization": f"Bearer {self.tokens[user]}", "Content-Type": "application/json",
                   **(extra_headers or {})}
        try:
            self.conn.request(method, path, body=payload, headers=headers)
            resp = self.conn.getresponse()
            raw = resp.read()
        except (OSError, http.client.HTTPException) as exc:
            self.conn.close()
            return 599, {"error": type(exc).__name__, "message": str(exc)}
        try:
            return resp.status, json.loads(raw) if raw else None
        except ValueError:
            return resp.status, raw[:200].decode("utf-8", "replace")


#: One request of a race: (user, method, path, JSON body, extra headers).
Request = tuple[str, str, str, Any, dict[str, str]]


def race(app: Any, tokens: dict[str, str], requests: list[Request]) -> list[tuple[int, Any]]:
    """Send ``requests`` at the same moment through a real server, each from its own thread and
    connection, released together by a barrier: the answers (status, JSON body) in the order they
    came back. What concurrency tests of one contended row are made of."""
    answers: list[tuple[int, Any]] = []
    lock = threading.Lock()
    start = threading.Barrier(len(requests))
    with Server(app, threads=len(requests)) as server:

        def client(request: Request) -> None:
            user, method, path, body, headers = request
            conn = Client(server.port, tokens)
            start.wait()
            answer = conn.send(user, method, path, body, headers)
            conn.conn.close()
            with lock:
                answers.append(answer)

        workers = [threading.Thread(target=client, args=(r,)) for r in requests]
        for w in workers:
            w.start()
        for w in workers:
            w.join(timeout=120)
    return answers


def subject(thread: int, n: int) -> dict[str, str]:
    """A distinct, valid subject per (thread, request): nobody real is ever queried."""
    birth = date(1960 + thread % 40, 1 + n % 12, 1 + n % 28)
    return {"kind": "resident_id", "id_number": make_resident_id("370102", birth, n % 1000),
            "name": f"压测{thread}号{n}"}


def requests_for(thread: int, count: int, run: str) -> Iterator[tuple[str, str, str, str, Any]]:
    """``count`` writes for client ``thread``: (operation, user, method, path, body)."""
    last_subject: dict[str, str] | None = None
    for n in range(count):
        operation = OPERATIONS[n % len(OPERATIONS)]
        if operation == "switch":
            verb = "enable" if (thread + n) % 2 else "disable"
            yield operation, "jinan.pm", "POST", f"/api/plugins/bureau_sim/{verb}", {"institution": "JNRCB-ZQ"}
        elif operation == "settings":
            ceiling = str(100000 + thread * 1000 + n)
            yield operation, "jinan.pm", "PUT", "/api/plugins/provincial_products/settings", {
                "institution": "JNRCB", "settings": {"xin_e_dai_ceiling": ceiling}}
        elif operation == "authorize":
            last_subject = subject(thread, n)
            yield operation, "jinan.cm", "POST", "/api/bureau/authorizations", {
                "subject": last_subject, "purposes": ["02"], "channel": "paper", "evidence": EVIDENCE}
        elif operation == "query":
            yield operation, "jinan.cm", "POST", "/api/bureau/queries", {
                "subject": last_subject or subject(thread, n), "purpose": "02",
                "for": {"kind": "application", "ref": f"LOAD-{run}-{thread}-{n}"}}
        else:
            yield operation, "jinan.admin", "POST", "/api/users", {
                "username": f"load.{run}.{thread}.{n}", "display_name": "压测", "role": "reviewer",
                "institution": "JNRCB"}


def run(port: int, tokens: dict[str, str], *, threads: int, per_thread: int, run_id: str = "r",
        progress: Callable[[int], None] | None = None) -> Report:
    """``threads`` clients each sending ``per_thread`` writes at once; returns every outcome."""
    report = Report(threads)
    lock = threading.Lock()
    start = threading.Barrier(threads + 1)
    crashed: list[BaseException] = []

    def client(t: int) -> None:
        try:
            send_all(t)
        except BaseException as exc:  # a broken client must fail the run, not vanish with its thread
            crashed.append(exc)
            raise

    def send_all(t: int) -> None:
        conn = Client(port, tokens)
        mine: list[Outcome] = []
        start.wait()
        for operation, user, method, path, body in requests_for(t, per_thread, run_id):
            began = time.perf_counter()
            status, answer = conn.send(user, method, path, body)
            mine.append(Outcome(operation, status, (time.perf_counter() - began) * 1000,
                                answer if not 200 <= status < 300 else None))
            if progress:
                progress(1)
        conn.conn.close()
        with lock:
            report.outcomes.extend(mine)

    workers = [threading.Thread(target=client, args=(t,), daemon=True) for t in range(threads)]
    for w in workers:
        w.start()
    start.wait()
    began = time.perf_counter()
    for w in workers:
        w.join()
    report.seconds = time.perf_counter() - began
    if crashed:
        raise RuntimeError(f"{len(crashed)} client thread(s) crashed") from crashed[0]
    return report
