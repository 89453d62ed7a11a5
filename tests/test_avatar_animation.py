"""Phonemes to visemes, coarticulation without popping, states, and the non-blocking event queue."""

from __future__ import annotations

import itertools
import threading
import time

import numpy as np

from avatar.animation import Animator, EventQueue, PatientPause, Say, SetState, State
from avatar.visemes import VisemeTrack, openness, segments, viseme_for
from avatar.voice import TimedPhoneme


def _timeline(spec: list[tuple[str, float]]) -> list[TimedPhoneme]:
    out, t = [], 0.0
    for ph, dur in spec:
        out.append(TimedPhoneme(ph, t, t + dur))
        t += dur
    return out


# "mama, wait": piper-style symbols with a stress mark, a comma pause and a length mark
MAMA = _timeline([("m", 0.08), ("ˈ", 0.0), ("ɑ", 0.14), ("ː", 0.04), ("m", 0.07), ("ə", 0.09),
                  (",", 0.15), (" ", 0.02), ("w", 0.06), ("eɪ", 0.12), ("t", 0.06), (".", 0.2)])


def test_ipa_table_covers_the_voice_and_groups_sensibly() -> None:
    assert viseme_for("p") == viseme_for("b") == viseme_for("m") == "PP"
    assert viseme_for("f") == "FF" and viseme_for("θ") == "TH" and viseme_for("ʃ") == "CH"
    assert viseme_for("ɑ") == "aa" and viseme_for("u") == "ou" and viseme_for("ɪ") == "ih"
    assert viseme_for(",") == "sil" and viseme_for(" ") == "sil"
    assert viseme_for("ˈ") is None and viseme_for("ː") is None


def test_segments_absorb_stress_and_length_marks() -> None:
    segs = segments(MAMA)
    assert [s.viseme for s in segs] == ["PP", "aa", "PP", "E", "sil", "RR", "E", "DD", "sil"]
    aa = segs[1]
    assert aa.start == MAMA[1].start and aa.end == MAMA[3].end  # stress joins forward, length backward


def test_weights_sum_to_one_and_never_jump() -> None:
    track = VisemeTrack(MAMA)
    times = np.arange(-0.1, track.duration + 0.1, 1 / 240)
    frames = [track.weights(float(t)) for t in times]
    assert all(abs(sum(w.values()) - 1.0) < 1e-6 for w in frames)
    names = {v for w in frames for v in w}
    steps = [max(abs(a.get(v, 0) - b.get(v, 0)) for v in names) for a, b in itertools.pairwise(frames)]
    assert max(steps) < 0.2  # at 240 Hz: a ramp of >= 2 x 10 ms, eased, never a pop
    # the bilabial closes fully mid-segment, the vowel opens fully
    assert track.weights(0.04)["PP"] > 0.99
    assert track.weights(0.15)["aa"] > 0.99


def test_boundaries_are_half_way_and_lead_shifts_them() -> None:
    track = VisemeTrack(MAMA)
    boundary = MAMA[1].start  # PP -> aa
    w = track.weights(boundary)
    assert abs(w["PP"] - 0.5) < 0.05 and abs(w.get("aa", 0) - 0.5) < 0.05
    early = Animator(lead=0.03)
    early.push([Say(1.0, track, "mama")])
    f = early.frame(1.0 + boundary - 0.03)
    assert abs(f.weights["PP"] - 0.5) < 0.05


def test_coarticulation_hidden_consonants_borrow_the_vowel() -> None:
    track = VisemeTrack(_timeline([("k", 0.08), ("ɑ", 0.2), ("t", 0.09)]))
    k_mid = track.weights(0.04)
    assert 0.3 < k_mid["aa"] < 0.6 and k_mid["kk"] > 0.4
    # a short vowel undershoots: the jaw opens less than on a long one
    short = VisemeTrack(_timeline([("p", 0.1), ("ɑ", 0.04), ("p", 0.1)]))
    assert openness(short.weights(0.12)) < 0.8 * openness(track.weights(0.18))


def test_states_blinks_and_nods() -> None:
    anim = Animator(seed=3)
    frames = [anim.frame(k / 30) for k in range(30 * 20)]
    blink = np.array([f.weights["blink"] for f in frames])
    starts = np.flatnonzero((blink[1:] > 0.5) & (blink[:-1] <= 0.5))
    assert 3 <= len(starts) <= 10  # natural: every 2-6 s
    closed = np.diff(np.flatnonzero(blink > 0.5))
    assert closed.size == 0 or np.max(np.diff(starts)) > 10
    rise = np.array([f.pose.rise for f in frames])
    assert np.ptp(rise) > 0.003  # breathing
    yaw = np.array([f.pose.yaw for f in frames])
    assert 0.01 < np.ptp(yaw) < 0.2  # small head motion

    listen = Animator(seed=3)
    listen.push([SetState(0.0, State.LISTENING), PatientPause(2.0)])
    pitch = [listen.frame(t).pose.pitch for t in np.arange(0, 3.5, 1 / 30)]
    calm = Animator(seed=3)
    calm.push([SetState(0.0, State.LISTENING)])
    base = [calm.frame(t).pose.pitch for t in np.arange(0, 3.5, 1 / 30)]
    assert max(np.array(pitch) - np.array(base)) > 0.05  # an attentive nod after the pause
    assert listen.frame(3.6).state is State.LISTENING


def test_speaking_state_and_caption_follow_the_say_event() -> None:
    anim = Animator()
    anim.push([SetState(0.0, State.THINKING), Say(2.0, VisemeTrack(MAMA), "Mama, wait.")])
    assert anim.frame(1.0).state is State.THINKING
    during = anim.frame(2.2)
    assert during.state is State.SPEAKING and during.caption == "Mama, wait."
    assert during.weights.get("aa", 0) > 0.5
    assert anim.frame(5.0).state is State.THINKING


def test_render_loop_never_waits_on_a_slow_producer() -> None:
    events = EventQueue()
    anim = Animator()

    def slow_model() -> None:
        time.sleep(0.3)  # the language model and the voice take their time
        events.put(SetState(0.0, State.SPEAKING))

    producer = threading.Thread(target=slow_model)
    producer.start()
    started = time.perf_counter()
    frames = 0
    while time.perf_counter() - started < 0.1:
        anim.frame(time.perf_counter() - started, events.drain())
        frames += 1
    producer.join()
    assert frames > 50  # the loop kept its pace while the producer slept
    anim.frame(1.0, events.drain())
    assert anim.state is State.SPEAKING
