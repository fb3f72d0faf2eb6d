"""What this session's person may do, for the pages (the rules are jobs/permissions.py; who is who, jobs/identity.py).

A refused place shows `refusal(action)`: one sentence saying why, and who to ask. Every take a page admits passes
`admission(...)` down, so the owner always travels with the role the ledger checks: a viewer's run is refused by the
store even where a page forgot to grey out its button.
"""

from __future__ import annotations

from typing import Any

from components import auth
from jobs import identity, permissions
from jobs.permissions import GENERATE, LIBRARY, REVIEW, SETTINGS, VOTE
from jobs.prefs import Prefs

__all__ = ["GENERATE", "LIBRARY", "REVIEW", "SETTINGS", "VOTE", "admission", "may", "refusal"]


def _config() -> identity.AuthConfig:
    return identity.load_config()


def may(action: str) -> bool:
    return refusal(action) is None


def refusal(action: str) -> str | None:
    """Why this person may not do `action`, and who to ask; None when they may."""
    config = _config()
    role = auth.current_identity().role
    why = permissions.refusal(role, action, viewers_vote=config.viewers_vote)
    if why is None:
        return None
    admins = ", ".join(sorted(config.admins) + [f"the {g} group" for g in sorted(config.admin_groups)])
    if action == SETTINGS:
        ask = f"Ask an admin ({admins})." if admins else "No admin is configured: the operator lists them in " \
                                                          f"{identity.ADMINS_ENV}."
    elif action == VOTE and role == identity.VIEWER:
        ask = (f"Ask an admin ({admins})" if admins else "Ask the operator") + \
            f" to let viewers vote ({identity.VIEWERS_VOTE_ENV}=1) or to make you a member."
    elif admins:
        ask = f"Ask an admin ({admins}) to make you a member."
    else:  # nobody to ask in the app: the roles are the deployment's configuration
        ask = f"Ask the operator to make you a member ({identity.VIEWERS_ENV}, {identity.DEFAULT_ROLE_ENV})."
    return f"{why} {ask}"


def admission(prefs: Prefs, sandbox: bool) -> dict[str, Any]:
    """The keyword arguments every admission passes down (Runner.submit_run / submit_groups / retry, extend,
    remix, library runs): who asks, their role, and the per-person limit a live run must fit."""
    return {"owner": auth.current_owner(), "role": auth.current_identity().role,
            "person_limit_usd": auth.person_limit(prefs, sandbox)}

