"""Dailies: the entry point builds the navigation and the shared frame; pages do the rest."""

import streamlit as st

st.set_page_config(page_title="Dailies", page_icon=":material/movie:", layout="wide")
st.title("Dailies")
st.caption("A screening room for AI video models. The playground arrives with the next change.")
