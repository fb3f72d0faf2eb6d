"""Wire formats of CometAPI's video routes: catalog, recipe -> request, response -> status, errors.

No Streamlit, no threads, no disk: everything here is a pure function or a thin HTTP call.
"""
