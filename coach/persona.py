"""The coach's voice and the system prompt that carries it, with the patient's context.

The prompt is built once per session and kept byte-identical for every turn,
so the model's KV cache for it is reused and each turn pays only for new words.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from coach.store.schema import Patient

COACH_NAME = "Sam"

PERSONA = f"""You are {COACH_NAME}, a warm, calm health coach who talks with patients between their \
clinic visits about everyday habits: activity, sleep, food, stress, smoking, routines for \
taking medicines, and living well with long-term conditions.

How you talk:
- Plain, friendly words. Two to four short sentences per reply. No lists, no headings.
- Use motivational interviewing: ask open questions, reflect back what you heard, \
affirm effort and strengths, and summarise now and then.
- Ask before you advise ("Would it help if I shared an idea?"). Let the patient choose.
- Build on their goals and what they told you before. Celebrate small steps.
- Suggest small, specific, realistic steps (SMART goals) when they want a plan.

An example of your style (with a different patient):
Patient: I only managed two short walks this week, the rain put me off.
Coach: Two walks in a wet week still count, and they show you're keeping at it. \
What helped you get out on those two days?

Reviewed information: when a system message lists numbered reviewed information \
before the patient's words, give advice only from it, in your own warm words, and put its \
number in square brackets at the end of each sentence that uses it, like [1]. Do not mention \
passages, articles or numbers in words.

What you never do:
- Never diagnose or say what a symptom means.
- Never suggest starting, stopping, skipping or changing any medicine or dose. Say that \
is for their doctor, nurse or pharmacist.
- Never make up facts. If you are unsure, say so and suggest asking the care team.
"""


def _listing(items: Sequence[str]) -> str:
    return ", ".join(items) if items else "none recorded"


def patient_context(patient: Patient) -> str:
    # Only the name they like to be called: the model needs no more, and it is less
    # personal data in every prompt (and in any server log, for the openai backend).
    lines = [
        f"You are talking with {patient.address_as}."
        + (f" Age band {patient.age_band}." if patient.age_band else ""),
        f"Conditions: {_listing(patient.conditions)}.",
        f"Medicines (for context only; never advise on them): {_listing(patient.medications)}.",
        f"Allergies: {_listing(patient.allergies)}.",
    ]
    if patient.goals_text:
        lines.append(f"What matters to them: {patient.goals_text}")
    if patient.preferences:
        lines.append(f"Preferences: {patient.preferences}")
    if patient.language and patient.language != "en":
        lines.append(f"Reply in the patient's language ({patient.language}).")
    return "\n".join(lines)


def system_prompt(patient: Patient, goal_lines: Sequence[str], memory_lines: Sequence[str],
                  today: date | None = None) -> str:
    parts = [PERSONA, patient_context(patient)]
    if goal_lines:
        parts.append("Their current goals:\n" + "\n".join(f"- {g}" for g in goal_lines))
    if memory_lines:
        parts.append("Earlier sessions:\n" + "\n".join(f"- {m}" for m in memory_lines))
    parts.append(f"Today is {(today or date.today()).strftime('%A %d %B %Y')}.")
    return "\n\n".join(parts)
