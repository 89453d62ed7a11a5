"""Readings the patient reports in their own words: blood pressure, glucose, weight, steps.

Deterministic on purpose: these are the numbers a clinician acts on, so each one
is taken only from a patient's sentence that names the measure, with a plausible
value, and is kept with the exact words it came from. A target ("my goal is
10,000 steps"), a change ("I lost 2 kg") or a question about a number someone
else gave is not a reading. When in doubt the extractor leaves a number out:
a missing reading costs a look at the transcript, a wrong one misleads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from coach.numbers import plausible_reading

KINDS = ("blood_pressure", "glucose", "weight", "steps")

UNITS = {"blood_pressure": "mmHg", "steps": "steps/day"}


@dataclass(frozen=True)
class ExtractedReading:
    kind: str
    """One of KINDS."""
    value: float
    """Systolic pressure, glucose, weight or step count, in `unit`."""
    unit: str
    """`mmHg`, `mg/dL`, `mmol/L`, `kg`, `lb` or `steps/day`."""
    quote: str
    """The patient's sentence that gave it."""
    value2: float | None = None
    """Diastolic pressure for blood pressure."""
    when: str = ""
    """The patient's words for when it was taken (`this morning`), if they said."""
    context: dict[str, str] = field(default_factory=dict)
    """E.g. {"timing": "fasting"} for glucose."""

    def describe(self) -> str:
        if self.kind == "blood_pressure":
            text = f"Blood pressure {_num(self.value)}/{_num(self.value2 or 0)} mmHg"
        elif self.kind == "glucose":
            timing = self.context.get("timing", "")
            text = f"Blood glucose {_num(self.value)} {self.unit}"
            if timing == "fasting":
                text = "Fasting b" + text[1:]
            elif timing:
                text += f" {timing}"
        elif self.kind == "weight":
            text = f"Weight {_num(self.value)} {self.unit}"
        else:
            text = f"Steps {self.value:,.0f} in a day"
        return f"{text} ({self.when})" if self.when else text


def _num(v: float) -> str:
    return f"{v:,.0f}" if v == int(v) and v >= 10000 else (f"{v:g}" if v != int(v) else str(int(v)))


_WORD_NUMBERS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}
_WORD = "|".join(sorted(_WORD_NUMBERS, key=len, reverse=True))
_SPOKEN = re.compile(
    rf"\b((?:(?:{_WORD})[\s-]?)+)(?:and\s+a\s+half\s+)?(hundred|thousand|k)\b(\s+and\s+a\s+half)?",
    re.IGNORECASE)


def _spoken_value(words: str) -> int:
    total = 0
    for w in re.split(r"[\s-]+", words.strip().lower()):
        if w in _WORD_NUMBERS:
            total += _WORD_NUMBERS[w]
    return total


def normalise_numbers(text: str) -> str:
    """Spoken amounts to digits: "eight thousand" -> "8000", "6.5k" -> "6500", "7,500" -> "7500"."""

    def spoken(m: re.Match[str]) -> str:
        base = _spoken_value(m.group(1))
        scale = 100 if m.group(2).lower() == "hundred" else 1000
        half = " and a half" in m.group(0).lower()
        return str(int(base * scale + (scale // 2 if half else 0)))

    text = _SPOKEN.sub(spoken, text)
    text = re.sub(r"\b(\d+(?:\.\d+)?)\s?k\b", lambda m: str(int(float(m.group(1)) * 1000)), text,
                  flags=re.IGNORECASE)
    return re.sub(r"\b(\d{1,3}),(\d{3})\b", r"\1\2", text)


def split_sentences(text: str) -> list[str]:
    """Sentences of a patient's message; a decimal point or `e.g.` does not end one."""
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z0-9\"'])|\n+", text.strip())
    return [p.strip() for p in parts if p and p.strip()]


_WHEN = re.compile(
    r"\b(this morning|this evening|tonight|last night|yesterday(?: morning| evening)?|today|"
    r"before breakfast|after (?:breakfast|lunch|dinner|supper|a meal|meals|eating)|at bedtime|"
    r"on (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)|"
    r"(?:on )?average|every day|most days|each day|a day|per day)\b", re.IGNORECASE)

_NOT_A_READING = re.compile(
    r"\b(?:target|goal|aim(?:ing)?|should be|supposed to|wants? (?:it|me)|want to (?:get|reach|hit|do)|"
    r"under|below|less than|lower than|up to|hoping|hope to|"
    r"try(?:ing)? (?:to|for)|going to|plan(?:ning)? to|would like|wish)\s*(?:\w+\s+){0,3}$",
    re.IGNORECASE)
"""Words just before a number that make it a target or a limit, not a measurement."""

_CHANGE = re.compile(r"\b(?:lost|gained|put on|dropped|down by|up by|by)\s+(?:about |around |nearly )?$",
                     re.IGNORECASE)

_HEARSAY = re.compile(r"\b(?:normal|should|healthy|recommend|people|someone|friend)\b", re.IGNORECASE)
_SOMEONE_ELSES = re.compile(r"\b(?:my|his|her|their) (?:wife|husband|son|daughter|mother|father|mum|mom|dad|"
                            r"partner|sister|brother|friend|neighbou?r)(?:'s)?\b", re.IGNORECASE)
"""A sentence about a relative's numbers ("my husband's pressure was 160/100") is not the patient's."""

_BP_CONTEXT = re.compile(r"\b(?:blood pressure|bp|pressure|mmhg|reading|systolic|cuff|monitor)\b",
                         re.IGNORECASE)
_ANSWER = re.compile(r"^(?:yes|yeah|ok|well|so|it|that|this morning|today|yesterday)?[,\s]*"
                     r"(?:it|that|mine)\s+(?:was|is|read|came out at|showed)\b", re.IGNORECASE)
"""An answer that names no measure: "Yes, it was 136 over 84", "Mine was 7.8"."""
_BP = re.compile(r"\b(\d{2,3})\s*(?:/|over)\s*(\d{2,3})\b", re.IGNORECASE)

_GLUCOSE_CONTEXT = re.compile(
    r"\b(?:blood sugars?|sugar levels?|sugars?(?:'s| has| have)? (?:was|were|is|are|reading|readings|came|"
    r"been|went|got|level)|glucose|bgl?|finger ?prick|meter)\b", re.IGNORECASE)
"""Sugar as a measurement ("my sugar was 9.4"), not as food ("two sugars in my tea")."""
_GLUCOSE = re.compile(r"(?<![\d/.])(\d{1,3}(?:\.\d)?)(?![\d/])\s*(mg/dl|mg|mmol(?:/l)?|millimoles?)?",
                      re.IGNORECASE)
_A1C = re.compile(r"\b(?:hb)?a1c\b|\bhba1c\b|%", re.IGNORECASE)

_WEIGHT = re.compile(
    r"(?<![\d.])(\d{2,3}(?:\.\d)?)\s*(kg|kgs|kilos?|kilograms?|lbs?|pounds?|stone|st)\b", re.IGNORECASE)

_STEPS = re.compile(r"(?<![\d.])(\d{3,6})\s+(?:\w+\s+)?steps\b", re.IGNORECASE)


_TARGET_AFTER = re.compile(
    r"^\W*(?:\w+\W+){0,2}(?:is|was|as|would be)\s+(?:my|the|our)\s+(?:goal|target|aim)\b", re.IGNORECASE)
"""Words just after a number that make it a target: "10,000 steps is my goal"."""


_TIME_BEFORE = re.compile(r"\b(?:at(?:\s+about|\s+around)?|by|before|after|until|since)\s*$", re.IGNORECASE)


def _target_after(sentence: str, end: int) -> bool:
    return bool(_TARGET_AFTER.search(sentence[end:end + 40]))


def _prefix(sentence: str, start: int) -> str:
    return sentence[max(0, start - 40):start]


def _when(sentence: str) -> str:
    m = _WHEN.search(sentence)
    if not m:
        return ""
    phrase = m.group(1).lower()
    return "daily average" if "average" in phrase else phrase


def _is_question_about_others(sentence: str) -> bool:
    if not sentence.rstrip().endswith("?"):
        return False
    # "Is 140/90 high for someone my age?" asks about a number; "My BP was 150/95, is that bad?"
    # reports one and asks about it.
    return not re.search(r"\b(?:(?:my|mine)\b[^?]{0,30}\b(?:was|were|is|reads?|read|showed|came)|i got|i had|"
                         r"it was)\b", sentence, re.IGNORECASE)


def _blood_pressure(sentence: str, context: str = "") -> list[ExtractedReading]:
    earlier = bool(_BP_CONTEXT.search(context) or _BP.search(context))
    named = bool(_BP_CONTEXT.search(sentence)) or (earlier and bool(_ANSWER.search(sentence)))
    found = []
    for m in _BP.finditer(sentence):
        sys_, dia = float(m.group(1)), float(m.group(2))
        # "140/95" written with a slash reads as blood pressure on its own; "140 over 95" needs the word.
        if not named and not ("/" in m.group(0) and sys_ >= 90 and dia >= 50):
            continue
        if _NOT_A_READING.search(_prefix(sentence, m.start())) or _target_after(sentence, m.end()):
            continue
        found.append(ExtractedReading("blood_pressure", sys_, "mmHg", sentence, dia, _when(sentence)))
    return found


def _glucose(sentence: str, context: str = "") -> list[ExtractedReading]:
    named = _GLUCOSE_CONTEXT.search(sentence)
    if named is not None:
        start = 0  # "I got 7.9 on my meter" names the measure after the number
    elif _GLUCOSE_CONTEXT.search(context) and _ANSWER.search(sentence) and not _BP_CONTEXT.search(context):
        start = 0
    else:
        return []
    if _A1C.search(sentence):
        return []
    found = []
    for m in _GLUCOSE.finditer(sentence, start):
        raw, unit = m.group(1), (m.group(2) or "").lower()
        value = float(raw)
        after = sentence[m.end():m.end() + 12].lower()
        if re.match(r"\s*(?:steps|minutes|mins|hours|days|times|kg|lb|pounds|am|pm|o'clock)", after):
            continue
        if _NOT_A_READING.search(_prefix(sentence, m.start())) or _target_after(sentence, m.end()):
            continue
        if not unit and _TIME_BEFORE.search(_prefix(sentence, m.start())):
            continue  # "at 7" is a time of day
        # Which unit was meant; whether the value is plausible in it is for extract_readings.
        if unit.startswith("mmol") or unit.startswith("milli") or (not unit and "." in raw and value < 35):
            unit_name = "mmol/L"
        elif unit.startswith("mg") or (not unit and value >= 40):
            unit_name = "mg/dL"
        elif not unit and 2 <= value < 35:
            unit_name = "mmol/L"
        else:
            continue
        timing = ""
        low = sentence.lower()
        if "fasting" in low or "before breakfast" in low or "first thing" in low:
            timing = "fasting"
        elif re.search(r"\bafter (?:breakfast|lunch|dinner|supper|a meal|meals|eating)\b", low):
            timing = "after a meal"
        found.append(ExtractedReading("glucose", value, unit_name, sentence, None, _when(sentence),
                                      {"timing": timing} if timing else {}))
    return found


def _weight(sentence: str) -> list[ExtractedReading]:
    """Only with a unit: "I weigh 82" could be kilograms or a slip, so it is left out."""
    found = []
    for m in _WEIGHT.finditer(sentence):
        before = _prefix(sentence, m.start())
        if _CHANGE.search(before) or _NOT_A_READING.search(before) or _target_after(sentence, m.end()):
            continue
        value, unit = float(m.group(1)), m.group(2).lower()
        if unit.startswith(("kg", "kilo")):
            unit_name = "kg"
        elif unit.startswith(("lb", "pound")):
            unit_name = "lb"
        else:
            unit_name, value = "kg", round(value * 6.35029, 1)  # stone
        found.append(ExtractedReading("weight", value, unit_name, sentence, None, _when(sentence)))
    return found


def _steps(sentence: str) -> list[ExtractedReading]:
    found = []
    for m in _STEPS.finditer(sentence):
        if _NOT_A_READING.search(_prefix(sentence, m.start())) or _target_after(sentence, m.end()):
            continue
        found.append(ExtractedReading("steps", float(m.group(1)), "steps/day", sentence, None,
                                      _when(sentence)))
    return found


def extract_readings(text: str, context: str = "") -> list[ExtractedReading]:
    """Every reading in one patient message, in the order said (duplicates removed).

    Each one is in the plausible range of `coach.numbers.READINGS` for its kind and unit:
    the one check every stored reading passes, whichever phrasing found it.

    `context` is the turns just before (usually the coach's question): "it was 136 over 84"
    answers "have you measured your blood pressure?", so the measure may be named there.
    """
    readings: list[ExtractedReading] = []
    seen: set[tuple[str, float, float | None]] = set()
    context = normalise_numbers(context)
    for original in split_sentences(text):
        sentence = normalise_numbers(original)
        if _is_question_about_others(sentence) or (_HEARSAY.search(sentence) and not re.search(
                r"\b(?:my|i)\b", sentence, re.IGNORECASE)):
            continue
        if _SOMEONE_ELSES.search(sentence) and not re.search(r"\b(?:mine|i|my own)\b", sentence,
                                                             re.IGNORECASE):
            continue
        for reading in (*_blood_pressure(sentence, context), *_glucose(sentence, context),
                        *_weight(sentence), *_steps(sentence)):
            if not plausible_reading(reading.kind, reading.unit, reading.value, reading.value2):
                continue
            key = (reading.kind, reading.value, reading.value2)
            if key in seen:
                continue
            seen.add(key)
            readings.append(ExtractedReading(reading.kind, reading.value, reading.unit, original,
                                             reading.value2, reading.when, reading.context))
    return readings


_MISSED = re.compile(
    r"\b(?:forgot|forgotten|forget|missed|skipped|didn't take|did not take|haven't taken|have not taken|"
    r"ran out of|run out of|stopped taking|not been taking|haven't been taking)\b[^.!?]{0,40}"
    r"\b(?:pills?|tablets?|meds|medications?|medicines?|doses?|insulin|inhaler|injection|"
    r"metformin|amlodipine|lisinopril|ramipril|atorvastatin|statin|furosemide|bisoprolol|"
    r"warfarin|apixaban|losartan|[a-z]+(?:pril|sartan|olol|statin|formin|pine))\b", re.IGNORECASE)
_NOT_MISSED = re.compile(r"\b(?:never|haven't|have not|didn't|did not|not once|no)\s+(?:\w+\s+){0,2}"
                         r"(?:forg[eo]t|missed|skipped)|\bdon't forget\b|\bwhat if i\b|\bif i\b",
                         re.IGNORECASE)


def missed_medication(text: str) -> str:
    """The sentence in which the patient says they missed a dose, or ''."""
    for sentence in split_sentences(text):
        if _MISSED.search(sentence) and not _NOT_MISSED.search(sentence):
            return sentence
    return ""
