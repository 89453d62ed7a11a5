"""Clinician and admin accounts, and which patients each clinician may see.

Passwords are hashed with argon2id (argon2-cffi's defaults: memory-hard, salted);
a hash made with older parameters is re-hashed on the next successful sign-in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from coach.store.clinical import ROLES, Assignment, User
from coach.store.schema import Patient, utcnow

MIN_PASSWORD = 10
"""Long passphrases beat complexity rules; ten characters is the floor we insist on."""

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
_hasher = PasswordHasher()

# Verified against when the username does not exist, so a wrong name costs the same time
# as a wrong password and does not reveal which accounts exist.
_DUMMY_HASH = _hasher.hash("not-a-real-password-0000")


class AccountError(Exception):
    """An account cannot be created or changed as asked; the message says why."""


@dataclass(frozen=True)
class Account:
    """What the web app and the CLI need to know about a signed-in user."""

    id: int
    username: str
    display_name: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def account(user: User) -> Account:
    return Account(user.id, user.username, user.display_name or user.username, user.role)


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")
    if password.strip() != password:
        raise AccountError("the password must not start or end with spaces")
    return password


def hash_password(password: str) -> str:
    return _hasher.hash(check_password(password))


def add_user(db: Session, username: str, password: str, role: str = "clinician",
             display_name: str = "") -> User:
    username = username.strip().lower()
    if not _USERNAME.match(username):
        raise AccountError("a username is 2-64 lower-case letters, digits, '.', '_' or '-'")
    if role not in ROLES:
        raise AccountError(f"the role must be one of {', '.join(ROLES)}, not {role!r}")
    if db.scalar(select(User).where(User.username == username)) is not None:
        raise AccountError(f"there is already a user {username!r}; use `coach users reset-password`")
    user = User(username=username, display_name=display_name.strip(), role=role,
                password_hash=hash_password(password))
    db.add(user)
    db.flush()
    return user


def get_user(db: Session, username: str) -> User:
    user = db.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise AccountError(f"no user {username!r}; see `coach users list`")
    return user


def reset_password(db: Session, username: str, password: str) -> User:
    user = get_user(db, username)
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    return user


def authenticate(db: Session, username: str, password: str) -> User | None:
    """The active user with this name and password, or None (in the same time either way)."""
    user = db.scalar(select(User).where(User.username == username.strip().lower()))
    stored = user.password_hash if user is not None and user.active else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def assign(db: Session, user: User, patient_id: int) -> bool:
    """Make `user` responsible for the patient; False if they already were."""
    if db.get(Patient, patient_id) is None:
        raise AccountError(f"no patient with id {patient_id}; see `coach patients list`")
    exists = db.scalar(select(Assignment).where(Assignment.user_id == user.id,
                                                Assignment.patient_id == patient_id))
    if exists is not None:
        return False
    db.add(Assignment(user_id=user.id, patient_id=patient_id))
    db.flush()
    return True


def unassign(db: Session, user: User, patient_id: int) -> bool:
    row = db.scalar(select(Assignment).where(Assignment.user_id == user.id,
                                             Assignment.patient_id == patient_id))
    if row is None:
        return False
    db.delete(row)
    return True


def assigned_patient_ids(db: Session, user: Account) -> set[int] | None:
    """Patients the user may see; None means all of them (an admin)."""
    if user.is_admin:
        return None
    return set(db.scalars(select(Assignment.patient_id).where(Assignment.user_id == user.id)))


def may_see(db: Session, user: Account, patient_id: int) -> bool:
    if user.is_admin:
        return True
    return db.scalar(select(Assignment.id).where(Assignment.user_id == user.id,
                                                 Assignment.patient_id == patient_id)) is not None
