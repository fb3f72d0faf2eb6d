"""The probe reads real MP4s, rejects broken structure, and says which requested settings a model ignored."""

from __future__ import annotations

import logging
import struct
from pathlib import Path

import av
import numpy as np
import pytest
from jobs_helpers import encode_clip
from PIL import Image

from jobs.probe import ProbeInfo, check_mp4, compare_requested, make_thumbnail, probe, walk_mp4_boxes
from providers.errors import ErrorKind, ProviderError


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("probe-clips")
    return {
        "silent": encode_clip(d / "silent.mp4", audio=False, color=(200, 80, 40)),
        "audio": encode_clip(d / "audio.mp4", audio=True, color=(200, 80, 40)),
    }


def box(box_type: bytes, payload: bytes = b"", *, large: bool = False, to_eof: bool = False) -> bytes:
    if large:
        return struct.pack(">I4sQ", 1, box_type, 16 + len(payload)) + payload
    size = 0 if to_eof else 8 + len(payload)
    return struct.pack(">I4s", size, box_type) + payload


FTYP = box(b"ftyp", b"isom" + b"\x00\x00\x02\x00" + b"isomiso2")


def write(tmp_path: Path, data: bytes) -> Path:
    p = tmp_path / "f.mp4"
    p.write_bytes(data)
    return p


def expect_invalid(fn, *args) -> ProviderError:
    with pytest.raises(ProviderError) as info:
        fn(*args)
    assert info.value.kind == ErrorKind.DOWNLOAD_INVALID
    return info.value


# -- probe -------------------------------------------------------------------------------------------------------


def test_probe_reads_duration_size_fps_codec_and_audio(clips: dict[str, Path]) -> None:
    silent, voiced = probe(clips["silent"]), probe(clips["audio"])
    assert silent == ProbeInfo(1.0, 160, 90, 24.0, False, "h264", "yuv420p")
    assert voiced.has_audio and voiced.width == 160 and abs(voiced.duration_s - 1.0) < 0.1


def test_probe_rejects_a_file_that_is_not_a_video(tmp_path: Path) -> None:
    err = expect_invalid(probe, write(tmp_path, b'{"error": {"message": "not ready"}}'))
    assert "could not be read" in err.message


def test_probe_rejects_an_mp4_without_a_video_stream(tmp_path: Path) -> None:
    path = tmp_path / "audio_only.mp4"
    with av.open(str(path), "w") as c:
        a = c.add_stream("aac", rate=44100)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate, frame.pts = 44100, 0
        for p in [*a.encode(frame), *a.encode()]:
            c.mux(p)
    assert "no video stream" in expect_invalid(probe, path).message


# -- box walk ----------------------------------------------------------------------------------------------------


def test_walk_lists_the_top_level_boxes_of_a_real_clip(clips: dict[str, Path]) -> None:
    boxes = walk_mp4_boxes(clips["silent"])
    assert [t for t, _, _ in boxes][0] == "ftyp"
    assert {"moov", "mdat"} <= {t for t, _, _ in boxes}
    assert sum(size for _, _, size in boxes) == clips["silent"].stat().st_size
    assert check_mp4(clips["audio"])


def test_walk_handles_64_bit_sizes_and_a_last_box_running_to_eof(tmp_path: Path) -> None:
    data = FTYP + box(b"moov", b"x" * 10, large=True) + box(b"mdat", b"y" * 30, to_eof=True)
    boxes = check_mp4(write(tmp_path, data))
    assert boxes == [("ftyp", 0, 24), ("moov", 24, 26), ("mdat", 50, 38)]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (box(b"moov", b"x" * 8) + FTYP + box(b"mdat", b"y"), "does not start with an ftyp"),
        (box(b"ftyp", b"isom") + box(b"moov") + box(b"mdat"), "fewer than the 16"),
        (FTYP + box(b"mdat", b"y" * 20), "no moov"),
        (FTYP + box(b"moov", b"x" * 20) + box(b"free"), "no mdat"),
        (FTYP + box(b"moov", b"x" * 20) + box(b"mdat", b"y" * 100)[:-10], "file ends at"),
        (FTYP + box(b"moov") + box(b"mdat") + b"\x00\x00\x00", "truncated box header"),
        (FTYP + struct.pack(">I4s", 4, b"moov") + box(b"mdat"), "less than its header"),
        (FTYP + box(b"moov") + box(b"md\x00t"), "garbage box type"),
        (FTYP + box(b"moov") + box(b"mdat", large=True)[:12], "truncated 64-bit box size"),
        (b"", "does not start with an ftyp"),
    ],
)
def test_check_mp4_rejects_broken_structure(tmp_path: Path, data: bytes, reason: str) -> None:
    assert reason in expect_invalid(check_mp4, write(tmp_path, data)).message


def test_a_truncated_real_clip_is_caught_by_the_box_walk(clips: dict[str, Path], tmp_path: Path) -> None:
    data = clips["silent"].read_bytes()
    expect_invalid(check_mp4, write(tmp_path, data[:-1]))
    expect_invalid(check_mp4, write(tmp_path, data + b"\x00"))


def test_unknown_brand_is_logged_not_rejected(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data = box(b"ftyp", b"zzzz\x00\x00\x00\x00isom") + box(b"moov") + box(b"mdat")
    with caplog.at_level(logging.INFO, logger="jobs.probe"):
        check_mp4(write(tmp_path, data))
    assert "unknown MP4 major brand 'zzzz'" in caplog.text


# -- thumbnail ---------------------------------------------------------------------------------------------------


def test_thumbnail_is_a_jpeg_of_the_first_frame_at_the_requested_width(clips: dict[str, Path], tmp_path: Path) -> None:
    out = make_thumbnail(clips["audio"], tmp_path / "t.jpg", width=320)
    with Image.open(out) as img:
        assert img.format == "JPEG" and img.size == (320, 180)
        # The fixture's first frame is mostly black with a coloured strip on the left.
        assert img.getpixel((2, 90))[0] > 120 and sum(img.getpixel((300, 90))) < 60
    assert list(tmp_path.iterdir()) == [out]


def test_thumbnail_of_an_undecodable_file_fails_and_writes_nothing(tmp_path: Path) -> None:
    src = write(tmp_path, FTYP + box(b"moov") + box(b"mdat"))
    expect_invalid(make_thumbnail, src, tmp_path / "t.jpg")
    assert not (tmp_path / "t.jpg").exists() and not (tmp_path / "t.jpg.part").exists()


# -- requested vs applied ----------------------------------------------------------------------------------------


def info(duration: float = 5.0, w: int = 1280, h: int = 720, audio: bool = False) -> ProbeInfo:
    return ProbeInfo(duration, w, h, 24.0, audio, "h264", "yuv420p")


def test_kling_reporting_5_1_s_for_5_s_is_honoured() -> None:
    assert compare_requested(5, None, info(duration=5.1), "kling") == []


def test_a_clip_half_a_second_short_is_a_duration_mismatch() -> None:
    [m] = compare_requested(8, None, info(duration=7.5), "veo")
    assert (m.field, m.requested, m.applied) == ("duration", "8 s", "7.50 s") and "shorter" in m.note


def test_runway_1280_768_rendered_as_720p_is_allowed_but_not_for_other_families() -> None:
    assert compare_requested(None, "1280:768", info(), "runway") == []
    [m] = compare_requested(None, "1280:768", info(), "veo")
    assert (m.field, m.requested, m.applied) == ("resolution", "1280x768", "1280x720")


def test_resolution_allows_even_rounding_but_not_a_swapped_orientation() -> None:
    assert compare_requested(None, "1279x719", info(), "sora") == []
    assert [m.field for m in compare_requested(None, "720x1280", info(), "sora")] == ["resolution"]


def test_an_aspect_ratio_request_is_compared_as_a_ratio() -> None:
    assert compare_requested(None, "16:9", info(), "kling") == []
    [m] = compare_requested(None, "9:16", info(), "kling")
    assert m.field == "aspect_ratio"


def test_audio_is_compared_only_when_requested() -> None:
    assert compare_requested(None, None, info(audio=False), "veo") == []
    [m] = compare_requested(None, None, info(audio=False), "veo", requested_audio=True)
    assert (m.field, m.requested, m.applied) == ("audio", "on", "off")
    assert compare_requested(None, None, info(audio=True), "veo", requested_audio=True) == []


def test_nothing_requested_means_nothing_compared() -> None:
    assert compare_requested(None, None, info(duration=1.0, w=10, h=10, audio=True), "runway") == []


def test_a_malformed_requested_size_names_the_field() -> None:
    with pytest.raises(ValueError, match="requested_size"):
        compare_requested(None, "big", info(), "veo")
