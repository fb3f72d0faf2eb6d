"""Exports that leave the app: the synchronised player page, a board as JSON, and code that reproduces each take."""
