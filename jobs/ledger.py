"""The ledger's public names, where the rest of Dailies has always imported them from (jobs/store/ holds it)."""

from jobs.store.ledger import Ledger
from jobs.store.model import (
    ACTIVE_STATES,
    ATTENTION_STATES,
    BACKENDS,
    JOB_FIELDS,
    LINK_KINDS,
    SLOT_STATES,
    TERMINAL_STATES,
    BudgetExceeded,
    Job,
    JobState,
    LedgerError,
    NotPermitted,
)

__all__ = ["ACTIVE_STATES", "ATTENTION_STATES", "BACKENDS", "JOB_FIELDS", "LINK_KINDS", "SLOT_STATES",
           "TERMINAL_STATES", "BudgetExceeded", "Job", "JobState", "Ledger", "LedgerError",
           "NotPermitted"]
