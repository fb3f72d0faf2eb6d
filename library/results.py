"""How a saved recipe's takes ranked: the pooled blind votes cast on clips from the runs it produced."""

from __future__ import annotations

from jobs.ledger import Ledger
from library.prompts import PromptLibrary
from review.ranking import RankRow, rank
from review.store import ReviewStore


def recipe_job_ids(library: PromptLibrary, ledger: Ledger, recipe_id: str) -> set[str]:
    ids: set[str] = set()
    for run_id in library.runs(recipe_id):
        ids.update(job.id for job in ledger.list_jobs(run_id=run_id))
    return ids


def recipe_ranking(library: PromptLibrary, ledger: Ledger, store: ReviewStore, recipe_id: str, *,
                   samples: int = 100) -> list[RankRow]:
    """Models ranked on votes where both clips came from this recipe's runs (empty until someone votes)."""
    votes = store.votes(job_ids=recipe_job_ids(library, ledger, recipe_id))
    return rank(votes, samples=samples)
