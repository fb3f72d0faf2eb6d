"""Rankings' rating-against-price chart, drawn for the app's dark theme: light labels, visible error bars, a
legend of two clearly different colours, and room at the edges so no model name is cut off."""

from __future__ import annotations

import altair as alt
import pandas as pd

TEXT = "#e8e6e3"  # .streamlit/config.toml textColor
MUTED = "#a4a29e"
GRID = "#2a2d35"
ON_FRONTIER, DOMINATED = "On the frontier", "Beaten on price and rating"
COLOURS = alt.Scale(domain=[ON_FRONTIER, DOMINATED], range=["#f5b83d", "#7f8ea3"])


def price_chart(frame: pd.DataFrame) -> alt.LayerChart:
    """`frame` has model, rating, low, high (95 % interval), usd_per_s, frontier, votes."""
    data = frame.assign(where=frame["frontier"].map({True: ON_FRONTIER, False: DOMINATED}))
    span = max(float(data["usd_per_s"].max() - data["usd_per_s"].min()), 0.01)
    # Padding on both sides of the price axis: a label is drawn to the right of its point and must fit.
    x_scale = alt.Scale(domain=[max(0.0, float(data["usd_per_s"].min()) - span * 0.15),
                                float(data["usd_per_s"].max()) + span * 0.45], nice=False)
    low, high = float(data["low"].min()), float(data["high"].max())
    y_scale = alt.Scale(domain=[low - (high - low) * 0.08 - 5, high + (high - low) * 0.08 + 5], nice=False)
    # One colour encoding for bars and points, so Vega draws one legend for both.
    colour = alt.Color("where:N", title=None, scale=COLOURS,
                       legend=alt.Legend(orient="top", labelFontSize=13, symbolSize=120, symbolType="circle"))
    base = alt.Chart(data).encode(x=alt.X("usd_per_s:Q", title="$ per second of video", scale=x_scale,
                                          axis=alt.Axis(format="$.2f")))
    bars = base.mark_rule(strokeWidth=2, opacity=0.8).encode(
        y=alt.Y("low:Q", title="Rating (95 % interval)", scale=y_scale), y2="high:Q",
        color=colour)
    points = base.mark_point(filled=True, size=110, opacity=1).encode(
        y="rating:Q", color=colour,
        tooltip=[alt.Tooltip("model", title="Model"), alt.Tooltip("rating:Q", format=".0f", title="Rating"),
                 alt.Tooltip("low:Q", format=".0f", title="Interval from"),
                 alt.Tooltip("high:Q", format=".0f", title="to"), alt.Tooltip("votes", title="Votes"),
                 alt.Tooltip("usd_per_s:Q", format="$.3f", title="$ per second")])
    labels = base.mark_text(align="left", dx=9, dy=-2, fontSize=13, color=TEXT).encode(y="rating:Q", text="model")
    return ((bars + points + labels).properties(height=380, padding={"left": 8, "right": 24, "top": 8, "bottom": 8})
            .configure_axis(labelColor=MUTED, titleColor=TEXT, gridColor=GRID, domainColor=MUTED, tickColor=MUTED,
                            labelFontSize=12, titleFontSize=13)
            .configure_legend(labelColor=TEXT, titleColor=TEXT)
            .configure_view(strokeWidth=0))
