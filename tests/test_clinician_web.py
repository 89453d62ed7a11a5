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
from sqlalchemy import func, select

from coach.notes.make import make_note
from coach.store import Store, open_store
from coach.store.accounts import add_user, assign
from coach.store.audit import verify
from coach.store.clinical import AuditEntry, Note, WebSession
from coach.store.schema import CoachSession, Flag, Patient, Turn
from coach.web.app import create_app
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


def test_wrong_password_is_refused_and_writes_nothing(world: World) -> None:
    client = client_for(world)
    before = counts(world)
    response = login(client, password="not the password")
    assert response.status_code == 401 and "username or password is not right" in response.text
    assert "coach_session" not in response.headers.get("set-cookie", "")
    assert counts(world) == before


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
    assert counts(world)[0] == before[0]  # no audit entry: nothing was read


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
    assert forged.status_code == 403 and counts(world) == before
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
    assert counts(world) == before
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
    assert response.status_code == 403 and counts(world) == before


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
