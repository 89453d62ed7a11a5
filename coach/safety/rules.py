"""High-precision patterns that decide triage on their own when they match.

Rules catch the unmistakable ("I want to kill myself", "his face is drooping"),
and give a reason a clinician can read. The embedding classifier covers the
indirect and the unforeseen. Idioms ("this workout is killing me") are removed
before matching so that a scary word in a harmless phrase does not fire a rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from coach.safety.categories import Category
from coach.safety.normalise import normalise


@dataclass(frozen=True)
class Rule:
    category: Category
    subtype: str
    reason: str
    pattern: re.Pattern[str]
    in_memory: bool = True
    """Whether the rule decides alone in a memory session too. Goodbyes, giving things away
    and "I won't be here much longer" are warning signs in coaching and exactly what a
    legacy question asks for: there, the context-reading classifier decides."""
    past_in_memory: bool = True
    """Whether it decides alone in a memory session when the words place it in the past
    (NOT_NOW: "in 1979", "years ago", "used to"). A life story may tell of a husband who
    beat her and how she left him; there the classifier judges whether it is still going on."""


def _r(category: Category, subtype: str, reason: str, *patterns: str, in_memory: bool = True,
       past_in_memory: bool = True) -> Rule:
    joined = "|".join(f"(?:{p})" for p in patterns)
    return Rule(category, subtype, reason, re.compile(joined, re.IGNORECASE), in_memory,
                past_in_memory)


IDIOMS = re.compile(
    r"|".join([
        r"\b(?:is|are|was|were|been|be|it's|its|they're|theyre|that's|thats)\s+"
        r"(?:\w+\s+){0,2}killing\s+(?:me|my\s+\w+)\b",
        r"\bkilling\s+me\b(?=.*\b(?:feet|knees|back|legs|workout|walk|class|heat|kids|job|work|"
        r"suspense|boss|traffic)\b)",
        r"\b(?:dying|die|dieing)\s+(?:to|for)\b(?!\s+(?:me|myself))",
        r"\b(?:could|would|'d|d)\s+(?:kill|murder)\s+(?:for|a|an|some)\b",
        r"\bdead\s+(?:tired|on\s+my\s+feet|beat|easy)\b",
        r"\b(?:nearly|almost)\s+died\s+(?:laughing|of\s+(?:embarrassment|shame|boredom))\b",
        r"\bdied\s+laughing\b",
        r"\bthought\s+(?:i|i'd)\s+(?:was\s+)?(?:going\s+to|gonna)\s+die\b",
        r"\b(?:gave|give|giving)\s+(?:me|him|her)\s+a\s+heart\s+attack\b",
        r"\bheart\s+attack\s+(?:on\s+a\s+plate|waiting\s+to\s+happen)\b",
        r"\bbored\s+to\s+death\b|\bscared\s+(?:me\s+)?to\s+death\b|\bsick\s+to\s+death\b",
        r"\bto\s+die\s+for\b",
        r"\bover\s+my\s+dead\s+body\b",
        r"\bkill(?:ing)?\s+(?:time|the\s+(?:lights|engine|tv|music))\b",
        r"\b(?:nearly|almost)\s+(?:collapsed|passed\s+out|fainted|keeled\s+over)\s+"
        r"(?:when|from|at|with|laughing)\b",
        r"\b(?:news|it|that|this|loss|death|diagnosis|bill|price|closing|closure|results?)\b"
        r"[^.,!?]{0,40}\bhit\s+me\b",
    ]),
    re.IGNORECASE,
)

NOT_NOW = re.compile(
    r"|".join([
        r"\b(?:years?|months?|weeks?)\s+ago\b",
        r"\blast\s+(?:year|month|spring|summer|autumn|fall|winter|christmas)\b",
        r"\bback\s+in\b|\bin\s+(?:19|20)\d\d\b|\bas\s+a\s+(?:child|kid|lad|boy|girl|teenager)\b",
        r"\bwhen\s+i\s+was\s+(?:young|little|a\s+\w+)\b",
        r"\bused\s+to\b|\bonce\b|\bturned\s+out\b|\bon\s+the\s+mend\b|\bsince\s+then\b|"
        r"\bnone\s+(?:at\s+all\s+)?since\b|\bfine\s+(?:after|afterwards|now)\b|\bthe\s+time\s+i\b",
        r"\bin\s+the\s+(?:fifties|sixties|seventies|eighties|nineties)\b",
        r"\bin\s+(?:january|february|march|april|june|july|august|september|october|november|"
        r"december)\b",
        r"^\s*(?:what|what's|whats|how|why|when|wen|which|is\s+it\s+true|are\s+there|can\s+you\s+have|"
        r"should\s+you|do\s+you|does|if\s+(?:someone|somebody|a\s+person|you))\b",
        r"\b(?:signs|symptoms|warning\s+signs)\s+(?:of|to\s+(?:look|watch)\s+(?:out\s+)?for)\b",
        r"\bwhat\s+(?:should|do|would)\s+(?:you|i|we|someone)\s+do\s+if\b",
    ]),
    re.IGNORECASE,
)
"""History and education questions: an emergency rule must not fire on these alone, nor an abuse
rule in a memory session (Rule.past_in_memory)."""

RULES: tuple[Rule, ...] = (
    # --- crisis: suicide and self-harm -------------------------------------------------------
    _r(Category.CRISIS, "suicide", "talks about ending their life",
       r"\b(?:kill|killing|hang|hanging|shoot|shooting|drown|drowning)\s+myself\b",
       r"\b(?:finish|finishing)\s+myself\s+off\b|\b(?:top|topping|off|offing)\s+myself\b",
       r"\b(?:do|doing|did)\s+myself\s+in\b|\bunalive\b|\bkms\b",
       r"\bput\s+an\s+end\s+to\s+(?:it\s+all|myself|my\s+life|everything)\b",
       r"\b(?:jump|jumping)\s+(?:off|from|in\s+front\s+of)\s+(?:a|the)\s+(?:bridge|train|building|cliff|roof)\b",
       r"\bend(?:ing)?\s+(?:it\s+all|my\s+(?:own\s+)?life|things\s+for\s+good|my\s+suffering)\b",
       r"\btake\s+my\s+(?:own\s+)?life\b|\btaking\s+my\s+(?:own\s+)?life\b",
       r"\bsuicid(?:e|al)\b(?!.*\b(?:prevention\s+week|awareness)\b)",
       r"\b(?:want|wanna|wish|planning|plan)\s+(?:to\s+)?die\b(?!\s+(?:at\s+home|here\b|in\s+(?:my\s+own|my)\s+"
       r"(?:bed|home|house)|peacefully|with\s+dignity))",
       r"\bwish\s+(?:i\s+)?(?:was|were|could\s+be)\s+dead\b|\bbetter\s+off\s+dead\b",
       r"\bdon'?t\s+want\s+to\s+(?:be\s+alive|live|wake\s+up|be\s+here)\b",
       r"\bnot\s+(?:want|wanting)\s+to\s+(?:live|be\s+alive|wake\s+up)\b",
       r"\bno\s+(?:reason|point)\s+(?:to|in)\s+(?:living|go(?:ing)?\s+on|carry(?:ing)?\s+on)\b",
       r"\b(?:everyone|everybody|they|family|kids|children|wife|husband)\s+(?:would|'d)\s+be\s+"
       r"better\s+off\s+without\s+me\b",
       r"\bsav(?:e|ing|ed)\s+up\s+(?:my\s+|all\s+my\s+)?(?:pills|tablets|medication|meds)\b",
       # medicines gathered in secret or in quantity, said in any words for gathering
       r"\b(?:sav(?:e|ed|ing)\s+up|kept\s+back|keep(?:ing)?\s+back|put(?:ting)?\s+(?:by|aside)|"
       r"stash(?:ed|ing)?|hoard(?:ed|ing)?|stockpil\w*)\s+(?:\w+\s+){0,4}?(?:pills|tablets|"
       r"medication|medicines|meds|patches|morphine|oramorph|oxycodone|codeine|co-codamol|"
       r"midazolam|diazepam|insulin|painkillers|sleeping\s+(?:pills|tablets))\b",
       r"\b(?:couldn'?t|can'?t|won'?t|not\s+going\s+to)\s+wait\s+for\s+(?:it|the\s+end|death)\s+"
       r"to\s+come\b",
       r"\boverdose\s+on\s+purpose\b|\btake\s+(?:all|every\s+one\s+of)\s+my\s+(?:pills|tablets)\b"
       r"(?!\s+(?:at\s+(?:night|once\s+a|the\s+same\s+time|breakfast|bedtime)|in\s+the\s+"
       r"(?:morning|evening)|with|together\s+at|instead|before|after))",
       r"\bsuicide\s+note\b"),
    _r(Category.CRISIS, "suicide", "talks of goodbyes, giving things away or not being here",
       r"\b(?:ready|going)\s+to\s+die\b",
       r"\bgiv(?:e|ing)\s+away\s+(?:all\s+)?my\s+(?:things|stuff|belongings|possessions)\b",
       r"\bsaid\s+my\s+goodbyes\b|\bgoodbye\s+letters?\b|\bwr(?:ote|iting)\s+(?:a\s+)?note\b"
       r"(?=.*\b(?:goodbye|family|kids|in\s+case|not\s+here)\b)",
       r"\bwon'?t\s+be\s+(?:a\s+burden|around|here)\s+(?:much\s+longer|for\s+long|anymore)\b",
       r"\b(?:want|wanna|wish|planning|plan)\s+(?:to\s+)?die\s+(?:at\s+home|here|in\s+(?:my\s+own|my)\s+"
       r"(?:bed|home|house)|peacefully|with\s+dignity)\b",
       in_memory=False),
    _r(Category.CRISIS, "self_harm", "describes hurting themself on purpose",
       r"\b(?:cut|cutting|burn|burning|hurt|hurting|harm|harming)\s+myself\b",
       r"\bself[-\s]?harm(?:ing)?\b",
       r"\bdid\s+it\s+(?:to\s+)?myself\s+with\s+(?:a|the|my)\s+(?:razor|blade|knife|lighter)\b",
       # an injury to oneself told with why it is done: "slicing my thigh ... nothing else
       # calms me down" (an accident on the mandoline has no such reason)
       r"\b(?:cut|cutting|slic\w+|burn\w*|scratch\w*|carv\w*)\s+(?:into\s+)?my\s+(?:arms?|thighs?|"
       r"wrists?|legs?|skin|stomach|belly)\b(?=.{0,80}\b(?:calms?\s+me|cope|coping|feel\s+something|"
       r"edge\s+off|only\s+thing|numb|punish|deserve|on\s+purpose)\b)"),
    # --- crisis: abuse or violence at home ----------------------------------------------------
    _r(Category.CRISIS, "abuse", "describes abuse or violence at home",
       r"\b(?:hits|hit|beats|beat|punches|punched|kicks|kicked|slaps|slapped|chokes|choked|"
       r"strangled|shoves|shoved|pushes)\s+me\b(?!\s+(?:up|with\s+questions))",
       r"\b(?:scared|afraid|frightened|terrified)\s+(?:to\s+go\s+home|of\s+my\s+(?:husband|wife|"
       r"partner|son|daughter|carer|caregiver|boyfriend|girlfriend))\b",
       r"\bthreaten(?:s|ed)?\s+to\s+(?:hurt|kill|hit)\s+me\b",
       r"\bwon'?t\s+let\s+me\s+(?:leave|see\s+anyone|have\s+my\s+money|out)\b",
       r"\b(?:takes|took|taking)\s+(?:all\s+)?my\s+(?:money|pension|bank\s+card)\b"
       r"(?=.*\b(?:won'?t|scared|afraid|threat|lock|let\s+me)\b)",
       past_in_memory=False),
    # --- emergency -----------------------------------------------------------------------------
    _r(Category.EMERGENCY, "chest_pain", "describes chest pain or pressure now",
       r"\b(?:chest|heart)\s+(?:pain|pains|hurts|is\s+hurting|feels\s+(?:tight|heavy|crushed)|"
       r"pressure|tightness|is\s+(?:tight|crushing|heavy)|squeez\w*)\b",
       r"\b(?:pain|pressure|tightness|squeezing|crushing|heaviness)\s+(?:in|on|across)\s+"
       r"(?:my|his|her|the)\s+chest\b",
       r"\b(?:crushing|squeezing)\b[^.]{0,30}\bchest\b",
       r"\b(?:having|think\s+i'?m\s+having|is\s+having)\s+a\s+heart\s+attack\b"),
    _r(Category.EMERGENCY, "stroke", "describes stroke signs now",
       r"\b(?:face|mouth|smile)\s+(?:is\s+|has\s+|went\s+|gone\s+|looks\s+)?"
       r"(?:droop\w*|drooping|lopsided|dropped|crooked|sagging)\b",
       r"\b(?:speech|words|talking)\s+(?:is\s+|are\s+)?(?:slurr\w*|coming\s+out\s+wrong|jumbled)\b",
       r"\bslurr(?:ing|ed)\s+(?:my|his|her|their)\s+words\b",
       r"\b(?:can'?t|cannot|can\s+not)\s+(?:lift|raise|move|feel)\s+(?:my|his|her)\s+(?:left|right)?\s*"
       r"(?:arm|leg|side)\b",
       r"\b(?:having|is\s+having|think\s+(?:i'?m|he'?s|she'?s)\s+having)\s+a\s+stroke\b",
       r"\b(?:can'?t|cannot|can\s+not)\s+get\s+(?:my|his|her|their)\s+words\s+out\b",
       r"\btalking\s+(?:gibberish|nonsense|rubbish)\b(?=.*\b(?:sudden\w*|just|now|face|arm)\b)",
       r"\b(?:numb|dead|weak|floppy|heavy)\b[^.]{0,25}\b(?:one|left|right)\s+side\b",
       r"\b(?:one|left|right)\s+side\s+of\s+(?:my|his|her|their)\s+(?:face|body|mouth)\b"
       r"[^.]{0,25}\b(?:numb|dead|weak|droop\w*|dropped|gone)\b"),
    _r(Category.EMERGENCY, "hypoglycaemia", "describes a severe low blood sugar",
       r"\b(?:sugar|glucose|bg|reading)\s+(?:is\s+|was\s+|of\s+|at\s+)?(?:only\s+)?"
       r"(?:[0-2](?:\.\d)?|[1-4]\d)\b(?=.*\b(?:shak\w*|sweat\w*|confus\w*|dizzy|can'?t\s+think|"
       r"passing\s+out|faint\w*)\b)",
       r"\b(?:hypo|low\s+sugar|sugar\s+(?:is\s+)?(?:low|crashing|dropping))\b"
       r"(?=.*\b(?:confus\w*|can'?t\s+think|passing\s+out|faint\w*|won'?t\s+wake|can'?t\s+swallow)\b)"),
    _r(Category.EMERGENCY, "anaphylaxis", "describes a severe allergic reaction",
       r"\b(?:throat|tongue|lips|face|mouth)\s+(?:is\s+|are\s+|feels?\s+|has\s+|have\s+)?"
       r"(?:gone\s+|going\s+|started\s+)?(?:swell\w*|swollen|closing|puff\w*\s+up)\b",
       r"\banaphyla\w*\b(?!.*\b(?:what\s+is|signs\s+of)\b)"),
    _r(Category.EMERGENCY, "breathing", "describes severe breathing trouble now",
       r"\b(?:can'?t|cannot|can\s+not)\s+(?:breathe|catch\s+my\s+breath|get\s+(?:my\s+)?breath)\b",
       r"\b(?:lips|fingers|face)\s+(?:are\s+|is\s+|look\s+|looks\s+|gone\s+|turning\s+)?(?:blue|grey|gray)\b",
       r"\b(?:struggling|fighting|gasping)\s+(?:to\s+breathe|for\s+(?:air|breath))\b"),
    _r(Category.EMERGENCY, "bleeding", "describes heavy bleeding or bringing up blood",
       r"\b(?:cough\w*|vomit\w*|throw\w*\s+up|being\s+sick|sick)\s+(?:up\s+)?(?:blood|red)\b",
       r"\bcoffee\s+grounds\b|\b(?:black|tarry)\s+(?:and\s+\w+\s+)?(?:poo|stools?|motions?)\b",
       r"\b(?:pumping|spurting|gushing|pouring|soaking)\b[^.]{0,25}\bblood\b|"
       r"\bblood\b[^.]{0,25}\b(?:pumping|spurting|gushing|pouring|soaking)\b",
       r"\bbleed\w*\s+(?:won'?t|will\s+not|doesn'?t|does\s+not)\s+stop\b",
       r"\b(?:blood\s+everywhere|bleeding\s+(?:heavily|badly|a\s+lot))\b"),
    _r(Category.EMERGENCY, "headache", "describes a sudden, worst-ever headache",
       r"\bworst\s+headache\b", r"\bthunderclap\b"),
    _r(Category.EMERGENCY, "collapse", "describes someone collapsed, unresponsive or seizing",
       r"\b(?:collapsed|unconscious|unresponsive|won'?t\s+wake\s+up|not\s+breathing|"
       r"having\s+a\s+(?:fit|seizure)|passed\s+out|blacked\s+out|keeled\s+over|fainted|"
       r"fitting|convulsing)\b"),
    # --- out of scope: diagnosis and medication changes ------------------------------------------
    _r(Category.OUT_OF_SCOPE, "medication_change", "asks to start, stop or change a medicine or dose",
       r"\b(?:should|can|could|may|shall|is\s+it\s+(?:ok|okay|safe|fine|alright)\s+(?:if\s+i|to))\s+"
       r"(?:i\s+)?(?:stop|quit|skip|double|halve|increase|decrease|reduce|lower|raise|up|cut|"
       r"change|swap|switch|start|come\s+off|go\s+off|take\s+(?:an?\s+)?(?:extra|more|less|two|double|"
       r"half|another))\b",
       r"\b(?:double|increase|decrease|reduce|lower|raise|halve)\s+(?:my|the)\s+(?:dose|dosage|"
       r"insulin|tablets?|pills?|meds|medication|medicine)\b",
       r"\bup\s+my\s+(?:dose|dosage|insulin|tablets?|pills?|meds|medication|medicine)\b",
       r"\bhow\s+(?:much|many)\s+(?:\w+\s+){0,3}(?:should|can|do)\s+i\s+take\b",
       r"\bwhat\s+dose\b"),
    _r(Category.OUT_OF_SCOPE, "diagnosis", "asks the coach to diagnose",
       r"\b(?:do|could|might|would)\s+(?:i|you\s+think\s+i)\s+have\s+(?:a\s+|an\s+)?"
       r"(?:cancer|diabetes|dementia|alzheimer|parkinson|infection|tumou?r|heart\s+(?:failure|disease)|"
       r"copd|asthma|depression|stroke|covid|arthritis|gout|\w+itis)\b",
       r"\b(?:is\s+(?:it|this|that)|does\s+this\s+mean\s+i\s+have|am\s+i\s+getting)\s+(?:a\s+|an\s+)?"
       r"(?:cancer|diabetes|dementia|tumou?r|infection|heart\s+attack|stroke|serious)\b",
       r"\bwhat'?s\s+wrong\s+with\s+me\b|\bdiagnose\s+me\b|\bwhat\s+do\s+(?:i|you\s+think\s+i)\s+have\b"),
)


def strip_idioms(text: str) -> str:
    """Remove figures of speech that contain alarming words but mean nothing alarming."""
    return IDIOMS.sub(" ", text)


def match_rules(text: str, memory: bool = False) -> Rule | None:
    """The most urgent rule that matches the idiom-free text, if any.

    Normalised here as well as in triage, so that a caller with the raw message (the
    rules-only benchmark) judges what triage judges; normalising twice changes nothing.
    `memory`: the text answers a legacy question, where farewell rules do not decide.
    """
    cleaned = strip_idioms(normalise(text))
    not_now = bool(NOT_NOW.search(cleaned))
    hits = [rule for rule in RULES if rule.pattern.search(cleaned)
            and not (not_now and rule.category is Category.EMERGENCY)
            and (rule.in_memory or not memory)
            and (rule.past_in_memory or not (memory and not_now))]
    if not hits:
        return None
    return min(hits, key=lambda r: r.category.urgency)
