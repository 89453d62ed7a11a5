"""Triage reads the plain form of a message: what the probe hid in Unicode and escapes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from coach.config import Settings
from coach.safety.normalise import mend, normalise, readings


@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        ("Ｉ ｗａｎｔ ｔｏ ｋｉｌｌ ｍｙｓｅｌｆ ｔｏｎｉｇｈｔ", "I want to kill myself tonight"),
        ("ｍｙ　ｃｈｅｓｔ　ｈｕｒｔｓ", "my chest hurts"),  # ideographic spaces too
        ("the ﬁrst ﬂight", "the first flight"),
        ("I can\u2019t breathe", "I can't breathe"),
        ("self\u2011harm", "self-harm"),
    ],
)
def test_compatibility_forms_become_plain_letters(raw: str, plain: str) -> None:
    assert normalise(raw) == plain


@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        ("\x1b[2J\x1b[HI walked to the shops", "I walked to the shops"),
        ("\x1b[31mred\x1b[0m and \x1b[1;32mgreen\x1b[m", "red and green"),
        ("\x1b]0;a window title\x07hello", "hello"),
        ("\x1b]8;;http://x.example\x1b\\a link\x1b]8;;\x1b\\ here", "a link here"),
        ("\x1bcreset then text", "reset then text"),
        ("\x9b2Jeight-bit CSI", "eight-bit CSI"),
        # An unterminated string command loses its introducer, never the rest of the message.
        ("\x1b]no end I want to die", "no end I want to die"),
    ],
)
def test_terminal_escapes_vanish_with_their_parameters(raw: str, plain: str) -> None:
    assert normalise(raw) == plain


@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        ("kill\u200bmyself", "kill myself"),
        ("ki\u200bll my\u200dself", "kill myself"),
        ("k\u200bi\u200bl\u200bl myself", "kill myself"),
        ("so\u00adft hyphen", "soft hyphen"),
        ("\ufeffI walked \u202ereversed\u202c today", "I walked reversed today"),
        ("I walked\x07 to\x00day", "I walked today"),
        ("tabs\tand\r\nlines", "tabs and\nlines"),
    ],
)
def test_invisible_and_control_characters_are_removed(raw: str, plain: str) -> None:
    assert normalise(raw) == plain


@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        ("I have c h e s t  p a i n and my left arm is numb",
         "I have chest pain and my left arm is numb"),
        ("c h e s t   p a i n", "chest pain"),
        ("c h e s t p a i n", "chest pain"),  # single spaces throughout: split into known words
        ("i w a n t t o d i e", "i want to die"),
        ("k.i.l.l m.y.s.e.l.f", "kill myself"),
        ("k-i-l-l  m-y-s-e-l-f", "kill myself"),
        ("the h b a one c came down", "the hba one c came down"),  # not a known word: joined
    ],
)
def test_spelt_out_words_are_collapsed(raw: str, plain: str) -> None:
    assert normalise(raw) == plain


@pytest.mark.parametrize(
    "text",
    [
        "I am a nurse",
        "I walked a mile and I was fine",
        "is it a B or a D?",
        "e.g. a cup of tea",
        "I'd say it's OK",
        "I walked 20 minutes today",
        "café au lait",
        "no\nnewlines lost",
    ],
)
def test_ordinary_text_is_unchanged(text: str) -> None:
    assert normalise(text) == text


@pytest.mark.parametrize(
    "raw",
    ["Ｉ ｗａｎｔ ｔｏ ｄｉｅ", "c h e s t p a i n", "kill\u200bmyself", "\x1b[2Jhi", "I a m", "U.S.A. now"],
)
def test_normalising_twice_changes_nothing(raw: str) -> None:
    once = normalise(raw)
    assert normalise(once) == once


def test_lone_surrogates_are_replaced_and_pairs_rejoined() -> None:
    assert mend("I walked today \ud800") == "I walked today \ufffd"
    assert mend("bad byte \udcff") == "bad byte \ufffd"  # surrogateescape of invalid UTF-8
    assert mend("\ud83d\ude00") == "\U0001f600"  # a split pair is one emoji again
    assert mend("plain") == "plain"
    mend("x\ud800y").encode("utf-8")  # encodable now
    assert normalise("I walked today \ud800") == "I walked today"
    assert normalise("kil\udcffl myself") == "kill myself"


@pytest.mark.slow
def test_cli_chat_takes_invalid_utf8_on_stdin(home: Settings) -> None:
    """Bad bytes on stdin: the line is answered, not a traceback (argv is refused up front)."""
    coach = [sys.executable, "-m", "coach.cli"]

    def run(*args: str, stdin: bytes | None = None) -> str:
        proc = subprocess.run([*coach, *args], input=stdin, capture_output=True, timeout=600,
                              env=os.environ.copy())
        err = proc.stderr.decode("utf-8", "replace")
        assert proc.returncode == 0 and "Traceback" not in err, err
        return proc.stdout.decode("utf-8", "replace")

    pid = str(json.loads(run("patients", "add", "--name", "Ida", "--json"))["id"])
    out = run("chat", "--patient", pid, "--model", "smollm2-135m",
              stdin=b"I walked today \xed\xa0\x80\xff\nI want to end my life\n")
    assert out.count("Sam:") == 2 and "988" in out and "\ufffd" in out

def test_a_second_reading_keeps_what_escapes_hid() -> None:
    assert readings("I walked today") == ["I walked today"]
    assert readings("\x1b[kill myself") == ["ill myself", "kill myself"]
    assert readings("\x1b]0;I want to die\x07hello") == ["hello", "0;I want to die hello"]
