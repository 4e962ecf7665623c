"""Metric/human correlation: human score files (system and segment level), correlations, the evaluation."""
