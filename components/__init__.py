"""Streamlit-only building blocks: the shared runtime, key lookup and reusable widgets."""
