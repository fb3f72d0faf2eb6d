"""How a saved recipe's takes did: the pooled blind votes (A/B and best–worst) cast on clips from the runs it
produced, and the technical flags those clips raised, per model."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from jobs.ledger import Job, JobState, Ledger
from library.prompts import PromptLibrary
from review.arena import Ballot, as_ballot
from review.ranking import BOOTSTRAP_SAMPLES, RankRow, rank
from review.store import ReviewStore


def recipe_jobs(library: PromptLibrary, ledger: Ledger, recipe_id: str) -> list[Job]:
    jobs: list[Job] = []
    for run_id in library.runs(recipe_id):
        jobs += ledger.list_jobs(run_id=run_id)
    return jobs


def recipe_job_ids(library: PromptLibrary, ledger: Ledger, recipe_id: str) -> set[str]:
    return {job.id for job in recipe_jobs(library, ledger, recipe_id)}


def _ballots(store: ReviewStore, ids: set[str], best_worst: Sequence[Ballot]) -> list[Ballot]:
    """Votes whose every clip came from this recipe's runs."""
    return [as_ballot(v) for v in store.votes(job_ids=ids)] + [b for b in best_worst if set(b.jobs) <= ids]


def recipe_ranking(library: PromptLibrary, ledger: Ledger, store: ReviewStore, recipe_id: str, *,
                   samples: int = BOOTSTRAP_SAMPLES, best_worst: Sequence[Ballot] = ()) -> list[RankRow]:
    """Models ranked on votes where every clip came from this recipe's runs (empty until someone votes)."""
    return rank(_ballots(store, recipe_job_ids(library, ledger, recipe_id), best_worst), samples=samples)


@dataclass(frozen=True)
class ModelInsight:
    """One model's takes of one recipe: how they ranked and what the technical checks found."""

    model_id: str
    takes: int
    downloaded: int
    checked: int  # downloaded clips the technical checks have looked at
    flagged: int  # of those, clips with at least one flag
    flags: dict[str, int] = field(default_factory=dict)  # flag kind -> how many clips raised it
    ranking: RankRow | None = None  # None: no votes on its takes of this recipe

    @property
    def flag_summary(self) -> str:
        if not self.checked:
            return "not checked yet" if self.downloaded else "—"
        if not self.flags:
            return "none"
        return ", ".join(f"{kind.replace('_', ' ')} ×{n}" for kind, n in sorted(self.flags.items(),
                                                                                 key=lambda kv: (-kv[1], kv[0])))


def recipe_insight(library: PromptLibrary, ledger: Ledger, store: ReviewStore, recipe_id: str, *,
                   samples: int = BOOTSTRAP_SAMPLES, best_worst: Sequence[Ballot] = ()) -> list[ModelInsight]:
    """Per model, best-ranked first (models without votes after, by name)."""
    jobs = recipe_jobs(library, ledger, recipe_id)
    ranking = {r.model_id: r for r in rank(_ballots(store, {j.id for j in jobs}, best_worst), samples=samples)}
    by_model: dict[str, list[Job]] = {}
    for job in jobs:
        by_model.setdefault(job.model_id, []).append(job)
    out = []
    for model_id, takes in by_model.items():
        done = [j for j in takes if j.state == JobState.DOWNLOADED]
        checked = [j for j in done if j.flags_json is not None]
        kinds = Counter(kind for j in checked for kind in {str(f.get("kind")) for f in j.flags})
        out.append(ModelInsight(model_id, len(takes), len(done), len(checked), sum(1 for j in checked if j.flags),
                                dict(kinds), ranking.get(model_id)))
    order = {r.model_id: i for i, r in enumerate(ranking.values())}
    return sorted(out, key=lambda m: (order.get(m.model_id, len(order)), m.model_id))
