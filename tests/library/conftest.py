"""AppTest fixtures for the team pages: the app's environment in its own data and clips namespace."""

from tests.review.review_helpers import app_env  # noqa: F401 - a fixture, used by name
