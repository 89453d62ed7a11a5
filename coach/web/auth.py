"""Signing in and staying signed in: sessions, CSRF tokens, inactivity logoff, throttling.

The cookie holds a random token; the store keeps only its SHA-256, the user and
a CSRF token. A session unused for longer than the idle limit is gone: the next
request is sent to the sign-in page.

Failed sign-ins are counted per account *and* address, in the store so that every
worker process sees the same count. Past the limit that pair is refused for a while,
twice as long after each lockout in a row, so a password cannot be guessed at speed;
nobody can lock a clinician out from another address, and a shared address (a proxy,
a clinic network) does not lock out every account behind it. An admin can unlock.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from coach.store.accounts import Account, account
from coach.store.clinical import SignInThrottle, User, WebSession
from coach.store.schema import utcnow

SESSION_COOKIE = "coach_session"
LOGIN_CSRF_COOKIE = "coach_login_csrf"


@dataclass(frozen=True)
class WebConfig:
    """How the clinician app behaves; `coach serve` flags fill it in."""

    idle_seconds: float = 15 * 60
    """Sign a browser out after this long without a request."""
    secure_cookies: bool | None = None
    """Mark cookies Secure: None means when the request came over https (or a TLS proxy said so)."""
    no_contact_days: int = 7
    """A patient with no session for this many days needs attention."""
    max_failures: int = 5
    """Failed sign-ins allowed per account and address within `failure_window` seconds."""
    failure_window: float = 15 * 60
    lockout_seconds: float = 5 * 60
    """The first lockout; each further one in a row doubles, up to `max_lockout_seconds`."""
    max_lockout_seconds: float = 60 * 60
    max_body_bytes: int = 64 * 1024
    """Largest request body read: the app's forms and JSON are a few hundred bytes."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def new_csrf() -> str:
    return secrets.token_urlsafe(24)


def same_token(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and secrets.compare_digest(str(a), str(b))


@dataclass
class SignedIn:
    """The user behind a request and the session that carried them."""

    user: Account
    session_id: int
    csrf: str


def start_session(db: Session, user: User) -> str:
    token = secrets.token_urlsafe(32)
    db.add(WebSession(token_hash=token_hash(token), user_id=user.id, csrf=new_csrf()))
    db.flush()
    return token


class SessionExpired(Exception):
    """The session was valid once but has been idle too long."""


def lookup(db: Session, token: str | None, idle_seconds: float) -> SignedIn | None:
    """The signed-in user for a cookie; None for no or unknown cookie. Reads only."""
    if not token:
        return None
    row = db.scalar(select(WebSession).where(WebSession.token_hash == token_hash(token)))
    if row is None:
        return None
    if utcnow() - row.last_seen > timedelta(seconds=idle_seconds):
        raise SessionExpired
    user = db.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return SignedIn(account(user), row.id, row.csrf)


def touch(db: Session, session_id: int) -> None:
    row = db.get(WebSession, session_id)
    if row is not None:
        row.last_seen = utcnow()


def end_session(db: Session, token: str | None) -> None:
    if token:
        db.execute(delete(WebSession).where(WebSession.token_hash == token_hash(token)))


def end_idle_sessions(db: Session, idle_seconds: float) -> None:
    db.execute(delete(WebSession).where(WebSession.last_seen < utcnow() - timedelta(seconds=idle_seconds)))


def end_user_sessions(db: Session, user_id: int) -> None:
    db.execute(delete(WebSession).where(WebSession.user_id == user_id))


def _throttle_key(username: str, address: str) -> tuple[str, str]:
    return username.strip().lower()[:64], address[:64]


def lockout_left(db: Session, username: str, address: str) -> float:
    """Seconds this account is still locked out from this address (0 when it may try)."""
    row = db.get(SignInThrottle, _throttle_key(username, address))
    if row is None or row.locked_until is None:
        return 0.0
    return float(max((row.locked_until - utcnow()).total_seconds(), 0.0))


def sign_in_failed(db: Session, config: WebConfig, username: str, address: str) -> float:
    """Count a failure; returns the lockout it started in seconds (0 when none)."""
    now = utcnow()
    row = db.get(SignInThrottle, _throttle_key(username, address))
    if row is None:
        user, addr = _throttle_key(username, address)
        row = SignInThrottle(username=user, address=addr, failures=0, window_start=now, lockouts=0)
        db.add(row)
    if now - row.window_start > timedelta(seconds=config.failure_window):
        row.failures, row.window_start = 0, now
    row.failures += 1
    if row.failures < config.max_failures:
        return 0.0
    seconds = float(min(config.lockout_seconds * 2.0 ** min(row.lockouts, 20), config.max_lockout_seconds))
    row.locked_until = now + timedelta(seconds=seconds)
    row.lockouts += 1
    row.failures, row.window_start = 0, now
    return seconds


def sign_in_succeeded(db: Session, username: str, address: str) -> None:
    user, addr = _throttle_key(username, address)
    db.execute(delete(SignInThrottle).where(SignInThrottle.username == user,
                                            SignInThrottle.address == addr))


def unlock(db: Session, username: str) -> int:
    """Lift every lockout of this account (from any address); returns how many were lifted."""
    rows = db.scalars(select(SignInThrottle).where(
        SignInThrottle.username == username.strip().lower())).all()
    locked = sum(1 for r in rows if r.locked_until is not None and r.locked_until > utcnow())
    for r in rows:
        db.delete(r)
    return locked


def locked_accounts(db: Session) -> dict[str, datetime]:
    """Accounts locked out from at least one address, with the latest end of their lockouts."""
    out: dict[str, datetime] = {}
    for r in db.scalars(select(SignInThrottle).where(SignInThrottle.locked_until > utcnow())):
        if r.locked_until is not None and (r.username not in out or r.locked_until > out[r.username]):
            out[r.username] = r.locked_until
    return out
