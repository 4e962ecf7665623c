"""COMET and CometKiwi: metric.py (the metrics and their scorer), cache.py (segment scores),
env.py (the managed environment) and worker.py (run by that environment's python, never imported).

Imported only when a run, comparison or gate asks for a COMET-family metric (the metric registry
names these modules by path), or by `mtharness env`.
"""
