"""Memory sessions for palliative care (Dignity Therapy) and the legacy document they yield.

The flow: `consent` (asked first, withdrawable) -> `interview` (the nine prompts of
`protocol`, every answer a committed turn) -> `document` (the patient's words, edited
by `editing`, measured by `checker`) -> review and approval -> `export` (Markdown,
PDF, the patient's own recordings). `status.legacy_status` is the clinician's view.
"""

from coach.legacy.status import legacy_status

__all__ = ["legacy_status"]
