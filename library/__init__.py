"""The team's prompt library: saved recipes with per-model variants and the record of how their takes ranked."""
