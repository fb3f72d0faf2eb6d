"""Shared fixtures: the sandbox (a real CometAPI simulator on loopback) comes from sandbox/pytest_plugin.py."""

import os

pytest_plugins = ["sandbox.pytest_plugin"]

# The app reads CometAPI's public listing at start: off in tests (some point the app at the real API's URL, and
# nothing may call it); the catalog-check tests switch it back on against the sandbox's listing.
os.environ.setdefault("DAILIES_CATALOG_CHECK", "off")
