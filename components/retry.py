"""Retry for a failed take: one click, one new job in the same run, under the same budget rules as Generate."""

from __future__ import annotations

import streamlit as st

from components import roles
from components.data_cache import forget
from components.keys import current_backend
from components.runtime import Runtime
from components.submit_guard import request_id_for
from jobs.ledger import BudgetExceeded, Job, NotPermitted
from jobs.prefs import period_start
from jobs.runner import RETRYABLE_STATES
from providers.errors import DailiesError, ValidationErrors

QUEUE_CACHE_KEY = "_queue_cache"
"""Generate's queue cache (components/queue.py), dropped so the new job shows at once."""


def _retry(rt: Runtime, job: Job) -> None:
    backend = current_backend(rt)
    live = not backend.sandbox
    try:
        # The double-click guard: the same click repeated within a few seconds is the same request.
        new_id = rt.runner.retry(
            job.id, backend, request_id=request_id_for("retry", job.id),
            budget_limit_usd=rt.prefs.budget_usd if live else None,
            budget_period_start=period_start(rt.prefs.budget_period) if live else None,
            **roles.admission(rt.prefs, backend.sandbox))
    except ValidationErrors as e:
        st.session_state[_message_key(job)] = "; ".join(e.by_field().values())
    except BudgetExceeded as e:
        st.session_state[_message_key(job)] = f"Not sent — {e}"
    except NotPermitted as e:
        st.session_state[_message_key(job)] = f"Refused: {e}"
    except DailiesError as e:
        st.session_state[_message_key(job)] = f"{e.title}: {e.message}"
    else:
        st.session_state.pop(_message_key(job), None)
        st.session_state.pop(QUEUE_CACHE_KEY, None)
        forget()
        st.toast(f"Retry sent (job {new_id[:8]}).", icon=":material/replay:")


def _message_key(job: Job) -> str:
    return f"_retry_msg:{job.id}"


def render_retry(rt: Runtime, job: Job, *, key_prefix: str = "retry") -> None:
    """The Retry button under a failed take (nothing for other states)."""
    if job.state not in RETRYABLE_STATES:
        return
    sandbox = current_backend(rt).sandbox
    refused = roles.refusal(roles.GENERATE)  # greyed out, the reason on hover (a page may list many failed takes)
    st.button("Retry", key=f"{key_prefix}:{job.id}", icon=":material/replay:", on_click=_retry, args=(rt, job),
              disabled=refused is not None, help=refused or "Send this take again as one new job in the same run"
              + (" (sandbox: nothing is charged)." if sandbox else "; the budget applies."))
    message = st.session_state.get(_message_key(job))
    if message:
        st.error(message, icon=":material/block:")
