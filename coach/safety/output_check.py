"""A last check on each sentence a model writes: no dose instructions, no diagnoses.

Triage stops dangerous questions before the model runs; this stops dangerous
answers to harmless ones ("I missed a pill" -> "take two tomorrow"). The check
works sentence by sentence so the reply can stream: a sentence is shown only
after it passes, and a failing one is replaced by a pointer to the care team.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SAFE_REPLACEMENT = (
    "Questions about medicines, doses or what a symptom means are best answered by your "
    "care team, who know your full history."
)

_UNIT = r"(?:mg|milligrams?|mcg|micrograms?|g|grams?|ml|millilit(?:er|re)s?|units?|iu|tablets?|pills?|"\
        r"capsules?|puffs?|doses?|drops?|tabs?)"
_MED_WORD = r"(?:dose|dosage|medication|medicine|meds|tablets?|pills?|insulin|inhaler|prescription)"
MEDICINE = (r"(?:dose|dosage|medications?|medicines?|meds|tablets?|pills?|capsules?|insulin|inhalers?|"
         r"metformin|statins?|aspirin|ibuprofen|paracetamol|acetaminophen|naproxen|warfarin|digoxin|"
         r"levothyroxine|\w+(?:pril|sartan|olol|dipine|formin|gliptin|gliflozin|glutide|statin|semide|"
         r"thiazide|azepam|oxetine|profen))")
"""Medicine words and the endings of common drug names (ACE inhibitors, ARBs, beta blockers,
calcium-channel blockers, diabetes and statin classes, diuretics)."""

DOSE_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        rf"\b(?:take|taking|use|inject|increase|decrease|reduce|raise|lower|add|up)\b[^.!?]{{0,40}}"
        rf"\b\d+(?:\.\d+)?\s*{_UNIT}\b",
        rf"\b\d+(?:\.\d+)?\s*{_UNIT}\b[^.!?]{{0,30}}\b(?:a|per|every|each|twice|once|three\s+times)\s+"
        r"(?:day|daily|night|morning|evening|hours?)\b",
        rf"\b(?:double|halve|skip|stop|increase|decrease|reduce|lower|raise|change|adjust|"
        rf"cut\s+back)\s+(?:\w+\s+){{0,2}}{_MED_WORD}\b",
        r"\b(?:stop|quit|discontinue|come\s+off)\s+taking\b",
        rf"\btake\s+(?:an?\s+)?(?:extra|double|second|another)\s+(?:\w+\s+)?{_MED_WORD}\b",
        r"\btake\s+(?:two|2|both)\s+(?:tablets|pills|doses|capsules)\b",
        r"\bstart\s+taking\s+\w+",
        # taking a medicine for a purpose or at a time the coach chose ("try taking your
        # metformin before you walk to ease the pain"): a change only the care team can make
        rf"\b(?:take|taking|use|using)\s+(?:your\s+|the\s+|some\s+|an?\s+|more\s+)?(?:\w+\s+)?{MEDICINE}\b"
        r"[^.!?]{0,40}\b(?:before|after|earlier|later|instead|for\s+(?:the|your|this)|"
        r"to\s+(?:help|relieve|ease|reduce|treat|stop|prevent|manage|lower|control))\b",
    )
)

AMOUNT_PATTERNS = DOSE_PATTERNS[:2]
"""The two patterns that read a number and a unit as a dose."""

NUTRIENT = re.compile(
    r"\b(?:sodium|salt|sugars?|caffeine|fib(?:er|re)|carbs?|carbohydrates?|protein|fat|"
    r"saturated|calories|potassium|alcohol|water|fluids?)\b", re.IGNORECASE)
"""What food and drink labels measure in mg and g: "less than 2,300 mg of sodium a day" is a
reviewed article's figure, not a dose, and blocking it left a salt question unanswered."""
_MEDICINE_WORD = re.compile(rf"\b{MEDICINE}\b|\b{_MED_WORD}\b|\bsupplements?\b|\bvitamins?\b",
                            re.IGNORECASE)

DIAGNOSIS_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"\byou\s+(?:probably|likely|may|might|could|must|definitely|clearly)?\s*(?:have|are\s+having|"
        r"suffer\s+from|are\s+suffering\s+from)\s+(?:a\s+|an\s+)?(?:\w+\s+){0,2}(?:diabetes|cancer|"
        r"infection|disease|disorder|syndrome|failure|depression|dementia|stroke|heart\s+attack|"
        r"hypertension|asthma|copd|arthritis|\w+itis|\w+osis|\w+emia|\w+aemia)\b",
        r"\b(?:sounds|looks|seems)\s+like\s+(?:you\s+have\s+)?(?:a\s+|an\s+)?(?:\w+\s+){0,2}"
        r"(?:diabetes|cancer|infection|disease|disorder|syndrome|failure|depression|stroke|"
        r"\w+itis|\w+osis)\b",
        r"\b(?:this|that|it)\s+(?:is|could\s+be|might\s+be|may\s+be)\s+(?:probably|likely|definitely)?\s*"
        r"(?:a\s+sign\s+(?:of|that\s+you\s+have)\s+)(?:\w+\s+){0,2}(?:diabetes|cancer|infection|"
        r"disease|disorder|failure|stroke|\w+itis|\w+osis)\b",
        r"\bi\s+(?:would\s+)?diagnose\b|\bmy\s+diagnosis\b|\byour\s+diagnosis\s+is\b",
    )
)


@dataclass(frozen=True)
class OutputVerdict:
    ok: bool
    reason: str = ""
    """`dose` or `diagnosis` when the sentence was blocked."""


def _about_food(sentence: str) -> bool:
    return bool(NUTRIENT.search(sentence)) and not _MEDICINE_WORD.search(sentence)


def check_output(sentence: str) -> OutputVerdict:
    for pattern in DOSE_PATTERNS:
        if pattern.search(sentence) and not (pattern in AMOUNT_PATTERNS and _about_food(sentence)):
            return OutputVerdict(False, "dose")
    for pattern in DIAGNOSIS_PATTERNS:
        if pattern.search(sentence):
            return OutputVerdict(False, "diagnosis")
    return OutputVerdict(True)
