"""The encrypted on-disk store: patients, sessions, turns, goals, check-ins and flags."""

from coach.store.db import Store, StoreError, open_store
from coach.store.schema import CheckIn, CoachSession, Flag, Goal, Patient, Turn

__all__ = [
    "CheckIn",
    "CoachSession",
    "Flag",
    "Goal",
    "Patient",
    "Store",
    "StoreError",
    "Turn",
    "open_store",
]
