"""Text as it should be heard: numbers, units and abbreviations written out for the voice.

Piper reads "140/90" as "one hundred forty slash ninety" and "mg" as "m g". Listeners,
many of them older, should hear what a nurse would say. This module knows how people
read numbers and units aloud, not what they mean.
"""

from __future__ import annotations

import re

_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
         "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
         "nineteen"]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def number_words(n: int) -> str:
    """0..999,999 in words; larger numbers are left as digits (piper reads those fine)."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else "-" + _ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return _ONES[n // 100] + " hundred" + ("" if rest == 0 else " " + number_words(rest))
    if n < 1_000_000:
        rest = n % 1000
        head = number_words(n // 1000) + " thousand"
        return head + ("" if rest == 0 else " " + number_words(rest))
    return str(n)


def _pressure_part(n: int) -> str:
    """How people say blood-pressure numbers: 140 -> "one forty", 120 -> "one twenty"."""
    if 100 <= n < 300 and n % 100 >= 10:
        return f"{_ONES[n // 100]} {number_words(n % 100)}"
    return number_words(n)


UNITS = {
    "mg/dl": "milligrams per deciliter", "mmol/l": "millimoles per liter", "mmhg": "millimeters of mercury",
    "mg": "milligrams", "mcg": "micrograms", "kg": "kilograms", "g": "grams", "ml": "milliliters",
    "l": "liters", "lb": "pounds", "lbs": "pounds", "oz": "ounces", "km": "kilometers", "cm": "centimeters",
    "min": "minutes", "mins": "minutes", "hr": "hours", "hrs": "hours", "bpm": "beats per minute",
    "%": "percent", "kcal": "calories",
}
ABBREVIATIONS = {
    "e.g.": "for example", "i.e.": "that is", "etc.": "and so on", "vs.": "versus", "approx.": "about",
    "dr.": "doctor", "BP": "blood pressure", "A1C": "A one C", "CPR": "C P R", "COPD": "C O P D",
}

_CITATION = re.compile(r"\s*\[\d{1,2}(?:\s*,\s*\d{1,2})*\]")
_PRESSURE = re.compile(r"\b(\d{2,3})\s*/\s*(\d{2,3})\b")
_UNIT = re.compile(r"\b(\d[\d,]*(?:\.\d+)?)\s*(" + "|".join(
    re.escape(u) for u in sorted(UNITS, key=len, reverse=True)) + r")(?![A-Za-z])", re.I)
_RANGE = re.compile(r"\b(\d[\d,]*)\s*[-–]\s*(\d[\d,]*)\b")
_NUMBER = re.compile(r"\b\d{1,3}(?:,\d{3})+\b|\b\d+\b")
_PHONE = re.compile(r"\b\d{1,4}(?:[- ]\d{2,4}){2,}\b|\b\d{1,4}-[A-Z]{3,}(?:-[A-Z]{3,})*\b")
_DIALLED = re.compile(r"(?i)\b((?:call|text|dial|ring)(?:\s+or\s+text)?\s+)(\d{3,}(?:[ -]\d{2,})*)\b")


def _digits(text: str) -> str:
    """Phone numbers are said digit by digit: 911 is "nine one one", not "nine hundred eleven"."""
    spelled = re.sub(r"\d", lambda d: f" {_ONES[int(d[0])]} ", text).replace("-", " ")
    return " ".join(spelled.split())


def _num(text: str) -> str:
    digits = text.replace(",", "")
    if "." in digits:
        whole, frac = digits.split(".", 1)
        return f"{number_words(int(whole))} point {' '.join(_ONES[int(d)] for d in frac)}"
    return number_words(int(digits))


def speakable(text: str) -> str:
    """The sentence as the voice should say it (citation marks dropped, figures in words)."""
    text = _CITATION.sub("", text)
    text = _DIALLED.sub(lambda m: m[1] + _digits(m[2]), text)
    text = _PHONE.sub(lambda m: _digits(m[0]), text)
    for short, long in ABBREVIATIONS.items():
        text = re.sub(rf"(?<![\w.]){re.escape(short)}(?!\w)", long, text)
    text = _PRESSURE.sub(lambda m: f"{_pressure_part(int(m[1]))} over {_pressure_part(int(m[2]))}", text)
    text = _UNIT.sub(lambda m: f"{_num(m[1])} {UNITS[m[2].lower()]}", text)
    text = _RANGE.sub(lambda m: f"{_num(m[1])} to {_num(m[2])}", text)
    text = re.sub(r"\b(\d+(?:\.\d+)?)\b", lambda m: _num(m[1]), text)
    text = _NUMBER.sub(lambda m: _num(m[0]), text)
    return " ".join(text.split())
