"""Header sign-in for browser tests: the app started as behind an authenticating proxy on this machine (loopback is
the trusted proxy address), and a page whose every request carries the proxy's header for one person."""

from __future__ import annotations

from browser_guard import guarded_page

READY = "[data-testid='stApp'][data-test-script-state='notRunning']"
HEADER_MODE = {"DAILIES_AUTH": "header", "FORWARDED_ALLOW_IPS": "", "DAILIES_ADMINS": "boss@example.com"}


def open_as(browser, base: str, path: str = "", email: str | None = None):
    """A guarded page at `base + path`, signed in as `email` (None: no header, not signed in). Returns
    (page, guard) once the script has run and the page is idle."""
    page, guard = guarded_page(browser, base)
    if email:
        page.context.set_extra_http_headers({"X-Forwarded-Email": email})
    page.goto(base + path)
    page.wait_for_selector(READY, timeout=60_000)
    page.wait_for_load_state("networkidle")
    return page, guard
