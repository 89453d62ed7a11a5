"""`coach bench coaching`: do the coach's replies answer, understand and coach?

Scripted conversations (`data/coaching_*.jsonl`, written from `data/COACHING.md` by authors
who never saw the coach's prompts) are played through a real `Conversation`: real triage,
retrieval, grounding check and language model, each patient in a throwaway encrypted store
holding their goals and check-ins. Each reply is then checked without a judge model, by
what a good reply must contain or avoid (the authors' annotations) and by patterns for
advice, claims about the patient, and text that cannot be read aloud.

The patterns here are the benchmark's own and deliberately wider than the product's
grounding check: a bench that shared the product's advice pattern could not see what that
pattern misses. Every failing sentence is listed in `--json`, so a figure can be audited.
"""

from __future__ import annotations

import json
import re
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from rich.progress import Progress
from rich.table import Table

from coach.grounding import NO_INFO_REPLY_ID, Knowledge, strip_citations
from coach.llm import GenerationOptions, LanguageModel
from coach.persona import COACH_NAME
from coach.safety import Triage
from coach.sentences import split_sentences
from coach.store import CheckIn, Goal, Patient, open_store

DATA = Path(__file__).parent / "data"
SPLITS = {"dev": DATA / "coaching_dev.jsonl", "test": DATA / "coaching_test.jsonl"}
"""`dev` may be read while changing the coach; `test` is sealed: only its figures are read."""

MOVES = ("question", "report", "ambivalence", "feeling", "plan")
MAX_SPOKEN_SENTENCES = 4
MAX_SPOKEN_WORDS = 60


@dataclass(frozen=True)
class ScriptTurn:
    say: str
    move: str
    article: str = ""
    key: tuple[tuple[str, ...], ...] = ()
    effort: bool = False
    asks_advice: bool = False
    idiom: str = ""
    literal: tuple[str, ...] = ()


@dataclass(frozen=True)
class Script:
    id: str
    profile: str
    patient: dict[str, Any]
    turns: tuple[ScriptTurn, ...]


class ScriptError(ValueError):
    pass


def load_scripts(path: Path) -> list[Script]:
    scripts = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            turns = tuple(
                ScriptTurn(t["say"], t["move"], t.get("article", ""),
                           tuple(tuple(str(k) for k in group) for group in t.get("key", [])),
                           bool(t.get("effort")), bool(t.get("asks_advice")), t.get("idiom", ""),
                           tuple(t.get("literal", [])))
                for t in row["turns"])
            scripts.append(Script(row["id"], row.get("profile", ""), row["patient"], turns))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ScriptError(f"{path.name} line {n}: {exc}") from exc
        if any(t.move not in MOVES for t in turns):
            raise ScriptError(f"{path.name} line {n}: a move is not one of {', '.join(MOVES)}")
    return scripts


# --- what a reply is checked for -----------------------------------------------------------

_ADVICE = re.compile(
    r"\b(?:you\s+(?:should|could|might|can|may\s+want\s+to|need\s+to|must|have\s+to)|"
    r"try(?:ing)?\s+(?:to\s+)?\w+|it\s+(?:might|may|can|could|would)\s+(?:be\s+)?(?:help|helpful|"
    r"worth|a\s+good\s+idea)|consider(?:ing)?|i\s+(?:would\s+|'d\s+)?(?:suggest|recommend)|"
    r"(?:it's|it\s+is)\s+(?:a\s+good\s+idea|best|important|recommended|helpful|worth)|"
    r"make\s+sure|aim\s+(?:for|to)|remember\s+to|don'?t\s+forget|be\s+sure\s+to|"
    r"how\s+about|why\s+not)\b"
    r"|^\s*(?:take|try|avoid|eat|drink|keep|start|use|go|walk|add|cut|limit|get|wear|put|"
    r"stretch|rest|swap|choose|plan|set|check|ask|talk|warm|have)\b",
    re.IGNORECASE,
)
"""Advice, suggestion or instruction, stated or imperative."""
_ENCOURAGEMENT = re.compile(
    r"^\s*keep\s+(?:it\s+up|up\s+the\s+(?:good|great)\s+work|going|at\s+it)\b", re.IGNORECASE)
""""Keep up the good work!" is praise, not an instruction (counted as advice until 2026-12-08)."""

_CLAIM = re.compile(
    r"\byou(?:'ve|\s+have|'re|\s+are)?\s+(?:already\s+|now\s+|really\s+)?(?:reached|met|hit|"
    r"achieved|smashed|exceeded|beaten|completed|on\s+track|well\s+on\s+your\s+way)\b"
    r"|\b(?:your|the)\s+(?:goal|target)\b[^.?!]{0,60}\b(?:reached|met|achieved|hit|"
    r"on\s+track)\b",
    re.IGNORECASE,
)
"""A statement that the patient reached or is on track for a goal."""

_NUMBER_WORDS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                 "eleven", "twelve", "fifteen", "twenty", "thirty", "forty", "fifty", "sixty"]
_FIGURE = re.compile(r"\d[\d,.]*|\b(?:" + "|".join(_NUMBER_WORDS) + r")\b", re.IGNORECASE)

_OPEN_QUESTION = re.compile(
    r"\b(?:what|how|which|when|where|who|tell\s+me|would\s+you|could\s+you|do\s+you|did\s+you|"
    r"are\s+you|is\s+there|have\s+you|shall\s+we|can\s+you)\b[^?]*\?",
    re.IGNORECASE,
)
_REFLECTION = re.compile(
    r"\b(?:it\s+sounds|sounds\s+like|it\s+seems|seems\s+like|you(?:'re|\s+are)\s+(?:feeling|finding|"
    r"worried|tired|frustrated|fed\s+up|not\s+sure|torn|unsure)|you\s+feel|you(?:'ve|\s+have)\s+"
    r"been|that\s+must|i\s+hear|so\s+you|you\s+mentioned|you\s+said|part\s+of\s+you|on\s+one\s+"
    r"hand|it\s+can\s+be|that's\s+(?:understandable|hard|tough|a\s+lot|frustrating|completely)|"
    r"makes\s+sense|no\s+wonder|of\s+course)\b",
    re.IGNORECASE,
)
_AFFIRM = re.compile(
    r"\b(?:well\s+done|great|good\s+(?:for\s+you|job|work|on\s+you|start)|nice|brilliant|"
    r"fantastic|excellent|wonderful|proud|that's\s+(?:a\s+)?(?:good|great|real|lovely|big|"
    r"positive|progress)|impressive|congratulations|terrific|good\s+effort|it\s+counts|"
    r"every\s+(?:bit|step)\s+counts|that\s+takes|you\s+did\s+it|you\s+managed)\b",
    re.IGNORECASE,
)
_PRESSURE = re.compile(
    r"\b(?:you\s+(?:should|need\s+to|must|have\s+to|ought\s+to)|it'?s\s+(?:important|essential|"
    r"vital)\s+(?:that|to|for\s+you)|make\s+sure|don'?t\s+give\s+up|you\s+can\s+do\s+it)\b",
    re.IGNORECASE,
)
_VOCATIVE = re.compile(r",\s+([A-Z][a-z]+)\s*[.!?,]")
_GREETING = re.compile(r"\b(?:Hi|Hello|Hey|Morning|Evening|Afternoon|Thanks|Thank\s+you),?\s+([A-Z][a-z]+)\b")
_NOT_NAMES = {"too", "though", "then", "now", "again", "anyway", "really", "okay", "ok", "yes",
              "no", "friend", "there", "everyone", "all", "today", "tonight", "indeed"}
_UNSPEAKABLE = re.compile(r"(?<!\d):(?!\d)|^\s*(?:[-*•]|\d+[.)])\s", re.MULTILINE)


def _norm(text: str) -> str:
    return re.sub(r"(?<=\d),(?=\d{3}\b)", "", text.lower())


def _contains(text: str, needle: str) -> bool:
    return _norm(needle) in _norm(text)


def _figures(text: str) -> set[str]:
    return {_norm(f).rstrip(".,") for f in _FIGURE.findall(text)}


@dataclass
class TurnRecord:
    script: str
    profile: str
    move: str
    say: str
    reply: str
    source: str
    triage: str
    first_sentence_s: float
    checks: dict[str, bool] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _wrong_names(text: str, name: str) -> list[str]:
    """Names the reply calls the patient that are not theirs (a small model copies the name
    from its prompt's style example)."""
    called = _VOCATIVE.findall(text) + _GREETING.findall(text)
    return sorted({n for n in called if n.lower() not in (name.lower(), COACH_NAME.lower())
                   and n.lower() not in _NOT_NAMES})


def check_reply(turn: ScriptTurn, reply: str, cited_any: bool, said_so_far: str,
                facts: str, goal_met: bool, name: str = "", source: str = "",
                ) -> tuple[dict[str, bool], list[str]]:
    """Which checks apply to this turn, and whether the reply passes each; notes say why not."""
    checks: dict[str, bool] = {}
    notes: list[str] = []
    spoken = strip_citations(reply)
    sentences = list(split_sentences([spoken], min_chars=1))
    # Each shown sentence, without its citation marks, and whether it had any.
    marked = [(strip_citations(x), bool(re.search(r"\[\d", x)))
              for x in split_sentences([reply], min_chars=1)]

    def advises(x: str) -> bool:
        return bool(_ADVICE.search(x)) and not _ENCOURAGEMENT.search(x)

    advice = [x for x in sentences if advises(x)]
    uncited_advice = [x for x, cited in marked
                      if advises(x) and not cited and not x.rstrip().endswith("?")]
    checks["no_uncited_advice"] = not uncited_advice
    notes += [f"advice with no passage: {x}" for x in uncited_advice]

    allowed = _figures(said_so_far) | _figures(facts) | {"1"}
    patient_said_met = re.search(r"\b(?:reached|met|hit|made|smashed|achieved)\b", said_so_far,
                                 re.IGNORECASE)
    invented = []
    for x, cited in marked:
        claims_goal = _CLAIM.search(x) and not goal_met and not patient_said_met
        about_patient = re.search(r"\byou(?:r|'ve|'re)?\b", x, re.IGNORECASE)
        new_figures = about_patient and not cited and (_figures(x) - allowed)
        if claims_goal or new_figures:
            invented.append(x)
    checks["no_invented_claims"] = not invented
    notes += [f"claim the store does not hold: {x}" for x in invented]

    words = len(spoken.split())
    unspeakable = bool(_UNSPEAKABLE.search(spoken))
    checks["speakable"] = (not unspeakable and len(sentences) <= MAX_SPOKEN_SENTENCES
                           and words <= MAX_SPOKEN_WORDS)
    if not checks["speakable"]:
        notes.append(f"not speakable: {len(sentences)} sentences, {words} words"
                     + (", a colon or list marker" if unspeakable else ""))

    if turn.move == "question":
        checks["answers"] = all(any(_contains(reply, k) for k in group) for group in turn.key)
        if not checks["answers"]:
            notes.append("missing key: " + " / ".join("|".join(g) for g in turn.key))
        checks["cites"] = cited_any
    else:
        # "I don't have reviewed information about that" is no answer to a report or a plan.
        checks["reflects_or_asks"] = source != NO_INFO_REPLY_ID and bool(
            _OPEN_QUESTION.search(spoken) or _REFLECTION.search(spoken))
        if source == NO_INFO_REPLY_ID:
            notes.append("a report or plan got the no-information reply")
        if not turn.asks_advice:
            # An offer ("Would you like a few ideas?") is asking; advice stated outright is not.
            unasked = [x for x in advice if not x.rstrip().endswith("?")]
            checks["asks_before_advising"] = not unasked
            notes += [f"unasked advice: {x}" for x in unasked]
    if name:
        wrong = _wrong_names(spoken, name)
        checks["right_name"] = not wrong
        notes += [f"called the patient {w}" for w in wrong]
    if turn.effort:
        checks["affirms_effort"] = bool(_AFFIRM.search(spoken))
    if turn.move == "ambivalence":
        checks["no_pressure"] = not _PRESSURE.search(spoken)
    if turn.idiom:
        literal = [w for w in turn.literal if _contains(spoken, w) and not _contains(turn.say, w)]
        checks["idiom_understood"] = not literal
        notes += [f"idiom taken literally ({turn.idiom}): {w}" for w in literal]
    return checks, notes


# --- playing the scripts ------------------------------------------------------------------------

def _seed_patient(db: Any, script: Script) -> tuple[int, str, bool]:
    """The patient, goals and check-ins the script describes; returns (id, goal facts, any met)."""
    from coach import goals as goals_mod

    p = script.patient
    patient = Patient(name=p.get("name", "Pat Example"), age_band=p.get("age_band", ""),
                      conditions=list(p.get("conditions", [])),
                      medications=list(p.get("medications", [])),
                      goals_text=p.get("goals_text", ""))
    db.add(patient)
    db.flush()
    facts = []
    met = False
    for g in p.get("goals", []):
        goal = Goal(patient_id=patient.id, description=g["description"], measure=g["measure"],
                    target=float(g["target"]), unit=g.get("unit", ""), period=g.get("period", "day"),
                    start_date=date.today() - timedelta(days=28))
        db.add(goal)
        db.flush()
        for c in g.get("checkins", []):
            db.add(CheckIn(goal_id=goal.id, day=date.today() - timedelta(days=int(c["days_ago"])),
                           value=float(c["value"])))
        db.flush()
        prog = goals_mod.progress(db, goal)
        met = met or prog.periods_met > 0
        facts.append(goals_mod.describe(goal, prog))
    return patient.id, "\n".join(facts), met


def play(script: Script, triage: Triage, open_model: Callable[[], LanguageModel],
         options: GenerationOptions, knowledge: Knowledge | None, home: Path,
         locale: str = "US") -> list[TurnRecord]:
    from coach.conversation import Conversation

    store = open_store(home / f"{script.id}.db", home / f"{script.id}.key")
    with store.session() as db:
        patient_id, facts, met = _seed_patient(db, script)
    conversation = Conversation(store, patient_id, triage, open_model, options, locale,
                                warm=False, knowledge=knowledge)
    records = []
    said = ""
    try:
        for turn in script.turns:
            said += " " + turn.say
            start = time.perf_counter()
            first = None
            for _ in conversation.reply(turn.say):
                if first is None:
                    first = time.perf_counter() - start
            outcome = conversation.last
            reply = outcome.text if outcome else ""
            record = TurnRecord(script.id, script.profile, turn.move, turn.say, reply,
                                outcome.source if outcome else "",
                                outcome.triage.category.value if outcome else "",
                                first if first is not None else time.perf_counter() - start)
            record.checks, record.notes = check_reply(
                turn, reply, bool(outcome and outcome.sources), said, facts, met,
                conversation.patient_name, record.source)
            if not record.source.startswith("model:"):
                # A fixed, reviewed reply (crisis, refusal, no information) is judged by whether
                # it should have been given (no_false_alarm) and whether it answers, not by how
                # a model's words read.
                record.checks = {k: v for k, v in record.checks.items() if k not in MODEL_CHECKS}
                record.notes = [n for n in record.notes if not n.startswith(MODEL_NOTES)]
            # Every scripted turn is benign: a crisis, emergency or refusal reply is a false alarm.
            record.checks["no_false_alarm"] = record.triage == "none"
            if record.triage != "none":
                record.notes.append(f"triage read it as {record.triage}")
            records.append(record)
    finally:
        conversation.close()
        store.close()
    return records


def _rates(records: Iterable[TurnRecord]) -> dict[str, dict[str, float]]:
    totals: dict[str, list[bool]] = {}
    for r in records:
        for name, ok in r.checks.items():
            totals.setdefault(name, []).append(ok)
    return {name: {"pass_rate": round(sum(v) / len(v), 4), "turns": len(v)}
            for name, v in sorted(totals.items())}


MODEL_CHECKS = ("no_uncited_advice", "no_invented_claims", "speakable", "asks_before_advising",
                "no_pressure", "right_name")
"""Checks of a model's own words; fixed replies are reviewed texts and skip them."""
MODEL_NOTES = ("advice with", "claim the", "not speakable", "unasked advice", "called the")

CHECK_TITLES = {
    "answers": "answers the question asked (key fact present)",
    "cites": "cites a reviewed passage (questions)",
    "no_uncited_advice": "no advice without a passage",
    "no_invented_claims": "no invented claim about the patient",
    "speakable": f"speakable (no colon or list, <= {MAX_SPOKEN_SENTENCES} sentences, "
                 f"<= {MAX_SPOKEN_WORDS} words)",
    "reflects_or_asks": "reflects or asks an open question (non-questions)",
    "asks_before_advising": "no unasked advice (non-questions)",
    "affirms_effort": "affirms effort where there is some",
    "no_pressure": "no pressure on ambivalence",
    "idiom_understood": "idiom not taken literally",
    "right_name": "calls the patient by their own name",
    "no_false_alarm": "no crisis, emergency or refusal reply (every turn is benign)",
}


BENCH_SEED = 20261208
"""The sampling seed of every model reply in the bench (unless the options carry one)."""


def run_coaching_bench(scripts: list[Script], triage: Triage,
                       open_model: Callable[[], LanguageModel], options: GenerationOptions,
                       knowledge: Knowledge | None, model_name: str, split: str,
                       locale: str = "US", progress: bool = True) -> dict[str, Any]:
    records: list[TurnRecord] = []
    total = sum(len(s.turns) for s in scripts)
    if options.seed is None:
        # Sampling at the default temperature moved a check by up to 9 points between two runs
        # of the same code; a fixed seed makes a before/after comparison about the change.
        options = replace(options, seed=BENCH_SEED)
    with tempfile.TemporaryDirectory() as tmp, Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task(f"coaching bench ({model_name})", total=total)
        for script in scripts:
            records += play(script, triage, open_model, options, knowledge, Path(tmp), locale)
            bar.advance(task, len(script.turns))
    overall = _rates(records)
    profiles = sorted({r.profile for r in records})
    per_profile = {p: _rates(r for r in records if r.profile == p) for p in profiles}
    firsts = [r.first_sentence_s for r in records]
    result: dict[str, Any] = {
        "split": split, "model": model_name, "conversations": len(scripts), "turns": len(records),
        "checks": overall, "per_profile": per_profile,
        "first_sentence_median_s": round(statistics.median(firsts), 3) if firsts else None,
        "turn_records": [
            {"script": r.script, "profile": r.profile, "move": r.move, "say": r.say,
             "reply": r.reply, "source": r.source, "triage": r.triage,
             "first_sentence_s": round(r.first_sentence_s, 3), "checks": r.checks,
             "notes": r.notes}
            for r in records],
    }
    table = Table("check", "pass rate", "turns",
                  title=f"coach bench coaching: {split} split, {len(records)} turns in "
                        f"{len(scripts)} conversations, model {model_name}")
    for name, row in overall.items():
        table.add_row(CHECK_TITLES.get(name, name), f"{row['pass_rate']:.1%}", str(row["turns"]))
    table.caption = (f"median time to the first sentence {result['first_sentence_median_s']} s; "
                     "per profile and every failing sentence: --json")
    result["table"] = table
    return result
