"""Synthetic cohorts made by the project. sijreg never ships or needs real patient data."""
