"""A board of real clips exported as an offline demo pack: every referenced file present, costs and keys hidden."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from exports.demopack import DemoPackError, check_pack, export_demo_pack, referenced_files
from jobs.clipstore import ClipStore
from jobs.ledger import Ledger
from providers.catalog import load_catalog
from tests.review.review_helpers import finished_job

MODELS = ("veo3.1-fast", "kling-v1-6", "gen4_turbo")


@pytest.fixture
def board(tmp_path: Path):
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    clips = ClipStore(tmp_path / "clips")
    jobs = [finished_job(ledger, clips, m, "A paper airplane glides across a desk", run_id="run-1", take=0,
                         work_dir=tmp_path, task_id=f"task-{m}") for m in MODELS]
    yield jobs, clips
    ledger.close()


def _name(model_id: str) -> str:
    return load_catalog().get(model_id).display_name


def test_pack_holds_every_clip_and_thumbnail_and_validates(board, tmp_path: Path) -> None:
    board, clips = board
    pack = export_demo_pack(board, tmp_path / "pack", title="Paper plane", model_name=_name, as_zip=True,
                            clips=clips)
    assert pack.files[0] == "index.html" and pack.skipped == ()
    assert check_pack(pack.folder) == []
    index = (pack.folder / "index.html").read_text()
    refs = referenced_files(index)
    assert sorted(r for r in refs if r.endswith(".mp4")) == ["clips/01.mp4", "clips/02.mp4", "clips/03.mp4"]
    assert sorted(r for r in refs if r.endswith(".jpg")) == ["thumbs/01.jpg", "thumbs/02.jpg", "thumbs/03.jpg"]
    for n, job in enumerate(board, start=1):
        assert (pack.folder / f"clips/{n:02d}.mp4").read_bytes() == clips.path_of(job.clip_path).read_bytes()
        assert _name(job.model_id) in index
    # Offline and customer-safe: no server URLs, no task ids, no keys, no prices unless asked.
    for secret in ("sk-sandbox", "http://", "/app/static", "$0.", "simulated", *(j.task_id for j in board),
                   *(j.id for j in board)):
        assert secret not in index, secret
    with zipfile.ZipFile(pack.zip_path) as zf:
        names = set(zf.namelist())
    assert {f"pack/{f}" for f in pack.files} <= names


def test_costs_appear_only_when_chosen(board, tmp_path: Path) -> None:
    board, clips = board
    pack = export_demo_pack(board, tmp_path / "with-costs", title="t", show_costs=True, clips=clips)
    assert "$0.40 (simulated)" in (pack.folder / "index.html").read_text()


def test_validation_catches_a_missing_or_remote_reference(board, tmp_path: Path) -> None:
    board, clips = board
    pack = export_demo_pack(board, tmp_path / "pack", title="t", clips=clips)
    (pack.folder / "clips" / "02.mp4").unlink()
    index = pack.folder / "index.html"
    index.write_text(index.read_text().replace("</body>", '<img src="https://cdn.example/x.png"></body>'))
    problems = check_pack(pack.folder)
    assert "clips/02.mp4" in problems
    assert any(p.startswith("https://cdn.example/x.png") for p in problems)


def test_takes_without_clips_are_left_out_and_an_empty_board_is_refused(board, tmp_path: Path) -> None:
    board, clips = board
    clips.path_of(board[2].clip_path).unlink()
    pack = export_demo_pack(board, tmp_path / "pack", title="t", clips=clips)
    assert pack.skipped == (board[2].id,)
    assert not (pack.folder / "clips" / "03.mp4").exists()
    with pytest.raises(DemoPackError, match="board: none of its takes"):
        export_demo_pack([board[2]], tmp_path / "empty", title="t", clips=clips)
    with pytest.raises(DemoPackError, match="is not empty"):
        export_demo_pack(board, tmp_path / "pack", title="t", clips=clips)
