"""Renderers: the study tables as terminal output, Markdown, JSON and a self-contained HTML page."""
