"""The avatar health coach: a safe, personal, offline coaching conversation.

`coach` owns the conversation (triage, language model, profiles, goals, memory,
storage, the CLI). It may use `knowledge` and `avatar`; neither imports it.
"""

__version__ = "0.1.0"
