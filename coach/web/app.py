"""The clinician web app: server-rendered pages and a JSON API over the coach's own store.

Every route that shows or changes patient data first resolves the signed-in user
and checks the patient is theirs (an admin sees all); every read or change leaves
an audit entry. A refused request changes nothing but its own audit entry: errors
are raised before any write, and the session's "last seen" time is only moved on
for requests that succeeded.

The app is served by a thread pool: every route opens its own units of work on the
store, so no statement, connection or ORM object crosses between requests. A read
runs in `Store.reading()`, beside other readers, and its audit entry is committed
(under the write lock, briefly) before its data is sent; a change and its entry
commit together in one `Store.session()`. A refused request (403) is audited too.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from coach.legacy import legacy_status
from coach.notes.draft import SECTION_TITLES, SECTIONS
from coach.store import audit
from coach.store.accounts import (
    Account,
    AccountError,
    add_user,
    assign,
    assigned_patient_ids,
    authenticate,
    get_user,
    may_see,
    unassign,
)
from coach.store.clinical import ROLES, Assignment, Note, Reading, User
from coach.store.db import Store
from coach.store.schema import CheckIn, CoachSession, Flag, Goal, Patient, Turn, utcnow
from coach.web import auth
from coach.web.attention import attention
from coach.web.charts import Series, line_chart
from coach.web.limits import BodyGuard

HERE = Path(__file__).parent
log = logging.getLogger("coach.web")


class Refused(Exception):
    """A request the app turns down, shown as a clear page (or JSON under /api)."""

    def __init__(self, status: int, title: str, message: str, patient_id: int | None = None) -> None:
        super().__init__(message)
        self.status, self.title, self.message = status, title, message
        self.patient_id = patient_id


class NotSignedIn(Exception):
    def __init__(self, expired: bool = False) -> None:
        super().__init__("not signed in")
        self.expired = expired


class AckBody(BaseModel):
    """Body of a flag acknowledgement through the API."""

    comment: str = Field(default="", max_length=500)


@dataclass
class AppState:
    store: Store
    config: auth.WebConfig


def _lookup(store: Store, config: auth.WebConfig, request: Request) -> auth.SignedIn:
    token = request.cookies.get(auth.SESSION_COOKIE)
    with store.reading() as db:
        try:
            signed = auth.lookup(db, token, config.idle_seconds)
        except auth.SessionExpired:
            raise NotSignedIn(expired=True) from None
    if signed is None:
        raise NotSignedIn()
    return signed


def signed_in(request: Request) -> auth.SignedIn:
    """The signed-in user, or NotSignedIn (expired when the session idled out). Writes nothing.

    A request with a body was already looked up by the body guard, before its body was read.
    """
    known: auth.SignedIn | None = getattr(request.state, "signed", None)
    if known is not None:
        return known
    state: AppState = request.app.state.coach
    signed = _lookup(state.store, state.config, request)
    request.state.signed = signed
    return signed


Signed = Annotated[auth.SignedIn, Depends(signed_in)]


def admin(signed: Signed) -> auth.SignedIn:
    if not signed.user.is_admin:
        raise Refused(403, "Administrators only", "Only an administrator can manage accounts.")
    return signed


AdminSigned = Annotated[auth.SignedIn, Depends(admin)]


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api")


def create_app(store: Store, config: auth.WebConfig | None = None) -> FastAPI:
    config = config or auth.WebConfig()
    state = AppState(store, config)
    # No Swagger page: it loads its scripts from a CDN. The schema itself is served.
    app = FastAPI(title="Coach clinician API", version="1", docs_url=None,
                  openapi_url="/api/openapi.json", redoc_url=None)
    app.state.coach = state
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals["SECTION_TITLES"] = SECTION_TITLES
    templates.env.globals["fmt_dt"] = _fmt_dt
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    def secure(request: Request) -> bool:
        if config.secure_cookies is not None:
            return config.secure_cookies
        return request.url.scheme == "https"

    def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        signed: auth.SignedIn | None = getattr(request.state, "signed", None)
        context.setdefault("user", signed.user if signed else None)
        context.setdefault("csrf", signed.csrf if signed else "")
        context["idle_seconds"] = int(config.idle_seconds)
        return templates.TemplateResponse(request, name, context, status_code=status)

    def error_page(request: Request, status: int, title: str, message: str) -> Response:
        if _is_api(request):
            return JSONResponse({"error": title, "detail": message}, status_code=status)
        return page(request, "error.html", status, title=title, message=message)

    # ---------- errors: a clear page, never a traceback ----------

    @app.exception_handler(Refused)
    async def _refused(request: Request, exc: Refused) -> Response:
        signed: auth.SignedIn | None = getattr(request.state, "signed", None)
        if exc.status == 403 and signed is not None:
            await run_in_threadpool(_record_refusal, signed, request, exc)
        return error_page(request, exc.status, exc.title, exc.message)

    def _record_refusal(signed: auth.SignedIn, request: Request, exc: Refused) -> None:
        with store.session() as db:
            record(db, signed.user, "refused", exc.patient_id, f"{request.method} {request.url.path}",
                   exc.title)

    @app.exception_handler(NotSignedIn)
    async def _not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        return not_signed_in_response(request, exc)

    def not_signed_in_response(request: Request, exc: NotSignedIn) -> Response:
        message = ("You were signed out after a period of inactivity. Please sign in again."
                   if exc.expired else "Please sign in to continue.")
        if _is_api(request):
            response: Response = JSONResponse({"error": "Not signed in", "detail": message},
                                              status_code=401)
        elif request.method == "GET":
            response = RedirectResponse(f"/login?{'expired=1&' if exc.expired else ''}next="
                                        f"{request.url.path}", status_code=303)
        else:
            response = page(request, "error.html", 401, title="Not signed in", message=message)
        if exc.expired:
            response.delete_cookie(auth.SESSION_COOKIE, path="/")
        return response

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        titles = {404: "Not found", 405: "Not allowed", 401: "Not signed in"}
        message = ("There is no page at this address." if exc.status_code == 404
                   else str(exc.detail))
        return error_page(request, exc.status_code, titles.get(exc.status_code, "Request refused"),
                          message)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            problems.append(f"{where or 'body'}: {err.get('msg', 'invalid')}")
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            message = "The request body is not valid JSON."
        else:
            message = "The request was not understood: " + "; ".join(problems)
        return error_page(request, 422 if _is_api(request) else 400, "Invalid request", message)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path)
        return error_page(request, 500, "Something went wrong",
                          "The server could not complete this request; nothing was changed. "
                          "Try again, and tell your administrator if it keeps happening.")

    # ---------- middleware: bodies, timing, idle clock, headers ----------

    async def guard_signed_in(request: Request) -> Response | None:
        try:
            request.state.signed = await run_in_threadpool(_lookup, store, config, request)
        except NotSignedIn as exc:
            return not_signed_in_response(request, exc)
        return None

    def too_large(request: Request) -> Response:
        return error_page(request, 413, "Request too large",
                          f"The request body is over {config.max_body_bytes // 1024} KiB; nothing "
                          "was read or changed.")

    app.add_middleware(BodyGuard, max_bytes=config.max_body_bytes, open_paths=frozenset({"/login"}),
                       signed_in=guard_signed_in, too_large=too_large)

    @app.middleware("http")
    async def _timing(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        signed: auth.SignedIn | None = getattr(request.state, "signed", None)
        if signed is not None and response.status_code < 400 and not getattr(request.state, "ended", False):
            await run_in_threadpool(_touch, signed.session_id)
        ms = (time.perf_counter() - started) * 1000
        response.headers["Server-Timing"] = f"app;dur={ms:.1f}"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'; form-action 'self'")
        if not request.url.path.startswith("/static"):
            response.headers["Cache-Control"] = "no-store"
        return response

    def _touch(session_id: int) -> None:
        with store.session() as db:
            auth.touch(db, session_id)

    # ---------- dependencies ----------

    def check_csrf(signed: auth.SignedIn, token: str | None) -> None:
        if not auth.same_token(token, signed.csrf):
            raise Refused(403, "Form expired", "This form is out of date or did not come from this "
                          "site. Go back, reload the page and try again.")

    def patient_for(db: Session, user: Account, patient_id: int) -> Patient:
        patient = db.get(Patient, patient_id)
        if patient is None:
            raise Refused(404, "No such patient", f"There is no patient with id {patient_id}.")
        if not may_see(db, user, patient_id):
            raise Refused(403, "Not your patient",
                          "This patient is not assigned to you. Ask an administrator if you "
                          "need access.", patient_id)
        return patient

    def note_for(db: Session, user: Account, note_id: int) -> Note:
        note = db.get(Note, note_id)
        if note is None:
            raise Refused(404, "No such note", f"There is no note with id {note_id}.")
        patient_for(db, user, note.patient_id)
        return note

    def session_for(db: Session, user: Account, session_id: int) -> CoachSession:
        session = db.get(CoachSession, session_id)
        if session is None:
            raise Refused(404, "No such session", f"There is no session with id {session_id}.")
        patient_for(db, user, session.patient_id)
        if session.kind == "memory" and not legacy_status(db, session.patient_id)["content_shared"]:
            raise Refused(403, "A private memory session",
                          "This is a palliative memory session. Its words belong to the patient, who has "
                          "not shared them with the care team; its progress is on the patient's page.",
                          session.patient_id)
        return session

    def flag_for(db: Session, user: Account, flag_id: int) -> Flag:
        flag = db.get(Flag, flag_id)
        if flag is None:
            raise Refused(404, "No such flag", f"There is no flag with id {flag_id}.")
        patient_for(db, user, flag.patient_id)
        return flag

    def record(db: Session, user: Account, action: str, patient_id: int | None = None,
               target: str = "", detail: str = "") -> None:
        audit.record(db, user.username, action, user_id=user.id, patient_id=patient_id,
                     target=target, detail=detail)

    def audit_read(user: Account, action: str, patient_id: int | None = None, target: str = "",
                   detail: str = "") -> None:
        """Audit a read after it, before its data leaves: no page is shown without its entry.

        The read itself ran in a reading unit of work, beside other readers; only this short
        append holds the write lock, so a slow dashboard does not queue every other request.
        """
        with store.session() as db:
            record(db, user, action, patient_id, target, detail)

    # ---------- sign in / out ----------

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_form(request: Request, expired: int = 0, next: str = "/") -> Response:
        token = request.cookies.get(auth.LOGIN_CSRF_COOKIE) or auth.new_csrf()
        notice = "You were signed out after a period of inactivity." if expired else ""
        response = page(request, "login.html", login_csrf=token, notice=notice, next=_safe_next(next),
                        error="")
        response.set_cookie(auth.LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                            secure=secure(request), path="/login")
        return response

    @app.post("/login", include_in_schema=False)
    def login(request: Request, username: str = Form(""), password: str = Form(""),
              csrf: str = Form(""), next: str = Form("/")) -> Response:
        if not auth.same_token(csrf, request.cookies.get(auth.LOGIN_CSRF_COOKIE)):
            raise Refused(403, "Form expired", "The sign-in form was out of date. Reload the page "
                          "and sign in again.")
        address = request.client.host if request.client else "unknown"
        with store.session() as db:
            wait = auth.lockout_left(db, username, address)
            if wait > 0:
                audit.record(db, username.strip().lower() or "-", "sign_in_refused",
                             detail=f"locked out; from {address}")
                return page(request, "login.html", 429, login_csrf=csrf, notice="",
                            next=_safe_next(next), error=f"Too many failed sign-ins. Wait "
                            f"{int(wait // 60) + 1} minute(s) and try again, or ask an "
                            "administrator to unlock your account.")
            user = authenticate(db, username, password)
            if user is None:
                locked = auth.sign_in_failed(db, config, username, address)
                audit.record(db, username.strip().lower() or "-", "sign_in_failed",
                             detail=f"from {address}" + (f"; locked for {locked:.0f} s" if locked else ""))
                return page(request, "login.html", 401, login_csrf=csrf, notice="", next=_safe_next(next),
                            error="The username or password is not right.")
            auth.sign_in_succeeded(db, username, address)
            auth.end_idle_sessions(db, config.idle_seconds)
            # Signing in again ends the session this browser held before (rotation), so an
            # old cookie copied from it is worth nothing.
            auth.end_session(db, request.cookies.get(auth.SESSION_COOKIE))
            token = auth.start_session(db, user)
            audit.record(db, user.username, "sign_in", user_id=user.id, detail=f"from {address}")
        response = RedirectResponse(_safe_next(next), status_code=303)
        response.set_cookie(auth.SESSION_COOKIE, token, httponly=True, samesite="strict",
                            secure=secure(request), path="/")
        response.delete_cookie(auth.LOGIN_CSRF_COOKIE, path="/login")
        return response

    @app.post("/logout", include_in_schema=False)
    def logout(signed: Signed, request: Request, csrf: str = Form("")) -> Response:
        check_csrf(signed, csrf)
        with store.session() as db:
            auth.end_session(db, request.cookies.get(auth.SESSION_COOKIE))
            audit.record(db, signed.user.username, "sign_out", user_id=signed.user.id)
        request.state.ended = True
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(auth.SESSION_COOKIE, path="/")
        return response

    # ---------- pages ----------

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def dashboard(signed: Signed, request: Request) -> Response:
        with store.reading() as db:
            rows = attention(db, assigned_patient_ids(db, signed.user), config.no_contact_days)
        audit_read(signed.user, "view_dashboard", detail=f"{len(rows)} patients")
        return page(request, "dashboard.html", rows=rows, now=utcnow(),
                    no_contact_days=config.no_contact_days)

    @app.get("/patients/{patient_id}", response_class=HTMLResponse, include_in_schema=False)
    def patient_page(signed: Signed, request: Request, patient_id: int) -> Response:
        with store.reading() as db:
            patient = patient_for(db, signed.user, patient_id)
            context = _patient_context(db, patient)
        audit_read(signed.user, "view_patient", patient_id, f"patient:{patient_id}")
        return page(request, "patient.html", **context)

    @app.get("/notes/{note_id}", response_class=HTMLResponse, include_in_schema=False)
    def note_page(signed: Signed, request: Request, note_id: int) -> Response:
        with store.reading() as db:
            note = note_for(db, signed.user, note_id)
            patient = db.get(Patient, note.patient_id)
            session = db.get(CoachSession, note.session_id)
            turns = {t.id: t for t in db.scalars(select(Turn).where(Turn.session_id == note.session_id))}
            sections = [(name, [s for s in note.statements if s.section == name]) for name in SECTIONS]
        audit_read(signed.user, "view_note", note.patient_id, f"note:{note_id}")
        return page(request, "note.html", note=note, patient=patient, session=session,
                    sections=sections, turn_no={tid: t.idx + 1 for tid, t in turns.items()})

    @app.post("/notes/{note_id}/review", include_in_schema=False)
    def review_note(signed: Signed, note_id: int, csrf: str = Form("")) -> Response:
        check_csrf(signed, csrf)
        with store.session() as db:
            note = note_for(db, signed.user, note_id)
            if note.reviewed_at is None:
                note.reviewed_by, note.reviewed_at = signed.user.username, utcnow()
                record(db, signed.user, "review_note", note.patient_id, f"note:{note_id}")
        return RedirectResponse(f"/notes/{note_id}", status_code=303)

    @app.get("/sessions/{session_id}/transcript", response_class=HTMLResponse, include_in_schema=False)
    def transcript(signed: Signed, request: Request, session_id: int) -> Response:
        with store.reading() as db:
            session = session_for(db, signed.user, session_id)
            patient = db.get(Patient, session.patient_id)
            turns = db.scalars(select(Turn).where(Turn.session_id == session_id).order_by(Turn.idx)).all()
            note = db.scalar(select(Note).where(Note.session_id == session_id))
            linked: dict[int, list[str]] = {}
            if note is not None:
                for s in note.statements:
                    for tid in s.turn_ids:
                        linked.setdefault(tid, []).append(SECTION_TITLES[s.section])
        audit_read(signed.user, "view_transcript", session.patient_id, f"session:{session_id}")
        return page(request, "transcript.html", session=session, patient=patient, turns=turns,
                    note=note, linked=linked)

    @app.post("/flags/{flag_id}/ack", include_in_schema=False)
    def ack_flag_form(signed: Signed, flag_id: int, csrf: str = Form("")) -> Response:
        check_csrf(signed, csrf)
        with store.session() as db:
            flag = flag_for(db, signed.user, flag_id)
            _acknowledge(db, signed.user, flag, "")
            patient_id = flag.patient_id
        return RedirectResponse(f"/patients/{patient_id}#flags", status_code=303)

    def _acknowledge(db: Session, user: Account, flag: Flag, comment: str) -> None:
        if flag.acknowledged_at is not None:
            return
        flag.acknowledged_by, flag.acknowledged_at = user.username, utcnow()
        record(db, user, "acknowledge_flag", flag.patient_id, f"flag:{flag.id}", comment)

    # ---------- admin ----------

    @app.get("/admin/users", response_class=HTMLResponse, include_in_schema=False)
    def users_page(signed: AdminSigned, request: Request, done: str = "") -> Response:
        with store.session() as db:
            users = db.scalars(select(User).order_by(User.username)).all()
            assigned = {u.id: sorted(db.scalars(select(Assignment.patient_id)
                                                .where(Assignment.user_id == u.id))) for u in users}
            locked = auth.locked_accounts(db)
        return page(request, "users.html", users=users, assigned=assigned, roles=ROLES,
                    locked=locked, message=_DONE.get(done, ""), error="")

    @app.post("/admin/users/unlock", include_in_schema=False)
    def users_unlock(signed: AdminSigned, username: str = Form(""), csrf: str = Form("")) -> Response:
        check_csrf(signed, csrf)
        with store.session() as db:
            lifted = auth.unlock(db, username)
            record(db, signed.user, "unlock_user", target=f"user:{username[:60]}",
                   detail=f"{lifted} lockout(s) lifted")
        return RedirectResponse("/admin/users?done=unlocked", status_code=303)

    @app.post("/admin/users", include_in_schema=False)
    def users_add(signed: AdminSigned, request: Request, username: str = Form(""),
                  display_name: str = Form(""),
                  role: str = Form("clinician"), password: str = Form(""), csrf: str = Form("")) -> Response:
        check_csrf(signed, csrf)
        try:
            with store.session() as db:
                user = add_user(db, username, password, role, display_name)
                record(db, signed.user, "add_user", target=f"user:{user.id}", detail=user.username)
        except AccountError as exc:
            raise Refused(400, "Account not created", str(exc)) from None
        return RedirectResponse("/admin/users?done=added", status_code=303)

    @app.post("/admin/assignments", include_in_schema=False)
    def assignments(signed: AdminSigned, username: str = Form(""), patient_id: int = Form(...),
                    action: str = Form("assign"),
                    csrf: str = Form("")) -> Response:
        check_csrf(signed, csrf)
        try:
            with store.session() as db:
                user = get_user(db, username)
                changed = (assign(db, user, patient_id) if action == "assign"
                           else unassign(db, user, patient_id))
                if changed:
                    record(db, signed.user, action, patient_id, f"user:{user.id}", user.username)
        except AccountError as exc:
            raise Refused(400, "Assignment not changed", str(exc)) from None
        return RedirectResponse("/admin/users?done=assigned", status_code=303)

    # ---------- JSON API ----------

    @app.get("/api/patients", tags=["patients"])
    def api_patients(signed: Signed) -> list[dict[str, Any]]:
        """Patients the user may see, in the order they need attention."""
        with store.reading() as db:
            rows = attention(db, assigned_patient_ids(db, signed.user), config.no_contact_days)
        audit_read(signed.user, "list_patients", detail=f"{len(rows)} patients")
        return [{"id": r.patient_id, "name": r.name, "attention": r.tier_name, "reasons": r.reasons,
                 "open_flags": r.open_flags, "unreviewed_notes": r.unreviewed_notes,
                 "last_contact": r.last_contact.isoformat() if r.last_contact else None} for r in rows]

    @app.get("/api/patients/{patient_id}", tags=["patients"])
    def api_patient(signed: Signed, patient_id: int) -> dict[str, Any]:
        """A patient's profile, open flags and notes."""
        with store.reading() as db:
            patient = patient_for(db, signed.user, patient_id)
            flags = db.scalars(select(Flag).where(Flag.patient_id == patient_id).order_by(Flag.id)).all()
            notes = db.scalars(select(Note).where(Note.patient_id == patient_id).order_by(Note.id)).all()
            private = private_sessions(db, patient_id)
            data = {
                "id": patient.id, "name": patient.name, "conditions": patient.conditions,
                "medications": patient.medications,
                "flags": [_flag_json(f, private) for f in flags],
                "notes": [{"id": n.id, "session_id": n.session_id, "reviewed_by": n.reviewed_by,
                           "created_at": n.created_at.isoformat()} for n in notes],
            }
        audit_read(signed.user, "view_patient", patient_id, f"patient:{patient_id}", "api")
        return data

    @app.get("/api/notes/{note_id}", tags=["notes"])
    def api_note(signed: Signed, note_id: int) -> dict[str, Any]:
        """One note: its statements and the turn ids supporting each."""
        with store.reading() as db:
            note = note_for(db, signed.user, note_id)
            data = {"id": note.id, "session_id": note.session_id, "patient_id": note.patient_id,
                    "writer": note.writer, "dropped": note.dropped,
                    "reviewed_by": note.reviewed_by,
                    "reviewed_at": note.reviewed_at.isoformat() if note.reviewed_at else None,
                    "statements": [{"section": s.section, "text": s.text, "turn_ids": s.turn_ids,
                                    "support": s.support} for s in note.statements]}
        audit_read(signed.user, "view_note", note.patient_id, f"note:{note_id}", "api")
        return data

    @app.post("/api/flags/{flag_id}/ack", tags=["flags"])
    def api_ack(signed: Signed, flag_id: int, body: AckBody, request: Request) -> dict[str, Any]:
        """Acknowledge a flag (send the session's CSRF token in `X-CSRF-Token`)."""
        check_csrf(signed, request.headers.get("x-csrf-token"))
        with store.session() as db:
            flag = flag_for(db, signed.user, flag_id)
            _acknowledge(db, signed.user, flag, body.comment)
            return _flag_json(flag, private_sessions(db, flag.patient_id))

    @app.get("/api/patients/{patient_id}/fhir", tags=["fhir"])
    def api_fhir(signed: Signed, patient_id: int) -> Response:
        """A FHIR R4 (4.0.1) Bundle: the patient, a DocumentReference per note, an
        Observation per reported reading."""
        from coach.notes.fhir import patient_bundle

        with store.reading() as db:
            patient_for(db, signed.user, patient_id)
            bundle = patient_bundle(db, patient_id)
        audit_read(signed.user, "export_fhir", patient_id, f"patient:{patient_id}")
        return Response(json.dumps(bundle), media_type="application/fhir+json")

    @app.get("/api/me", tags=["account"])
    def api_me(signed: Signed) -> dict[str, Any]:
        """Who is signed in, and the CSRF token API changes must carry."""
        return {"username": signed.user.username, "role": signed.user.role, "csrf": signed.csrf}

    return app


_DONE = {"added": "Account created.", "assigned": "Assignments updated.",
         "unlocked": "Sign-in lockouts lifted."}
"""Fixed confirmation texts: a message taken from the URL could be made to say anything."""


PRIVATE_FLAG_REASON = "raised in a private memory session (the patient has not shared its words)"


def private_sessions(db: Session, patient_id: int) -> set[int]:
    """Memory sessions whose words the patient has not shared: their flags show no quotes."""
    if legacy_status(db, patient_id)["content_shared"]:
        return set()
    return set(db.scalars(select(CoachSession.id).where(CoachSession.patient_id == patient_id,
                                                         CoachSession.kind == "memory")))


def flag_reason(f: Flag, private: set[int]) -> str:
    """That a flag was raised, and when, is the care team's to know; a private session's words are not."""
    return PRIVATE_FLAG_REASON if f.session_id in private else f.reason


def _flag_json(f: Flag, private: set[int]) -> dict[str, Any]:
    return {"id": f.id, "category": f.category, "reason": flag_reason(f, private),
            "session_id": f.session_id,
            "turn_id": f.turn_id, "created_at": f.created_at.isoformat(),
            "acknowledged_by": f.acknowledged_by,
            "acknowledged_at": f.acknowledged_at.isoformat() if f.acknowledged_at else None}


def _safe_next(target: str) -> str:
    """Only a path on this site: an open redirect would help a phishing page."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


def _patient_context(db: Session, patient: Patient) -> dict[str, Any]:
    flags = db.scalars(select(Flag).where(Flag.patient_id == patient.id)
                       .order_by(Flag.acknowledged_at.is_not(None), Flag.created_at.desc())).all()
    sessions = db.scalars(select(CoachSession).where(CoachSession.patient_id == patient.id)
                          .order_by(CoachSession.started_at.desc()).limit(30)).all()
    notes = {n.session_id: n for n in db.scalars(select(Note).where(Note.patient_id == patient.id))}
    turn_counts = dict(db.execute(
        select(Turn.session_id, func.count()).join(CoachSession, CoachSession.id == Turn.session_id)
        .where(CoachSession.patient_id == patient.id).group_by(Turn.session_id)).all())
    charts = []
    for goal in db.scalars(select(Goal).where(Goal.patient_id == patient.id).order_by(Goal.id)):
        checkins = db.scalars(select(CheckIn).where(CheckIn.goal_id == goal.id).order_by(CheckIn.day)).all()
        chart = line_chart(f"Goal: {goal.description} ({goal.measure} per {goal.period})",
                           [Series(goal.measure, [(c.day, c.value) for c in checkins])],
                           goal.target, "target", goal.unit)
        if chart is not None:
            charts.append(chart)
    readings = db.scalars(select(Reading).where(Reading.patient_id == patient.id)
                          .order_by(Reading.taken_at)).all()
    by_kind: dict[str, list[Reading]] = {}
    for r in readings:
        by_kind.setdefault(r.kind, []).append(r)
    titles = {"blood_pressure": "Blood pressure (mmHg)", "glucose": "Glucose", "weight": "Weight",
              "steps": "Steps per day"}
    for kind, rows in by_kind.items():
        if kind == "blood_pressure":
            series = [Series("systolic", [(r.taken_at.date(), r.value) for r in rows], "s1"),
                      Series("diastolic", [(r.taken_at.date(), r.value2 or 0) for r in rows], "s2")]
            unit = "mmHg"
        else:
            unit = rows[-1].unit
            series = [Series(kind, [(r.taken_at.date(), r.value) for r in rows if r.unit == unit])]
        chart = line_chart(titles[kind] + (f" ({unit})" if kind in ("glucose", "weight") else ""),
                           series, unit=unit)
        if chart is not None:
            charts.append(chart)
    checkin_days = sorted({d for (d,) in db.execute(
        select(func.date(CoachSession.started_at)).where(CoachSession.patient_id == patient.id))})
    private = private_sessions(db, patient.id)
    return {"patient": patient, "flags": flags, "sessions": sessions, "notes": notes,
            "flag_reasons": {f.id: flag_reason(f, private) for f in flags},
            "turn_counts": turn_counts, "charts": charts, "readings": readings[-10:][::-1],
            "session_days": len(checkin_days), "today": date.today(),
            "last_session": sessions[0].started_at if sessions else None,
            "memory": legacy_status(db, patient.id),
            }


def _fmt_dt(value: datetime | None) -> str:
    return value.strftime("%d %b %Y %H:%M") if value else "-"
