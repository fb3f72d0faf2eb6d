"""Boards' public names (the store lives in jobs/store/boards.py)."""

from jobs.store.boards import NAME_MAX, Board, BoardError, Boards, run_board_name

__all__ = ["NAME_MAX", "Board", "BoardError", "Boards", "run_board_name"]
