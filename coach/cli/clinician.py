"""The clinician side on the command line: accounts, audit, notes, FHIR export, the web app.

`coach users ...`, `coach audit verify`, `coach notes make`, `coach export fhir`,
`coach serve`, `coach seed`, `coach bench notes` and `coach bench web`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select

from coach.cli.main import JsonOpt, console, fail, print_json
from coach.cli.options import NAME_CHARS, OptionalPatientId, id_option, text_option
from coach.cli.text import shown

users_app = typer.Typer(help="Clinician and admin accounts, and patient assignments.",
                        no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log of patient-data access.",
                        no_args_is_help=True)
notes_app = typer.Typer(help="Checked session notes for clinicians.", no_args_is_help=True)
export_app = typer.Typer(help="Export patient records.", no_args_is_help=True)

PasswordStdin = Annotated[bool, typer.Option(
    "--password-stdin", help="Read the password from the first line of stdin (for scripts).")]
"""Passwords are never command-line arguments: those land in shell history and `ps`."""


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            fail("no password on stdin; pipe one line, e.g. `printf '%s\\n' \"$PW\" | coach users ...`")
        return password
    if not sys.stdin.isatty():
        fail("stdin is not a terminal: pass --password-stdin and pipe the password in")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@users_app.command("add")
def users_add(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="Login name (lower case).")],
    role: Annotated[str, typer.Option(help="clinician or admin.")] = "clinician",
    name: Annotated[str, text_option("--name", help="Display name.", max_chars=NAME_CHARS)] = "",
    patient: Annotated[list[int] | None, id_option("--patient", "-p",
                                                   help="Assign this patient (repeat).")] = None,
    password_stdin: PasswordStdin = False,
    as_json: JsonOpt = False,
) -> None:
    """Add an account; the password is asked for (twice) or read from stdin.

    Examples:

      coach users add drlee --name "Dr Sam Lee" --patient 1
      printf '%s\\n' "$PW" | coach users add admin --role admin --password-stdin
    """
    from coach.store import audit
    from coach.store.accounts import add_user, assign

    password = _read_password(password_stdin)
    with ctx.obj.store.session() as db:
        user = add_user(db, username, password, role, name)
        for pid in patient or []:
            assign(db, user, pid)
            audit.record(db, "cli", "assign", patient_id=pid, target=f"user:{user.id}",
                         detail=user.username)
        data = {"id": user.id, "username": user.username, "role": user.role, "patients": patient or []}
    if as_json:
        print_json(data)
    else:
        console.print(f"added {data['role']} [bold]{shown(data['username'])}[/] (id {data['id']})",
                      highlight=False)


@users_app.command("list")
def users_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List accounts and the patients assigned to each.

    Example:

      coach users list --json
    """
    from coach.store.clinical import Assignment, User

    with ctx.obj.existing_store.session() as db:
        rows = [{"id": u.id, "username": u.username, "name": u.display_name, "role": u.role,
                 "active": u.active,
                 "patients": sorted(db.scalars(select(Assignment.patient_id)
                                               .where(Assignment.user_id == u.id)))}
                for u in db.scalars(select(User).order_by(User.username))]
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("no accounts yet; add one with `coach users add NAME --role admin`")
        return
    table = Table("id", "username", "name", "role", "patients", "active")
    for r in rows:
        table.add_row(str(r["id"]), shown(r["username"]), shown(r["name"]), shown(r["role"]),
                      "all" if r["role"] == "admin" else ", ".join(map(str, r["patients"])),
                      "yes" if r["active"] else "no (disabled)")
    console.print(table)


@users_app.command("reset-password")
def users_reset(ctx: typer.Context, username: Annotated[str, typer.Argument(help="Login name.")],
                password_stdin: PasswordStdin = False) -> None:
    """Set a new password (and sign the user out everywhere).

    Example:

      coach users reset-password drlee
    """
    from sqlalchemy import delete

    from coach.store.accounts import reset_password
    from coach.store.clinical import WebSession

    password = _read_password(password_stdin)
    with ctx.obj.store.session() as db:
        user = reset_password(db, username, password)
        db.execute(delete(WebSession).where(WebSession.user_id == user.id))
    console.print(f"password changed for [bold]{shown(username)}[/]; their open sessions were ended",
                  highlight=False)


@users_app.command("assign")
def users_assign(ctx: typer.Context, username: Annotated[str, typer.Argument(help="Login name.")],
                 patient: Annotated[list[int], id_option("--patient", "-p", help="Patient id (repeat).")],
                 remove: Annotated[bool, typer.Option(help="Unassign instead.")] = False) -> None:
    """Assign patients to a clinician (or `--remove` them).

    Example:

      coach users assign drlee -p 1 -p 2
    """
    from coach.store import audit
    from coach.store.accounts import assign, get_user, unassign

    with ctx.obj.store.session() as db:
        user = get_user(db, username)
        for pid in patient:
            changed = unassign(db, user, pid) if remove else assign(db, user, pid)
            if changed:
                audit.record(db, "cli", "unassign" if remove else "assign", patient_id=pid,
                             target=f"user:{user.id}", detail=user.username)
    console.print(f"{'unassigned' if remove else 'assigned'} {', '.join(map(str, patient))} "
                  f"{'from' if remove else 'to'} {shown(username)}", highlight=False)


def _set_active(ctx: typer.Context, username: str, active: bool) -> None:
    """Disable or enable an account; disabling also ends its open web sessions at once.

    An account is disabled, not deleted, so the audit log's entries keep naming a user
    who still exists, and a returning clinician can be let back in.
    """
    from sqlalchemy import delete

    from coach.store import audit
    from coach.store.accounts import get_user
    from coach.store.clinical import WebSession

    with ctx.obj.existing_store.session() as db:
        user = get_user(db, username)
        if user.active == active:
            console.print(f"{shown(user.username)} is already {'enabled' if active else 'disabled'}; "
                          "nothing changed", highlight=False)
            return
        user.active = active
        ended = 0
        if not active:
            ended = len(db.scalars(select(WebSession.id).where(WebSession.user_id == user.id)).all())
            db.execute(delete(WebSession).where(WebSession.user_id == user.id))
        audit.record(db, "cli", "enable_user" if active else "disable_user", target=f"user:{user.id}",
                     detail=user.username)
    if active:
        console.print(f"enabled [bold]{shown(user.username)}[/]; they can sign in again", highlight=False)
    else:
        console.print(f"disabled [bold]{shown(user.username)}[/]: they cannot sign in, and "
                      f"{ended} open session(s) were ended; undo with `coach users enable "
                      f"{shown(user.username)}`", highlight=False)


@users_app.command("disable")
def users_disable(ctx: typer.Context,
                  username: Annotated[str, typer.Argument(help="Login name.")]) -> None:
    """Stop an account from signing in and sign it out everywhere (its history is kept).

    Example:

      coach users disable drlee
    """
    _set_active(ctx, username, active=False)


@users_app.command("enable")
def users_enable(ctx: typer.Context,
                 username: Annotated[str, typer.Argument(help="Login name.")]) -> None:
    """Let a disabled account sign in again (with its old password).

    Example:

      coach users enable drlee
    """
    _set_active(ctx, username, active=True)


@users_app.command("unlock")
def users_unlock(ctx: typer.Context,
                 username: Annotated[str, typer.Argument(help="Login name.")]) -> None:
    """Lift an account's sign-in lockouts (from every address), e.g. after a forgotten password.

    Example:

      coach users unlock drlee
    """
    from coach.store import audit
    from coach.store.accounts import get_user
    from coach.web.auth import unlock

    with ctx.obj.store.session() as db:
        user = get_user(db, username)
        lifted = unlock(db, user.username)
        audit.record(db, "cli", "unlock_user", target=f"user:{user.id}",
                     detail=f"{lifted} lockout(s) lifted")
    console.print(f"{lifted} lockout(s) lifted for [bold]{shown(user.username)}[/]", highlight=False)


@audit_app.command("verify")
def audit_verify(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Check the hash chain of the audit log; name the first broken entry.

    Exits 1 when the chain is broken. Write down the head hash it prints: a log cut
    short at the end can only be noticed by comparing with an earlier head.

    Example:

      coach audit verify
    """
    from coach.store.audit import verify

    with ctx.obj.existing_store.session() as db:
        report = verify(db)
    if as_json:
        print_json({"ok": report.ok, "entries": report.entries, "head": report.head,
                    "broken_id": report.broken_id, "problem": report.problem})
    elif report.ok:
        console.print(f"audit log intact: {report.entries} entries, head {report.head}")
    else:
        console.print(f"[bold red]audit log broken at entry {report.broken_id}[/]: {report.problem}",
                      highlight=False)
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("list")
def audit_list(ctx: typer.Context, patient: OptionalPatientId = None,
               limit: Annotated[int, typer.Option(help="Latest N entries (1-100000).",
                                                  min=1, max=100_000)] = 30,
               as_json: JsonOpt = False) -> None:
    """Show the latest audit entries (optionally for one patient).

    Example:

      coach audit list --patient 1
    """
    from coach.store import audit
    from coach.store.clinical import AuditEntry

    with ctx.obj.existing_store.session() as db:
        q = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
        if patient is not None:
            q = q.where(AuditEntry.patient_id == patient)
        rows = [{"id": e.id, "at": e.at.isoformat(timespec="seconds"), "user": e.username,
                 "action": e.action, "patient_id": e.patient_id, "target": e.target} for e in db.scalars(q)]
        # Recorded after the query, so the listing shows the log as it was found.
        audit.record(db, "cli", "list_audit", patient_id=patient,
                     target=f"patient:{patient}" if patient is not None else "audit",
                     detail=f"{len(rows)} entries")
    if as_json:
        print_json(rows)
        return
    table = Table("id", "at", "user", "action", "patient", "target")
    for r in rows:
        table.add_row(*(shown(r[k] if r[k] is not None else "") for k in
                        ("id", "at", "user", "action", "patient_id", "target")))
    console.print(table)


@notes_app.command("make")
def notes_make(
    ctx: typer.Context,
    session: Annotated[list[int] | None, id_option("--session", "-s", help="Session id (repeat).")] = None,
    patient: Annotated[int | None, id_option(
        "--patient", "-p", help="Every ended session of this patient without a note.")] = None,
    pending: Annotated[bool, typer.Option(
        help="Every ended session without a note (e.g. from cron after clinic hours).")] = False,
    writer: Annotated[str | None, typer.Option(
        help="model (the configured language model) or extractive; default: the notes_writer "
        "setting.")] = None,
    model: Annotated[str | None, typer.Option(help="Bundled model name or path.")] = None,
    replace: Annotated[bool, typer.Option(help="Remake an existing, unreviewed note.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Write the checked note of a session: drafted, then every statement linked to turns.

    The coach runs `coach notes make --patient ID` by itself, detached, when a conversation
    ends (the notes_after_session setting). With --patient or --pending, a session that
    cannot get a note (no turns) or that another writer noted first is skipped and said so.

    Examples:

      coach notes make --session 3
      coach notes make --patient 1 --writer extractive
      coach notes make --pending
    """
    from sqlalchemy.exc import IntegrityError

    from coach.notes.make import NoteError, make_note_in
    from coach.notes.service import open_embedder, sessions_without_note

    if session and (patient is not None or pending):
        fail("give either --session ID (repeat it for several) or --patient ID / --pending, not both: "
             "--session makes exactly the notes named, the others find the sessions themselves")
    writer = writer or ctx.obj.settings.notes_writer
    if writer not in ("model", "extractive"):
        fail("--writer must be model or extractive")
    context = ctx.obj.with_llm(llm_model=model)
    ids = list(session or [])
    batch = patient is not None or pending
    with context.store.session() as db:
        if patient is not None:
            ids += [sid for sid in sessions_without_note(db, patient) if sid not in ids]
        if pending:
            ids += [sid for sid in sessions_without_note(db) if sid not in ids]
    if not ids:
        if batch:
            console.print("every ended session has a note")
            return
        fail("nothing to do: give --session ID, --patient ID or --pending (see `coach patients show ID`)")
    embedder = open_embedder(context.settings)
    loaded: list[object] = []

    def factory():  # type: ignore[no-untyped-def]
        if not loaded:
            loaded.append(context.open_model())
        return loaded[0]

    results = []
    for sid in ids:
        try:
            result = make_note_in(context.store, sid, embedder, factory if writer == "model" else None,
                                  replace)
        except (NoteError, IntegrityError) as exc:
            if not batch or (session and sid in session):
                raise
            reason = str(exc) if isinstance(exc, NoteError) else "another writer stored its note first"
            if as_json:
                results.append({"session_id": sid, "skipped": reason})
            else:
                console.print(f"session {sid}: skipped ({reason})", highlight=False)
            continue
        results.append({"session_id": sid, "note_id": result.note_id, "writer": result.writer,
                        "statements": len(result.shown), "dropped": len(result.dropped),
                        "readings": len(result.readings), "text": result.text()})
        if not as_json:
            console.print(f"session {sid}: note {result.note_id} with {len(result.shown)} statements "
                          f"({len(result.dropped)} dropped as unsupported, {len(result.readings)} readings)")
    if as_json:
        print_json(results)


@export_app.command("fhir")
def export_fhir(
    ctx: typer.Context,
    patient: Annotated[int, id_option("--patient", "-p", help="Patient id.")],
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Write to this file, readable only by you (default stdout); a missing "
        "folder is created.")] = None,
) -> None:
    """Export a patient's notes and reported readings as a FHIR R4 (4.0.1) Bundle, validated.

    Examples:

      coach export fhir --patient 1 --out maggie.fhir.json
      coach export fhir -p 1 | jq '.entry | length'
    """
    from coach.cli.files import check_output, write_private
    from coach.notes.fhir import patient_bundle
    from coach.store import audit

    if out is not None:
        check_output(out, "--out")
    with ctx.obj.existing_store.session() as db:
        bundle = patient_bundle(db, patient)
        audit.record(db, "cli", "export_fhir", patient_id=patient, target=f"patient:{patient}",
                     detail=str(out or "stdout"))
        text = json.dumps(bundle, indent=2) + "\n"
        if out is None:
            sys.stdout.write(text)
            return
        # Written inside the transaction: a failed write leaves no audit entry claiming an export.
        try:
            write_private(out, text.encode("utf-8"))
        except OSError as exc:
            fail(f"could not write {out} ({exc.strerror}); nothing was written or changed: free "
                 "some space or pick another --out")
    console.print(f"wrote {len(bundle['entry'])} resources to {shown(out)} (readable only by you)",
                  highlight=False)


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on; keep 127.0.0.1 unless behind a TLS proxy.")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8765,
    idle_minutes: Annotated[float, typer.Option(help="Sign out after this many idle minutes.")] = 15.0,
    secure_cookies: Annotated[bool | None, typer.Option(
        "--secure-cookies/--no-secure-cookies",
        help="Force the cookies' Secure flag (default: when the request came over https).")] = None,
    proxy: Annotated[bool, typer.Option(help="Trust X-Forwarded-Proto/For from a local TLS proxy.")] = False,
    no_contact_days: Annotated[int, typer.Option(help="Days without a session that need attention.")] = 7,
) -> None:
    """Serve the clinician web app (pages at /, a JSON API under /api, its schema at /api/openapi.json).

    Examples:

      coach serve                       # http://127.0.0.1:8765
      coach serve --port 9000 --idle-minutes 5
      coach serve --host 127.0.0.1 --proxy --secure-cookies   # behind a TLS reverse proxy
    """
    import uvicorn

    from coach.web.app import create_app
    from coach.web.auth import WebConfig

    if idle_minutes <= 0:
        fail("--idle-minutes must be positive")
    problem = port_problem(host, port)
    if problem:
        fail(f"cannot listen on {host}:{port} ({problem}); pick another with --port")
    config = WebConfig(idle_seconds=idle_minutes * 60, secure_cookies=secure_cookies,
                       no_contact_days=no_contact_days)
    app = create_app(ctx.obj.store, config)
    console.print(f"clinician app on http://{host}:{port}/  (Ctrl-C to stop)")
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=proxy,
                forwarded_allow_ips="127.0.0.1" if proxy else None, access_log=False)


def port_problem(host: str, port: int) -> str:
    """Why the server could not listen here ("" when it can), found before anything loads.

    The probe sets SO_REUSEADDR as uvicorn itself does: a port left in TIME_WAIT by a server
    that just crashed or restarted is free to use again; one another process listens on is not.
    """
    import socket

    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return ""


def seed(
    ctx: typer.Context,
    patients: Annotated[int, typer.Option(help="Patients to create.")] = 500,
    turns: Annotated[int, typer.Option(help="Turns in total.")] = 20000,
    notes: Annotated[int, typer.Option(help="Sessions that get a (extractive) note.")] = 200,
    clinician: Annotated[str, typer.Option(
        help="Account that gets every seeded patient.")] = "seed-clinician",
    password_stdin: PasswordStdin = False,
    as_json: JsonOpt = False,
) -> None:
    """Fill a store with synthetic patients, sessions, readings, flags and notes (for load tests).

    Use a throwaway COACH_HOME: the data is made up.

    Example:

      COACH_HOME=$(mktemp -d) coach seed --patients 500 --turns 20000
    """
    from coach.web.seed import seed_store

    for option, value, low, high in (("--patients", patients, 1, 100_000),
                                     ("--turns", turns, 0, 10_000_000), ("--notes", notes, 0, 1_000_000)):
        if not low <= value <= high:
            fail(f"{option} must be a whole number from {low} to {high}, not {value}")
    password = _read_password(password_stdin) if password_stdin else None
    report = seed_store(ctx.obj.store, patients, turns, notes, clinician, password,
                        progress=not as_json)
    # A password on the terminal ends up in scrollback and CI logs: it is never printed.
    report.pop("password", None)
    if as_json:
        print_json(report)
    else:
        console.print(f"seeded {report['patients']} patients, {report['sessions']} sessions, "
                      f"{report['turns']} turns, {report['notes']} notes; clinician "
                      f"{shown(report['clinician'])} sees them all", highlight=False)
        if not password_stdin:
            console.print(f"to sign in as {shown(report['clinician'])}, set a password: "
                          f"coach users reset-password {shown(report['clinician'])}", highlight=False)


def bench_notes(
    ctx: typer.Context,
    writer: Annotated[str, typer.Option(help="extractive, model, or both.")] = "extractive",
    model: Annotated[str | None, typer.Option(
        help="Bundled model name or path (for --writer model).")] = None,
    data: Annotated[Path | None, typer.Option(
        help="A JSONL of dialogues (default: the bundled ones).")] = None,
    limit: Annotated[int, typer.Option(help="Use only the first N dialogues (0 = all).")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Fact recall and unsupported statements shown, over dialogues with known facts.

    Examples:

      coach bench notes
      coach bench notes --writer model --limit 5
      coach bench notes --data held_out.jsonl --json
    """
    from coach.notes.bench import run_notes_bench
    from coach.notes.service import open_embedder

    if writer not in ("extractive", "model", "both"):
        fail("--writer must be extractive, model or both")
    context = ctx.obj.with_llm(llm_model=model)
    embedder = open_embedder(context.settings)
    writers = ["extractive", "model"] if writer == "both" else [writer]
    results = [run_notes_bench(embedder, context.open_model if w == "model" else None, data, limit,
                               progress=not as_json) for w in writers]
    if as_json:
        print_json(results)
        return
    for r in results:
        console.print(r["table"])


def bench_web(
    ctx: typer.Context,
    runs: Annotated[int, typer.Option(help="Requests per page (page times).")] = 30,
    concurrency: Annotated[list[int] | None, typer.Option(
        "--concurrency", "-c", help="Load test: this many clients at once against `coach serve` "
        "(repeat for several levels).")] = None,
    requests: Annotated[int, typer.Option(help="Load test: requests per client.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """Median server time of each page, or (with --concurrency) errors and latency under load.

    Fill a throwaway store first (`coach seed`). Page times come from the app's
    Server-Timing header, so they exclude the network. The load test starts the real
    server in its own process, sends every client's requests at once (pages, API reads,
    a flag acknowledgement, anonymous requests with random cookies, an oversized body),
    counts every wrong answer as an error, and checks the audit chain afterwards.

    Examples:

      export COACH_HOME=$(mktemp -d); coach seed; coach bench web
      coach bench web -c 1 -c 10 -c 25 -c 50 --requests 20
    """
    if concurrency:
        _bench_load(ctx, concurrency, requests, as_json)
        return
    from coach.web.seed import run_web_bench

    if runs < 1:
        fail("--runs must be at least 1")
    report = run_web_bench(ctx.obj.store, runs)
    if as_json:
        print_json(report)
        return
    table = Table("page", "median ms", "p90 ms", "requests", title=(
        f"server time, {report['patients']} patients, {report['turns']} turns"))
    for name, row in report["pages"].items():
        table.add_row(name, f"{row['median_ms']:.1f}", f"{row['p90_ms']:.1f}", str(row["runs"]))
    console.print(table)


def _bench_load(ctx: typer.Context, levels: list[int], requests: int, as_json: bool) -> None:
    from coach.web.load import LoadError, run_load

    if any(n < 1 or n > 500 for n in levels) or requests < 1:
        fail("--concurrency must be 1-500 and --requests at least 1")
    reports = []
    for n in levels:
        try:
            reports.append(run_load(ctx.obj.store, n, requests, ctx.obj.config_file))
        except LoadError as exc:
            fail(str(exc))
        if not as_json:
            console.print(f"{n} client(s): {reports[-1]['errors']} errors", highlight=False)
    if as_json:
        print_json(reports)
    else:
        table = Table("clients", "requests", "errors", "req/s", "median ms", "p90 ms", "audit chain",
                      title="clinician app under concurrent load (client-side times)")
        for r in reports:
            table.add_row(str(r["concurrency"]), str(r["requests"]), str(r["errors"]),
                          f"{r['requests_per_s']:.1f}", f"{r['median_ms']}", f"{r['p90_ms']}",
                          f"intact, +{r['audit_entries_added']}" if r["audit_ok"] else r["audit_problem"])
        console.print(table)
        for r in reports:
            for kind, count in r["error_kinds"].items():
                console.print(f"  {r['concurrency']} clients: {count} x {kind}", highlight=False)
    if any(r["errors"] or not r["audit_ok"] for r in reports):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    from coach.cli.bench import bench_app

    app.add_typer(users_app, name="users")
    app.add_typer(audit_app, name="audit")
    app.add_typer(notes_app, name="notes")
    app.add_typer(export_app, name="export")
    app.command()(serve)
    app.command()(seed)
    bench_app.command("notes")(bench_notes)
    bench_app.command("web")(bench_web)
