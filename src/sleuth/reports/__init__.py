"""Renderings of a run's records for people and machines."""
