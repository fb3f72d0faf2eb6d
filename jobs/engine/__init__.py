"""The job engine behind `jobs.runner.Runner`, one job per module.

scheduler   due-work heap, ready queue, token-gated dispatch onto the worker pool
backends    keys in memory, one HTTP client per (key, base URL), the process-wide status limiters
leases      who owns a job: owner ids, dead local owners, the rescan that adopts or steals
context     the narrow state every step works through (ledger, catalog, tracks, scheduling, state changes)
handle      the frozen task handle: where a recorded task is polled and fetched, built once
submit, poll, reconcile, download, fallback   one step each, a function of the context
records     what the ledger keeps: mapping JSON, applied-vs-requested, redacted raw answers, the job-row builder
"""
