"""Each technical flag on a real sandbox clip with that defect baked in (position within 0.2 s), and none on
clean clips, near misses (a dark scene, a slow pan) or another generator's clip."""

from __future__ import annotations

from pathlib import Path

import pytest
from clip_makers import creeping_clip, make_testsrc2, noise_clip, sandbox_clip

from jobs.checks import Flag, check_clip
from sandbox.defects import Defect

TOLERANCE_S = 0.2


def kinds(flags: list[Flag]) -> list[str]:
    return [f.kind for f in flags]


def only(flags: list[Flag], kind: str) -> Flag:
    assert kinds(flags) == [kind], [f.message for f in flags]
    return flags[0]


@pytest.mark.parametrize("defect, kind, start, end", [
    (Defect("black", 0.0, 1.0), "black", 0.0, 1.0),
    (Defect("black", 2.0, 0.5), "black", 2.0, 2.5),
    (Defect("freeze", 1.5, 1.25), "freeze", 1.5, 2.75),
    (Defect("flicker", 1.0, 1.0), "flicker", 1.0, 2.0),
    (Defect("bars", 0.0, 4.0), "bars", 0.0, 4.0),
    (Defect("bars", 1.0, 2.0, orientation="pillarbox"), "bars", 1.0, 3.0),
    (Defect("cut", 2.5), "cut", 2.5, 2.54),
    (Defect("silence", 1.0, 1.2), "silence", 1.0, 2.2),
])
def test_each_defect_is_flagged_where_it_is(tmp_path: Path, defect: Defect, kind: str, start: float,
                                            end: float) -> None:
    clip = sandbox_clip(tmp_path / "clip.mp4", defect)
    flag = only(check_clip(clip, expects_audio=True), kind)
    assert abs(flag.start_s - start) <= TOLERANCE_S
    assert abs(flag.end_s - end) <= TOLERANCE_S
    assert f"{start:.1f}" in flag.message or "throughout" in flag.message or "at 2.5 s" in flag.message
    assert flag.threshold  # every flag states the rule that fired


def test_a_flag_survives_its_json_round_trip(tmp_path: Path) -> None:
    flag = only(check_clip(sandbox_clip(tmp_path / "c.mp4", Defect("freeze", 1.0, 1.0)), True), "freeze")
    assert Flag.from_json(flag.to_json()) == Flag.from_json(flag.to_json() | {})
    assert Flag.from_json(flag.to_json()).message == flag.message


@pytest.mark.parametrize("name, make", [
    ("clean", lambda p: sandbox_clip(p)),
    ("dark scene", lambda p: sandbox_clip(p, Defect("dark_scene"))),
    ("slow pan", lambda p: sandbox_clip(p, Defect("slow_pan"))),
    ("testsrc2", make_testsrc2),
    ("clean, 720p", lambda p: sandbox_clip(p, seconds=2.0, width=1280, height=720)),
])
def test_clean_clips_and_near_misses_raise_nothing(tmp_path: Path, name: str, make) -> None:
    assert check_clip(make(tmp_path / "c.mp4"), expects_audio=True) == []


def test_a_clip_that_barely_moves_is_static(tmp_path: Path) -> None:
    flag = only(check_clip(creeping_clip(tmp_path / "c.mp4")), "static")
    assert "barely moves" in flag.message


def test_noise_is_chaotic(tmp_path: Path) -> None:
    only(check_clip(noise_clip(tmp_path / "c.mp4")), "chaotic")


def test_sound_is_checked_against_what_the_model_promises(tmp_path: Path) -> None:
    mute = sandbox_clip(tmp_path / "mute.mp4", audio=False)
    assert kinds(check_clip(mute, expects_audio=True)) == ["no_audio"]
    assert check_clip(mute, expects_audio=False) == []  # no promise, no flag


def test_an_all_silent_soundtrack_is_one_flag(tmp_path: Path) -> None:
    silent = sandbox_clip(tmp_path / "s.mp4", Defect("silence", 0.0, 4.0))
    flag = only(check_clip(silent, expects_audio=True), "silent_track")
    assert flag.message == "The soundtrack is silent."
