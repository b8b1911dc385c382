"""Cohorts and statistics: from the stored registry to exact numbers, ready to render."""
