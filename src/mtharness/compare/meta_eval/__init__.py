"""Meta-evaluation: how well each metric agrees with human judgments, and whether the differences are real.

The statistics follow google-research/mt-metrics-eval (MTME) definition for definition, so the
numbers here can be put next to the WMT metrics-task tables: ``stats`` (correlations, Kendall
variants, pairwise accuracy, soft pairwise accuracy), ``ties`` (acc_eq with tie calibration),
``significance`` (PERM-BOTH, Williams), ``clusters`` (significance ranks), ``run`` (the candidates of
a comparison against a human file).
"""
