"""The clinician app through its HTTP interface (in-process), on a real encrypted store.

The bad-input cases live here: each must give the right status and a clear page,
and change nothing in the store.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from coach.notes.make import make_note
from coach.store import Store, open_store
from coach.store.accounts import add_user, assign
from coach.store.audit import verify
from coach.store.clinical import AuditEntry, Note, SignInThrottle, WebSession
from coach.store.schema import CoachSession, Flag, Patient, Turn
from coach.web.app import PRIVATE_FLAG_REASON, create_app
from coach.web.auth import WebConfig

PASSWORD = "a long enough passphrase"


@dataclass
class World:
    store: Store
    mine: int
    theirs: int
    note_id: int
    session_id: int
    flag_id: int
    patient_turn_id: int


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    store = open_store(tmp_path / "coach.db", tmp_path / "db.key")
    with store.session() as db:
        mine, theirs = Patient(name="Maggie Evans"), Patient(name="Tom Hale")
        db.add_all([mine, theirs])
        db.flush()
        lee, kim = add_user(db, "drlee", PASSWORD), add_user(db, "drkim", PASSWORD)
        add_user(db, "admin", PASSWORD, "admin")
        assign(db, lee, mine.id)
        assign(db, kim, theirs.id)
        session = CoachSession(patient_id=mine.id)
        db.add(session)
        db.flush()
        texts = [("patient", "My blood pressure was 142/88 this morning."),
                 ("coach", "Thanks for checking. How are your walks going?"),
                 ("patient", "I walked 5,000 steps yesterday and I'll walk after lunch next week.")]
        turns = [Turn(session_id=session.id, idx=i, role=r, text=t, source="model:x" if r == "coach" else "")
                 for i, (r, t) in enumerate(texts)]
        db.add_all(turns)
        db.flush()
        flag = Flag(patient_id=mine.id, session_id=session.id, turn_id=turns[0].id, category="emergency",
                    reason="test flag")
        db.add(flag)
        db.flush()
        note = make_note(db, session.id, None)
        ids = World(store, mine.id, theirs.id, note.note_id, session.id, flag.id, turns[0].id)
    yield ids
    store.close()


def client_for(world: World, **config: float) -> TestClient:
    cfg = WebConfig(**{"max_failures": 3, "lockout_seconds": 60, **config})  # type: ignore[arg-type]
    return TestClient(create_app(world.store, cfg), follow_redirects=False)


def login(client: TestClient, username: str = "drlee", password: str = PASSWORD, csrf: str | None = None):  # type: ignore[no-untyped-def]
    page = client.get("/login")
    assert page.status_code == 200
    token = csrf if csrf is not None else client.cookies.get("coach_login_csrf")
    return client.post("/login", data={"username": username, "password": password, "csrf": token,
                                       "next": "/"})


def counts(world: World) -> tuple[int, int, int, int]:
    """Audit entries, web sessions, acknowledged flags, reviewed notes."""
    with world.store.session() as db:
        return (db.scalar(select(func.count()).select_from(AuditEntry)) or 0,
                db.scalar(select(func.count()).select_from(WebSession)) or 0,
                db.scalar(select(func.count()).select_from(Flag)
                          .where(Flag.acknowledged_at.is_not(None))) or 0,
                db.scalar(select(func.count()).select_from(Note).where(Note.reviewed_at.is_not(None))) or 0)


def csrf_of(page_html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', page_html)
    assert m, "no CSRF field on the page"
    return m.group(1)


def test_sign_in_sets_a_safe_cookie_and_shows_only_my_patients(world: World) -> None:
    client = client_for(world)
    response = login(client)
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" not in cookie
    page = client.get("/")
    assert page.status_code == 200
    assert "Maggie Evans" in page.text and "Tom Hale" not in page.text
    assert "1 open emergency flag" in page.text
    assert float(page.headers["server-timing"].split("dur=")[1]) > 0


def test_cookie_is_secure_over_https(world: World) -> None:
    client = TestClient(create_app(world.store), base_url="https://testserver", follow_redirects=False)
    assert "secure" in login(client).headers["set-cookie"].lower()


def test_wrong_password_is_refused_and_writes_only_its_audit_entry(world: World) -> None:
    client = client_for(world)
    before = counts(world)
    response = login(client, password="not the password")
    assert response.status_code == 401 and "username or password is not right" in response.text
    assert "coach_session" not in response.headers.get("set-cookie", "")
    assert counts(world) == (before[0] + 1, *before[1:])


def test_sign_in_is_throttled_after_repeated_failures(world: World) -> None:
    client = client_for(world)
    for _ in range(3):
        assert login(client, password="wrong wrong wrong").status_code == 401
    locked = login(client)  # even the right password waits now
    assert locked.status_code == 429 and "Too many failed sign-ins" in locked.text


def test_forged_login_csrf_is_refused(world: World) -> None:
    client = client_for(world)
    before = counts(world)
    response = login(client, csrf="forged-token")
    assert response.status_code == 403 and "out of date" in response.text
    assert counts(world) == before


def test_other_clinicians_patient_and_unknown_patient(world: World) -> None:
    client = client_for(world)
    login(client)
    before = counts(world)
    refused = client.get(f"/patients/{world.theirs}")
    assert refused.status_code == 403 and "not assigned to you" in refused.text
    assert "Traceback" not in refused.text
    assert client.get(f"/api/patients/{world.theirs}").json()["error"] == "Not your patient"
    assert client.get(f"/api/patients/{world.theirs}/fhir").status_code == 403
    missing = client.get("/patients/9999")
    assert missing.status_code == 404 and "no patient with id 9999" in missing.text
    assert client.get("/api/patients/9999").status_code == 404
    assert client.get("/patients/not-a-number").status_code == 400
    assert client.get("/no/such/page").status_code == 404
    # Nothing was read; each of the three refusals is audited.
    assert counts(world)[0] == before[0] + 3 and len(refusals(world)) == 3


def test_note_links_to_transcript_turns_and_can_be_reviewed(world: World) -> None:
    client = client_for(world)
    login(client)
    note = client.get(f"/notes/{world.note_id}")
    assert note.status_code == 200
    assert "Blood pressure 142/88 mmHg" in note.text
    anchor = f"/sessions/{world.session_id}/transcript#turn-{world.patient_turn_id}"
    assert anchor in note.text
    transcript = client.get(f"/sessions/{world.session_id}/transcript")
    assert f'id="turn-{world.patient_turn_id}"' in transcript.text
    before = counts(world)
    forged = client.post(f"/notes/{world.note_id}/review", data={"csrf": "forged"})
    assert forged.status_code == 403 and counts(world) == (before[0] + 1, *before[1:])
    ok = client.post(f"/notes/{world.note_id}/review", data={"csrf": csrf_of(note.text)})
    assert ok.status_code == 303
    assert "Reviewed by <strong>drlee</strong>" in client.get(f"/notes/{world.note_id}").text


def test_flag_acknowledgement_through_the_api(world: World) -> None:
    client = client_for(world)
    login(client)
    token = client.get("/api/me").json()["csrf"]
    before = counts(world)
    bad = client.post(f"/api/flags/{world.flag_id}/ack", content=b"{not json",
                      headers={"content-type": "application/json", "x-csrf-token": token})
    assert bad.status_code == 422 and bad.json()["detail"] == "The request body is not valid JSON."
    no_token = client.post(f"/api/flags/{world.flag_id}/ack", json={})
    assert no_token.status_code == 403
    assert client.post("/api/flags/999/ack", json={}, headers={"x-csrf-token": token}).status_code == 404
    assert counts(world) == (before[0] + 1, *before[1:])  # only the refusal's audit entry
    done = client.post(f"/api/flags/{world.flag_id}/ack", json={"comment": "called her"},
                       headers={"x-csrf-token": token})
    assert done.status_code == 200 and done.json()["acknowledged_by"] == "drlee"
    assert counts(world)[2] == 1
    page = client.get(f"/patients/{world.mine}")
    assert "acknowledged by drlee" in page.text


def test_flag_acknowledgement_form_of_another_clinician_is_refused(world: World) -> None:
    client = client_for(world)
    login(client, "drkim")
    page = client.get("/")
    before = counts(world)
    response = client.post(f"/flags/{world.flag_id}/ack", data={"csrf": csrf_of(page.text)})
    assert response.status_code == 403 and counts(world) == (before[0] + 1, *before[1:])
    assert refusals(world) == [("drkim", world.mine, f"POST /flags/{world.flag_id}/ack")]


def test_session_expires_after_inactivity(world: World) -> None:
    client = client_for(world, idle_seconds=1.0)
    login(client)
    assert client.get("/").status_code == 200
    time.sleep(1.3)
    page = client.get("/")
    assert page.status_code == 303 and "/login?expired=1" in page.headers["location"]
    assert "signed out after a period of inactivity" in client.get(page.headers["location"]).text
    assert client.get("/api/patients").status_code == 401


def test_not_signed_in(world: World) -> None:
    client = client_for(world)
    assert client.get("/").headers["location"].startswith("/login")
    assert client.get("/api/patients").json()["error"] == "Not signed in"
    assert client.post("/logout", data={"csrf": "x"}).status_code == 401


def test_fhir_bundle_is_valid_r4(world: World) -> None:
    from fhir.resources.R4B.bundle import Bundle

    client = client_for(world)
    login(client)
    response = client.get(f"/api/patients/{world.mine}/fhir")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/fhir+json")
    bundle = Bundle.model_validate(response.json())
    kinds = [e.resource.__resource_type__ for e in bundle.entry]
    assert kinds.count("DocumentReference") == 1 and kinds.count("Observation") == 2
    doc = next(e.resource for e in bundle.entry if e.resource.__resource_type__ == "DocumentReference")
    assert doc.type.coding[0].system == "http://loinc.org"
    assert doc.category[0].coding[0].code == "clinical-note"
    bp = next(e.resource for e in bundle.entry if e.resource.__resource_type__ == "Observation"
              and e.resource.code.coding[0].code == "85354-9")
    assert [c.code.coding[0].code for c in bp.component] == ["8480-6", "8462-4"]
    assert [c.valueQuantity.value for c in bp.component] == [142, 88]
    # the same bundle read by models generated from the FHIR 4.0.1 definitions
    from fhirclient.models.bundle import Bundle as R4Bundle

    r4 = R4Bundle(response.json(), strict=True)
    assert sorted(e.resource.resource_type for e in r4.entry) == [
        "DocumentReference", "Observation", "Observation", "Patient"]
    assert response.json()["meta"]["tag"][0]["code"] == "4.0.1"


def test_admin_manages_accounts_and_clinicians_cannot(world: World) -> None:
    clinician = client_for(world)
    login(clinician)
    assert clinician.get("/admin/users").status_code == 403
    admin = client_for(world)
    login(admin, "admin")
    page = admin.get("/admin/users")
    assert page.status_code == 200
    token = csrf_of(page.text)
    added = admin.post("/admin/users", data={"username": "drnew", "password": PASSWORD, "role": "clinician",
                                             "csrf": token})
    assert added.status_code == 303
    assert "Account created." in admin.get(added.headers["location"]).text
    short = admin.post("/admin/users", data={"username": "drshort", "password": "short", "csrf": token})
    assert short.status_code == 400 and "at least 10" in short.text
    assigned = admin.post("/admin/assignments", data={"username": "drnew", "patient_id": world.theirs,
                                                      "csrf": token})
    assert assigned.status_code == 303
    newbie = client_for(world)
    login(newbie, "drnew")
    assert "Tom Hale" in newbie.get("/").text
    assert admin.get(f"/patients/{world.theirs}").status_code == 200  # an admin sees everyone


def test_every_read_is_in_an_intact_audit_chain(world: World) -> None:
    client = client_for(world)
    login(client)
    client.get("/")
    client.get(f"/notes/{world.note_id}")
    client.get(f"/sessions/{world.session_id}/transcript")
    with world.store.session() as db:
        actions = list(db.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
        assert actions[-4:] == ["sign_in", "view_dashboard", "view_note", "view_transcript"]
        assert verify(db).ok


def test_openapi_documents_the_api(world: World) -> None:
    schema = client_for(world).get("/api/openapi.json").json()
    assert "/api/patients/{patient_id}/fhir" in schema["paths"]
    assert all(p.startswith("/api") for p in schema["paths"])


def test_no_page_loads_anything_from_elsewhere(world: World) -> None:
    client = client_for(world)
    assert client.get("/api/docs").status_code == 404  # Swagger UI would load a CDN's scripts
    login(client)
    for path in ("/", f"/patients/{world.mine}", f"/notes/{world.note_id}"):
        page = client.get(path)
        assert "http://" not in page.text.replace("http://loinc", "") and "https://" not in page.text
        assert "default-src 'self'" in page.headers["content-security-policy"]


# ---------- what a probe found (issue 14) ----------

def refusals(world: World) -> list[tuple[str, int | None, str]]:
    with world.store.session() as db:
        return [(e.username, e.patient_id, e.target) for e in db.scalars(
            select(AuditEntry).where(AuditEntry.action == "refused").order_by(AuditEntry.id))]


@pytest.fixture
def live(world: World) -> Iterator[int]:
    """The app behind a real uvicorn server on a free port (raw sockets see what a client sees)."""
    import threading

    import uvicorn

    server = uvicorn.Server(uvicorn.Config(create_app(world.store), host="127.0.0.1", port=0,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    assert server.started
    yield int(server.servers[0].sockets[0].getsockname()[1])
    server.should_exit = True
    thread.join(10)


def raw_answer(port: int, head: str, body: bytes) -> str:
    """Send a request's head and only part of its body; the status line that comes back."""
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head.encode("ascii") + body)
        return s.recv(4096).decode("latin-1").split("\r\n")[0]


def test_anonymous_body_is_refused_before_it_is_read(world: World, live: int) -> None:
    head = ("POST /api/flags/{flag}/ack HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Cookie: coach_session=made-up\r\nContent-Length: {length}\r\n\r\n")
    # The client sends 100 bytes of a declared 50,000 and waits: an answer proves nothing waited for the rest.
    partial = raw_answer(live, head.format(flag=world.flag_id, length=50_000), b"x" * 100)
    assert partial.endswith("401 Unauthorized")
    assert raw_answer(live, head.format(flag=world.flag_id, length=200_000_000), b"x" * 100).endswith(
        "413 Request Entity Too Large")
    chunked = ("POST /logout HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
    assert raw_answer(live, chunked, b"10\r\n" + b"y" * 16).endswith("401 Unauthorized")


def test_signed_in_bodies_are_limited(world: World) -> None:
    client = client_for(world)
    login(client)
    token = client.get("/api/me").json()["csrf"]
    before = counts(world)
    big = client.post(f"/api/flags/{world.flag_id}/ack", content=b'{"comment": "' + b"a" * 100_000 + b'"}',
                      headers={"content-type": "application/json", "x-csrf-token": token})
    assert big.status_code == 413 and big.json()["error"] == "Request too large"
    assert counts(world) == before


def test_lockout_is_per_account_and_address_with_backoff_and_an_admin_unlocks(world: World) -> None:
    app = create_app(world.store, WebConfig(max_failures=3, lockout_seconds=60))

    def at(address: str) -> TestClient:
        return TestClient(app, follow_redirects=False, client=(address, 50000))

    attacker = at("10.0.0.66")
    for _ in range(3):
        assert login(attacker, password="wrong wrong wrong").status_code == 401
    assert login(attacker).status_code == 429  # that account, from that address, waits
    assert login(at("10.0.0.7")).status_code == 303  # the clinician at her own desk does not
    assert login(attacker, "drkim").status_code == 303  # nor another account behind the same address
    with world.store.session() as db:
        first = auth_row(db, "drlee", "10.0.0.66")
        db.execute(update(SignInThrottle).values(locked_until=None))
    for _ in range(3):
        login(attacker, password="wrong wrong wrong")
    with world.store.session() as db:
        second = auth_row(db, "drlee", "10.0.0.66")
    assert second > first * 1.5  # the second lockout in a row lasts longer
    admin = client_for(world)
    login(admin, "admin")
    users = admin.get("/admin/users")
    assert "locked until" in users.text
    assert admin.post("/admin/users/unlock", data={"username": "drlee", "csrf": csrf_of(users.text)}
                      ).status_code == 303
    assert login(attacker).status_code == 303
    with world.store.session() as db:
        actions = [(e.action, e.username) for e in db.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert ("sign_in_failed", "drlee") in actions and ("sign_in_refused", "drlee") in actions
    assert ("unlock_user", "admin") in actions


def auth_row(db: Session, username: str, address: str) -> float:
    """Seconds of the account's current lockout from an address."""
    row = db.get(SignInThrottle, (username, address))
    assert row is not None and row.locked_until is not None
    return (row.locked_until - row.window_start).total_seconds()


def test_refused_reads_and_failed_sign_ins_are_audited(world: World) -> None:
    client = client_for(world)
    login(client, password="not the password")
    login(client)
    assert client.get(f"/patients/{world.theirs}").status_code == 403
    assert client.get(f"/api/patients/{world.theirs}").status_code == 403
    assert refusals(world) == [("drlee", world.theirs, f"GET /patients/{world.theirs}"),
                               ("drlee", world.theirs, f"GET /api/patients/{world.theirs}")]
    with world.store.session() as db:
        failed = db.scalar(select(AuditEntry).where(AuditEntry.action == "sign_in_failed"))
        assert failed is not None and failed.username == "drlee" and "from testclient" in failed.detail
        assert verify(db).ok


def test_signing_in_again_ends_the_old_session(world: World) -> None:
    client = client_for(world)
    login(client)
    old = client.cookies.get("coach_session")
    login(client)
    assert client.cookies.get("coach_session") != old
    stale = client_for(world)
    stale.cookies.set("coach_session", old or "")
    assert stale.get("/api/patients").status_code == 401
    assert client.get("/api/patients").status_code == 200


def test_flags_of_a_private_memory_session_show_no_words(world: World) -> None:
    words = "I have said my goodbyes to most of the family now"
    with world.store.session() as db:
        memory = CoachSession(patient_id=world.mine, kind="memory")
        db.add(memory)
        db.flush()
        db.add(Flag(patient_id=world.mine, session_id=memory.id, category="crisis",
                    reason=f'crisis: "{words}"'))
    client = client_for(world)
    login(client)
    flags = client.get(f"/api/patients/{world.mine}").json()["flags"]
    private = [f for f in flags if f["session_id"] == memory.id]
    assert private and private[0]["reason"] == PRIVATE_FLAG_REASON and private[0]["category"] == "crisis"
    assert any(f["reason"] == "test flag" for f in flags)  # a coaching session's flag keeps its words
    page = client.get(f"/patients/{world.mine}").text
    assert words not in page and "private memory session" in page
