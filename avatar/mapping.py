"""How a user's avatar's blend shapes drive our controls (visemes, blink, brows, smile, gaze).

Avatars made for lip sync usually carry either the 15 OVR visemes (Ready Player Me,
Character Creator exports: `viseme_aa`, ...), Apple's 52 ARKit face shapes
(`jawOpen`, `mouthFunnel`, ...), or VRM's five vowels and presets. Each control is
a weighted sum of the shapes the file has; the ARKit recipes are our own estimates
of each viseme's jaw and lip posture.
"""

from __future__ import annotations

from avatar.face import CONTROLS

Recipe = dict[str, float]

OVR_PREFIXES = ("viseme_", "v_", "")

ARKIT: dict[str, Recipe] = {
    "sil": {},
    "PP": {"mouthClose": 0.3, "mouthPressLeft": 0.5, "mouthPressRight": 0.5, "mouthRollLower": 0.25,
           "mouthRollUpper": 0.2},
    "FF": {"jawOpen": 0.08, "mouthRollLower": 0.6, "mouthUpperUpLeft": 0.25, "mouthUpperUpRight": 0.25},
    "TH": {"jawOpen": 0.2, "tongueOut": 0.45},
    "DD": {"jawOpen": 0.25, "mouthStretchLeft": 0.1, "mouthStretchRight": 0.1},
    "kk": {"jawOpen": 0.3, "mouthStretchLeft": 0.05, "mouthStretchRight": 0.05},
    "CH": {"jawOpen": 0.15, "mouthFunnel": 0.5, "mouthShrugUpper": 0.2},
    "SS": {"jawOpen": 0.07, "mouthStretchLeft": 0.35, "mouthStretchRight": 0.35, "mouthSmileLeft": 0.1,
           "mouthSmileRight": 0.1},
    "nn": {"jawOpen": 0.18},
    "RR": {"jawOpen": 0.2, "mouthFunnel": 0.35, "mouthPucker": 0.25},
    "aa": {"jawOpen": 0.75, "mouthLowerDownLeft": 0.2, "mouthLowerDownRight": 0.2},
    "E": {"jawOpen": 0.4, "mouthStretchLeft": 0.4, "mouthStretchRight": 0.4},
    "ih": {"jawOpen": 0.28, "mouthSmileLeft": 0.3, "mouthSmileRight": 0.3},
    "oh": {"jawOpen": 0.5, "mouthFunnel": 0.6},
    "ou": {"jawOpen": 0.2, "mouthPucker": 0.85, "mouthFunnel": 0.2},
    "blink": {"eyeBlinkLeft": 1.0, "eyeBlinkRight": 1.0},
    "browRaise": {"browInnerUp": 0.6, "browOuterUpLeft": 0.8, "browOuterUpRight": 0.8},
    "smile": {"mouthSmileLeft": 0.8, "mouthSmileRight": 0.8, "cheekSquintLeft": 0.4, "cheekSquintRight": 0.4},
    "concern": {"browInnerUp": 0.8, "mouthFrownLeft": 0.3, "mouthFrownRight": 0.3},
    "lookLeft": {"eyeLookOutLeft": 1.0, "eyeLookInRight": 1.0},
    "lookRight": {"eyeLookInLeft": 1.0, "eyeLookOutRight": 1.0},
    "lookUp": {"eyeLookUpLeft": 1.0, "eyeLookUpRight": 1.0},
    "lookDown": {"eyeLookDownLeft": 1.0, "eyeLookDownRight": 1.0},
}
"""Control -> ARKit blend shapes and weights (names as Apple spells them)."""

VRM: dict[str, Recipe] = {
    "PP": {}, "FF": {"ih": 0.2}, "TH": {"aa": 0.2}, "DD": {"aa": 0.25, "ih": 0.1}, "kk": {"aa": 0.3},
    "CH": {"ou": 0.4, "ih": 0.2}, "SS": {"ih": 0.45}, "nn": {"aa": 0.15, "ih": 0.1}, "RR": {"ou": 0.45},
    "aa": {"aa": 1.0}, "E": {"ee": 0.9}, "ih": {"ih": 0.9}, "oh": {"oh": 1.0}, "ou": {"ou": 1.0},
    "blink": {"blink": 1.0}, "smile": {"happy": 0.7}, "concern": {"sad": 0.4},
    "lookLeft": {"lookLeft": 1.0}, "lookRight": {"lookRight": 1.0}, "lookUp": {"lookUp": 1.0},
    "lookDown": {"lookDown": 1.0},
}
"""Control -> VRM expression presets (VRM 1.0 names; VRM 0.x's a/i/u/e/o/joy/sorrow are renamed first)."""

VRM0_NAMES = {"a": "aa", "i": "ih", "u": "ou", "e": "ee", "o": "oh", "joy": "happy", "sorrow": "sad",
              "blink": "blink", "lookleft": "lookLeft", "lookright": "lookRight", "lookup": "lookUp",
              "lookdown": "lookDown", "fun": "relaxed", "angry": "angry"}


def _norm(name: str) -> str:
    return name.replace("_", "").replace(".", "").replace(" ", "").lower()


def recipes_for(names: list[str]) -> tuple[str, dict[str, Recipe]]:
    """Which convention a set of blend-shape names follows, and each control's recipe in its names.

    Returns ("ovr" | "arkit" | "vrm" | "none", control -> {source name: weight}).
    Matching ignores case, underscores and a common mesh prefix ("blendShape1.jawOpen").
    """
    by_norm: dict[str, str] = {}
    for n in names:
        short = n.rsplit(".", 1)[-1]
        by_norm.setdefault(_norm(short), n)
        by_norm.setdefault(_norm(n), n)
    ovr: dict[str, Recipe] = {}
    for control in CONTROLS[:15]:
        for prefix in OVR_PREFIXES:
            hit = by_norm.get(_norm(prefix + control))
            if hit:
                ovr[control] = {hit: 1.0}
                break
    arkit = {c: {by_norm[_norm(k)]: w for k, w in r.items() if _norm(k) in by_norm} for c, r in ARKIT.items()}
    vrm = {c: {by_norm[_norm(k)]: w for k, w in r.items() if _norm(k) in by_norm} for c, r in VRM.items()}
    mouth_arkit = sum(1 for c in CONTROLS[:15] if arkit.get(c))
    mouth_vrm = sum(1 for c in CONTROLS[:15] if vrm.get(c))
    if len(ovr) >= 8:
        # extras (blink, smile, gaze) from ARKit names where the file has them too
        direct = {c: {by_norm[_norm(c)]: 1.0} for c in CONTROLS[15:] if _norm(c) in by_norm}
        merged = {**{c: r for c, r in arkit.items() if r}, **direct, **ovr}
        return "ovr", merged
    if mouth_arkit >= 8 and "jawopen" in by_norm:
        return "arkit", {c: r for c, r in arkit.items() if r}
    if mouth_vrm >= 3:
        return "vrm", {c: r for c, r in vrm.items() if r}
    return "none", {}
