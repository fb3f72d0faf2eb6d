"""History: arrives with the playground's part 2."""

import streamlit as st

st.title("History")
st.info("This page arrives with the playground's part 2.", icon=":material/construction:")
