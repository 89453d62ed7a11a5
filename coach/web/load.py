"""Many clients at once against a real server: the load test behind `coach bench web --concurrency`.

It starts `coach serve` as its own process on a free port (the server a clinic runs, with
its thread pool, not an in-process test client), signs each client in as a temporary
admin, and has every client mix page views, API reads, a flag acknowledgement and
anonymous requests with random cookies and oversized bodies. An error is any answer other
than the one that request must get, or no answer at all. Afterwards the audit chain must
still verify, and each counted page view must have left its entry.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import delete, func, select

from coach.store import audit
from coach.store.accounts import add_user
from coach.store.clinical import AuditEntry, Note, SignInThrottle, User, WebSession
from coach.store.db import Store
from coach.store.schema import Flag

START_TIMEOUT_S = 90.0


class LoadError(Exception):
    """The load test could not run (no data, or the server did not start); the message says why."""


@dataclass(frozen=True)
class Probe:
    """One kind of request and the statuses it may rightly get."""

    name: str
    method: str
    path: str
    ok: frozenset[int]
    signed: bool = True
    body: bytes | None = None
    headers: tuple[tuple[str, str], ...] = ()


@dataclass
class ClientResult:
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    audited_reads: int = 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def probes(patient_id: int, note_id: int, flag_id: int) -> list[Probe]:
    """What each client sends, in turn; the last three come from nobody signed in."""
    big = b"x" * (256 * 1024)
    return [
        Probe("dashboard", "GET", "/", frozenset({200})),
        Probe("api patients", "GET", "/api/patients", frozenset({200})),
        Probe("patient page", "GET", f"/patients/{patient_id}", frozenset({200})),
        Probe("api patient", "GET", f"/api/patients/{patient_id}", frozenset({200})),
        Probe("api note", "GET", f"/api/notes/{note_id}", frozenset({200})),
        Probe("api ack", "POST", f"/api/flags/{flag_id}/ack", frozenset({200}), body=b'{"comment": "seen"}',
              headers=(("content-type", "application/json"),)),
        Probe("anonymous page", "GET", "/", frozenset({303}), signed=False),
        Probe("anonymous api", "GET", "/api/patients", frozenset({401}), signed=False),
        Probe("anonymous big post", "POST", f"/api/flags/{flag_id}/ack", frozenset({401, 413}),
              signed=False, body=big, headers=(("content-type", "application/json"),)),
    ]


AUDITED = frozenset({"dashboard", "api patients", "patient page", "api patient", "api note"})
"""Reads that must each leave one audit entry."""


def _sign_in(client: httpx.Client, username: str, password: str) -> str:
    form = client.get("/login")
    token = form.cookies.get("coach_login_csrf") or client.cookies.get("coach_login_csrf") or ""
    answer = client.post("/login", data={"username": username, "password": password, "csrf": token,
                                         "next": "/"})
    if answer.status_code != 303:
        raise LoadError(f"the temporary admin could not sign in ({answer.status_code})")
    return str(client.get("/api/me").json()["csrf"])


def _client(base: str, username: str, password: str, plan: list[Probe], requests: int,
            start: threading.Barrier, result: ClientResult) -> None:
    try:
        with httpx.Client(base_url=base, follow_redirects=False, timeout=120.0) as client, \
                httpx.Client(base_url=base, follow_redirects=False, timeout=120.0) as anonymous:
            csrf = _sign_in(client, username, password)
            start.wait()
            for n in range(requests):
                probe = plan[n % len(plan)]
                headers = dict(probe.headers)
                if probe.signed:
                    headers["x-csrf-token"] = csrf
                else:
                    headers["cookie"] = f"coach_session={secrets.token_urlsafe(32)}"
                began = time.perf_counter()
                try:
                    answer = (client if probe.signed else anonymous).request(
                        probe.method, probe.path, content=probe.body, headers=headers)
                except httpx.HTTPError as exc:
                    result.errors[f"{probe.name}: {type(exc).__name__}"] += 1
                    continue
                result.latencies_ms.append((time.perf_counter() - began) * 1000)
                if answer.status_code not in probe.ok:
                    result.errors[f"{probe.name}: HTTP {answer.status_code}"] += 1
                elif probe.name in AUDITED:
                    result.audited_reads += 1
    except (httpx.HTTPError, LoadError, threading.BrokenBarrierError) as exc:
        result.errors[f"sign-in: {type(exc).__name__}: {exc}"] += 1


def _start_server(port: int, config_file: Path | None) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-c", "from coach.cli.main import main; main()"]
    if config_file is not None:
        args += ["--config", str(config_file)]
    args += ["serve", "--port", str(port)]
    server = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            err = server.stderr.read().decode("utf-8", "replace") if server.stderr else ""
            raise LoadError(f"the server exited at start ({server.returncode}): {err.strip()[-400:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/login", timeout=2.0).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise LoadError(f"the server did not answer within {START_TIMEOUT_S:.0f} s")


def run_load(store: Store, concurrency: int, requests: int,
             config_file: Path | None = None) -> dict[str, Any]:
    """`concurrency` clients, each sending `requests` requests at once against `coach serve`."""
    if concurrency < 1 or requests < 1:
        raise LoadError("--concurrency and --requests must be at least 1")
    name, password = f"load-{secrets.token_hex(4)}", secrets.token_urlsafe(16)
    with store.session() as db:
        note = db.scalar(select(Note).order_by(Note.id).limit(1))
        flag_id = db.scalar(select(Flag.id).order_by(Flag.id).limit(1))
        if note is None or flag_id is None:
            raise LoadError("the store needs patients with notes and flags; fill a throwaway one "
                            "with `coach seed` first")
        patient_id, note_id = note.patient_id, note.id
        user = add_user(db, name, password, "admin", "Load test")
        audit_before = db.scalar(select(func.count()).select_from(AuditEntry)) or 0
    port = free_port()
    server = _start_server(port, config_file)
    results = [ClientResult() for _ in range(concurrency)]
    plan = probes(patient_id, note_id, flag_id)
    start = threading.Barrier(concurrency + 1, timeout=300)
    threads = [threading.Thread(target=_client, args=(f"http://127.0.0.1:{port}", name, password, plan,
                                                      requests, start, r), daemon=True)
               for r in results]
    try:
        for t in threads:
            t.start()
        with contextlib.suppress(threading.BrokenBarrierError):
            start.wait()
        began = time.perf_counter()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - began
        crashed = server.poll()
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        stderr = server.stderr.read().decode("utf-8", "replace") if server.stderr else ""
        with store.session() as db:
            db.execute(delete(WebSession).where(WebSession.user_id == user.id))
            db.execute(delete(SignInThrottle).where(SignInThrottle.username == name))
            db.execute(delete(User).where(User.id == user.id))
    errors: Counter[str] = Counter()
    for r in results:
        errors.update(r.errors)
    if crashed is not None:
        errors[f"server exited with {crashed}"] += 1
    latencies = sorted(x for r in results for x in r.latencies_ms)
    with store.reading() as db:
        report = audit.verify(db)
        audit_after = db.scalar(select(func.count()).select_from(AuditEntry)) or 0
    audited = sum(r.audited_reads for r in results)
    return {
        "concurrency": concurrency, "requests": len(latencies) + sum(errors.values()),
        "errors": sum(errors.values()), "error_kinds": dict(errors),
        "seconds": round(elapsed, 2),
        "requests_per_s": round(len(latencies) / elapsed, 1) if elapsed > 0 else 0.0,
        "median_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p90_ms": round(latencies[int(0.9 * (len(latencies) - 1))], 1) if latencies else None,
        "audit_ok": report.ok, "audit_problem": report.problem,
        "audit_entries_added": audit_after - audit_before, "audited_reads": audited,
        "server_log_errors": sum(1 for line in stderr.splitlines() if "Traceback" in line),
    }
