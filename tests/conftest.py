"""Shared fixtures: the sandbox (a real CometAPI simulator on loopback) comes from sandbox/pytest_plugin.py."""

pytest_plugins = ["sandbox.pytest_plugin"]
