"""Every browser test's page goes through this guard: requests to the app's own origin pass, any other is
aborted and counted, so no test ever sends traffic off the machine and a page that tries is caught."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

WIDTH = 1440
"""The width every screenshot is taken at (the issue's product check)."""


@dataclass
class Guard:
    origin: str
    """scheme://host:port of the app under test."""
    blocked: list[str] = field(default_factory=list)
    """Every aborted request's URL, in order."""
    also: tuple[str, ...] = ()
    """Other origins on this machine the page may reach (the S3 test's bucket endpoint)."""

    def handle(self, route) -> None:  # playwright.sync_api.Route
        url = route.request.url
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" in (self.origin, *self.also):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort("blockedbyclient")


def _origin(base: str) -> str:
    parts = urlsplit(base)
    return f"{parts.scheme}://{parts.netloc}"


def guarded_page(browser, base: str, *, height: int = 1100, also: tuple[str, ...] = ()):
    """A new page in its own context, every request routed through a Guard. Returns (page, guard)."""
    context = browser.new_context(viewport={"width": WIDTH, "height": height})
    guard = Guard(_origin(base), also=tuple(_origin(o) for o in also))
    context.route("**/*", guard.handle)
    page = context.new_page()
    return page, guard
