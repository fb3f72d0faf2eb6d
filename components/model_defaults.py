"""The models switched on in a new recipe (shared by the cards and the form, which must agree before either draws)."""

DEFAULT_MODELS = ("veo3.1-fast", "kling-v1-6")
