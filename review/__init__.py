"""Blind review: clips screened without model names, votes pooled across the team, rankings from those votes."""
