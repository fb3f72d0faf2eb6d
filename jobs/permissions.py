"""What each role may do (jobs/identity.py decides who has which role). No Streamlit here.

    admin    everything, the deployment's settings included
    member   start takes within the budget (Generate, retry, re-run, extend, remix, library runs), edit the
             library, review and vote
    viewer   watch boards, Compare, History and Rankings (no keep/discard, notes or board edits); vote only
             where DAILIES_VIEWERS_VOTE=1

No role (single user, DAILIES_AUTH=none) has every right, as before sign-in existed. The pages ask these rules to
grey out a button and say why; the store asks the same rules where the work is written (Ledger.create_jobs for
every take, the prompt library for its recipes), so a page that forgot to hide a button still cannot let a viewer
spend the team's budget.
"""

from __future__ import annotations

from jobs.identity import ADMIN, MEMBER, VIEWER, VIEWERS_VOTE_ENV

GENERATE, LIBRARY, SETTINGS, VOTE, REVIEW = "generate", "library", "settings", "vote", "review"
ACTIONS = (GENERATE, LIBRARY, SETTINGS, VOTE, REVIEW)

_WHAT = {
    GENERATE: "start takes",
    LIBRARY: "save, start or delete library recipes",
    SETTINGS: "change the deployment's settings",
    VOTE: "vote",
    REVIEW: "keep, discard, annotate or remove takes from a board",
}


def allowed(role: str | None, action: str, *, viewers_vote: bool = False) -> bool:
    if action not in ACTIONS:
        raise ValueError(f"action: {action!r} is not one of {', '.join(ACTIONS)}")
    if role is None or role == ADMIN:
        return True
    if role == MEMBER:
        return action != SETTINGS
    if role == VIEWER:
        return action == VOTE and viewers_vote
    return False  # a role this build does not know gets nothing


def refusal(role: str | None, action: str, *, viewers_vote: bool = False) -> str | None:
    """Why `role` may not do `action` (one sentence), or None when it may."""
    if allowed(role, action, viewers_vote=viewers_vote):
        return None
    why = f" ({VIEWERS_VOTE_ENV} is off)" if action == VOTE and role == VIEWER else ""
    return f"You are signed in as a {role}: a {role} cannot {_WHAT[action]}{why}."
