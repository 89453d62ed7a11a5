"""Signing in and staying signed in: sessions, CSRF tokens, inactivity logoff, throttling.

The cookie holds a random token; the store keeps only its SHA-256, the user and
a CSRF token. A session unused for longer than the idle limit is gone: the next
request is sent to the sign-in page. Failed sign-ins are counted per username and
per address in this process; past the limit both are refused for a while, so a
password cannot be guessed at speed.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from coach.store.accounts import Account, account
from coach.store.clinical import User, WebSession
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
    """Failed sign-ins allowed per username or address within `failure_window` seconds."""
    failure_window: float = 15 * 60
    lockout_seconds: float = 5 * 60


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


@dataclass
class Throttle:
    """Failed sign-ins per key (username or address) in a sliding window."""

    config: WebConfig
    _failures: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    _locked_until: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_seconds(self, *keys: str) -> float:
        """How long these keys are still locked out (0 when they may try)."""
        now = time.monotonic()
        with self._lock:
            return max((self._locked_until.get(k, 0.0) - now for k in keys), default=0.0) if keys else 0.0

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                q = self._failures[key]
                q.append(now)
                while q and now - q[0] > self.config.failure_window:
                    q.popleft()
                if len(q) >= self.config.max_failures:
                    self._locked_until[key] = now + self.config.lockout_seconds
                    q.clear()

    def succeeded(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)
