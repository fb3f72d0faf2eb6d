"""Costs: arrives with the playground's part 2."""

import streamlit as st

st.title("Costs")
st.info("This page arrives with the playground's part 2.", icon=":material/construction:")
