"""A clinician's visit in a real browser: Playwright drives Debian's Chromium against a real
`coach serve` process on a free port, over a real encrypted store in a temporary COACH_HOME."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from coach.notes.make import make_note
from coach.store import open_store
from coach.store.accounts import add_user, assign
from coach.store.schema import CoachSession, Flag, Patient, Turn

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PASSWORD = "a long enough passphrase"
IDLE_MINUTES = 0.1
"""Six seconds: long enough for each step of the visit, short enough to wait out."""


@dataclass
class Server:
    url: str
    mine: int
    theirs: int
    note_id: int
    turn_id: int


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _fill(home: Path) -> tuple[int, int, int, int]:
    store = open_store(home / "coach.db", home / "db.key")
    with store.session() as db:
        mine, theirs = Patient(name="Maggie Evans"), Patient(name="Tom Hale")
        db.add_all([mine, theirs])
        db.flush()
        lee, kim = add_user(db, "drlee", PASSWORD, display_name="Dr Lee"), add_user(db, "drkim", PASSWORD)
        assign(db, lee, mine.id)
        assign(db, kim, theirs.id)
        session = CoachSession(patient_id=mine.id)
        db.add(session)
        db.flush()
        lines = [("patient", "Hi Sam. My blood pressure was 142/88 this morning."),
                 ("coach", "Thanks for checking it. How have your walks been?"),
                 ("patient", "My knees ache after fifteen minutes, but I'll walk after lunch next week.")]
        turns = [Turn(session_id=session.id, idx=i, role=r, text=t) for i, (r, t) in enumerate(lines)]
        db.add_all(turns)
        db.flush()
        db.add(Flag(patient_id=mine.id, session_id=session.id, turn_id=turns[0].id, category="emergency",
                    reason="chest pain mentioned"))
        note = make_note(db, session.id, None)
        ids = mine.id, theirs.id, note.note_id, turns[0].id
    store.close()
    return ids


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("serve-home")
    mine, theirs, note_id, turn_id = _fill(home)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COACH_")}
    env.update({"COACH_HOME": str(home), "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    proc = subprocess.Popen([sys.executable, "-m", "coach.cli", "serve", "--port", str(port),
                             "--idle-minutes", str(IDLE_MINUTES)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{url}/login", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read() if proc.stdout else ""
                pytest.fail(f"coach serve did not start: {out}")
            time.sleep(0.3)
        yield Server(url, mine, theirs, note_id, turn_id)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    output = proc.stdout.read() if proc.stdout else ""
    assert "Traceback" not in output, output


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: `make sysdeps` (or apt-get install chromium) installs it")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


def _sign_in(page, server: Server) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{server.url}/")
    assert "/login" in page.url
    page.fill("input[name=username]", "drlee")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/")


def test_a_clinicians_visit(server: Server, browser) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context()
    page = context.new_page()
    _sign_in(page, server)
    # The dashboard: my patient, with the open flag first; not the other clinician's patient.
    row = page.locator("table.patients tbody tr").first
    assert "Maggie Evans" in row.inner_text() and "open emergency flag" in row.inner_text()
    assert "Tom Hale" not in page.content()
    cookie = next(c for c in context.cookies() if c["name"] == "coach_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    # Patient page, then the note, then a statement's link to the turn that supports it.
    page.click("text=Maggie Evans")
    page.wait_for_url(f"{server.url}/patients/{server.mine}")
    assert page.locator("figure.chart svg").count() >= 1  # the reported blood pressure
    page.click(f"a[href='/notes/{server.note_id}']")
    page.wait_for_url(f"{server.url}/notes/{server.note_id}")
    reading = page.locator("#section-readings li.statement").first
    assert "Blood pressure 142/88 mmHg" in reading.inner_text()
    reading.locator("a.turn-link").first.click()
    page.wait_for_url(f"**/transcript#turn-{server.turn_id}")
    target = page.locator(f"#turn-{server.turn_id}")
    assert "142/88" in target.inner_text()
    assert page.evaluate("location.hash") == f"#turn-{server.turn_id}"
    assert page.evaluate(f"document.querySelector('#turn-{server.turn_id}').matches(':target')")
    # Another clinician's patient: refused with a clear page.
    response = page.goto(f"{server.url}/patients/{server.theirs}")
    assert response is not None and response.status == 403
    assert "not assigned to you" in page.inner_text("main")
    # Mark the note reviewed, with who and when.
    page.goto(f"{server.url}/notes/{server.note_id}")
    page.click("text=Mark as reviewed")
    page.wait_for_selector("text=Reviewed by")
    assert "drlee" in page.inner_text("#review")
    context.close()


def test_signed_out_after_inactivity(server: Server, browser) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context()
    page = context.new_page()
    _sign_in(page, server)
    assert "Maggie Evans" in page.content()
    # Leave the page alone: past the idle limit the page reloads itself and the server,
    # having ended the session, shows the sign-in page instead of patient data.
    page.wait_for_selector("#notice", timeout=int(IDLE_MINUTES * 60 * 1000) + 15000)
    assert "/login" in page.url
    assert "signed out after a period of inactivity" in page.inner_text("#notice")
    assert "Maggie Evans" not in page.content()
    assert page.goto(f"{server.url}/api/patients").status == 401
    context.close()
