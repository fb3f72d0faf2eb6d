"""Boards, on SQLite and PostgreSQL: every run becomes a board; boards can be edited and survive reopening."""

from __future__ import annotations

import pytest

from jobs.boards import BoardError, Boards
from jobs.ledger import Ledger


@pytest.fixture
def ledger(store_target):
    led = Ledger(store_target)
    yield led
    led.close()


def _job(ledger: Ledger, run: str, model: str, prompt: str = "a kite") -> str:
    return ledger.create_job(run_id=run, model_id=model, family="veo", backend="sandbox", base_url="http://x",
                             key_fingerprint=None, recipe_json=f'{{"prompt": "{prompt}"}}').id


def test_each_run_becomes_a_board_named_after_its_prompt(ledger: Ledger) -> None:
    a1, a2 = _job(ledger, "run-a", "veo3.1-fast"), _job(ledger, "run-a", "kling-v1-6")
    b1 = _job(ledger, "run-b", "veo3.1", prompt="a lighthouse")
    boards = Boards(ledger.target)
    assert boards.sync_runs() == 2
    assert boards.sync_runs() == 0
    assert set(boards.for_run("run-a").job_ids) == {a1, a2}
    assert boards.for_run("run-b").job_ids == (b1,) and boards.for_run("run-b").name.startswith("a lighthouse · ")
    late = _job(ledger, "run-a", "gen3a_turbo")  # a fallback created later joins its run's board
    boards.sync_runs()
    assert late in boards.for_run("run-a").job_ids
    boards.close()


def test_add_remove_rename_delete_and_persistence(ledger: Ledger) -> None:
    a1, b1 = _job(ledger, "run-a", "veo3.1-fast"), _job(ledger, "run-b", "veo3.1")
    boards = Boards(ledger.target)
    boards.sync_runs()
    board = boards.for_run("run-a")
    assert boards.add(board.id, [b1]).job_ids == (a1, b1)
    assert boards.remove(board.id, a1).job_ids == (b1,)
    boards.sync_runs()
    assert a1 not in boards.get(board.id).job_ids  # a removed take stays removed
    assert boards.rename(board.id, "  best  takes ").name == "best takes"
    mine = boards.create("picked", [a1])
    before = boards.version()
    boards.delete(board.id)
    assert boards.version() > before
    boards.sync_runs()
    boards.close()
    reopened = Boards(ledger.target)
    assert {b.id for b in reopened.list()} == {mine.id, reopened.for_run("run-b").id}
    assert reopened.get(board.id) is None and reopened.get(mine.id).job_ids == (a1,)
    reopened.close()


def test_bad_names_and_unknown_boards_are_refused(ledger: Ledger) -> None:
    boards = Boards(ledger.target)
    with pytest.raises(BoardError, match="name"):
        boards.create("   ")
    with pytest.raises(BoardError, match="at most 120"):
        boards.create("x" * 121)
    with pytest.raises(BoardError, match="no board"):
        boards.add("nope", ["x"])
    boards.close()
