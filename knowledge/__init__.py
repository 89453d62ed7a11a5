"""The reviewed health knowledge base and the code that indexes and retrieves it.

Knows nothing of patients, audio or the avatar; `coach` uses it, never the reverse.
"""
