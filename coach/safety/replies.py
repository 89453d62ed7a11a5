"""Fixed, reviewed replies for crisis, emergency and out-of-scope messages.

These texts are given word for word, never generated, so that what a patient in
crisis reads is exactly what was reviewed. Each has an id with a version; the
id is stored with the turn so a clinician knows which wording was shown. Numbers
depend on where the patient lives (`locale` setting).
"""

from __future__ import annotations

from dataclasses import dataclass

from coach.safety.categories import Category


@dataclass(frozen=True)
class Helplines:
    emergency: str
    crisis: str
    abuse: str


HELPLINES: dict[str, Helplines] = {
    "US": Helplines("911", "988 (call or text, any time)",
                    "the National Domestic Violence Hotline on 1-800-799-7233"),
    "CA": Helplines("911", "988 (call or text, any time)", "911 if you are in danger now"),
    "UK": Helplines("999", "Samaritans on 116 123 (free, any time)",
                    "the National Domestic Abuse Helpline on 0808 2000 247"),
    "IE": Helplines("112 or 999", "Samaritans on 116 123 (free, any time)",
                    "112 or 999 if you are in danger now"),
    "AU": Helplines("000", "Lifeline on 13 11 14", "000 if you are in danger now"),
    "EU": Helplines("112", "112, or your national crisis line",
                    "112 if you are in danger now"),
}


@dataclass(frozen=True)
class FixedReply:
    reply_id: str
    text: str


def _helplines(locale: str) -> Helplines:
    """An operator may write the country as "UK", the ISO "GB", or a full "en_GB"/"en-US"."""
    region = locale.strip().upper().replace("_", "-").rsplit("-", 1)[-1]
    return HELPLINES.get({"GB": "UK"}.get(region, region), HELPLINES["EU"])


CHECK_IN_REPLY_IDS = ("crisis-checkin-v1", "emergency-checkin-v1", "crisis-checkin-memory-v1")
SAFETY_REPLY_IDS = (*CHECK_IN_REPLY_IDS, "crisis-abuse-v1", "crisis-v1", "emergency-v1",
                    "out-of-scope-v1")
"""Every fixed reply triage can give."""


def fixed_reply(category: Category, locale: str = "US", subtype: str = "",
                check_in: bool = False, memory: bool = False) -> FixedReply:
    """The reviewed reply for a triage outcome; `none` has no fixed reply.

    A check-in asks directly rather than assuming: asking someone plainly about
    suicide does not put the idea in their head, and it lets a patient who was
    misread say so and carry on, while one in danger still gets the numbers at once.
    In a memory session (`memory`) the question says why it is asked: the patient was
    invited to speak of goodbyes and the end of life, and should not feel accused of it.
    """
    lines = _helplines(locale)
    if category is Category.CRISIS and check_in and memory:
        return FixedReply(
            "crisis-checkin-memory-v1",
            "Thank you for sharing that. Some of what you said could be read two ways, so may I "
            "ask you plainly before we go on: are you thinking of ending your life sooner, or "
            "of hurting yourself, or is someone hurting or frightening you? If so, please reach "
            f"{lines.crisis}, or call {lines.emergency} if you are in danger now. If you were "
            "simply answering the question, just say so and we'll carry on with your record. "
            "I have let your care team know, so they can check in with you.",
        )
    if category is Category.CRISIS and check_in:
        return FixedReply(
            "crisis-checkin-v1",
            "Thank you for telling me. I want to be sure I understand you, so may I ask you "
            "plainly: are you having thoughts of ending your life or of hurting yourself, or "
            "is someone at home hurting or frightening you? If so, please reach "
            f"{lines.crisis}, or call {lines.emergency} if you are in danger now. If I have "
            "misunderstood, just tell me and we'll carry on. I have let your care team know, "
            "so they can check in with you.",
        )
    if category is Category.EMERGENCY and check_in:
        return FixedReply(
            "emergency-checkin-v1",
            "I want to be careful with what you describe. If it is happening now, or it came "
            "on suddenly, such as chest pain or pressure, trouble breathing, a drooping face, "
            "weakness on one side, muddled speech, confusion or heavy bleeding, please call "
            f"{lines.emergency} now, or ask someone near you to call. Is it happening now? If "
            "it has passed or I have misunderstood, tell me and we'll carry on. I have let your "
            "care team know.",
        )
    if category is Category.CRISIS and subtype == "abuse":
        return FixedReply(
            "crisis-abuse-v1",
            "Thank you for telling me. Nobody deserves to be hurt or frightened at home, and "
            f"this is not your fault. If you are in danger right now, call {lines.emergency}. "
            f"You can also talk in confidence to {lines.abuse}. I have let your care team know, "
            "so that someone can follow up with you. I'm here with you while you decide what "
            "feels safe.",
        )
    if category is Category.CRISIS:
        return FixedReply(
            "crisis-v1",
            "I'm really glad you told me, and I'm sorry you're going through this. You deserve "
            "support from a person right now. Please reach "
            f"{lines.crisis}; if you might act on these thoughts or you are in danger, call "
            f"{lines.emergency} now. If you can, let someone near you know how you feel and "
            "stay with them. I have let your care team know, so they can check in with you.",
        )
    if category is Category.EMERGENCY:
        return FixedReply(
            "emergency-v1",
            f"What you describe could be a medical emergency. Please call {lines.emergency} "
            "now, or ask someone near you to call. Don't drive yourself. If you have been told "
            "what to do in this situation, such as using a prescribed rescue treatment, follow "
            "that plan while you wait. I have flagged this for your care team.",
        )
    if category is Category.OUT_OF_SCOPE:
        return FixedReply(
            "out-of-scope-v1",
            "That's an important question, and it's one for your doctor, nurse or pharmacist, "
            "because they know your full history. I can't diagnose or change medicines or "
            "doses. Please keep taking your medicines as prescribed until you have spoken with "
            "them. Would it help to note down your question so it's ready for your care team?",
        )
    raise ValueError("there is no fixed reply for category 'none'")
