"""compare and meta-eval route --<kind>-model into that metric's spec, xCOMET's kinds included."""

from __future__ import annotations

import argparse

from mtharness.cli.args import add_model_options, with_model
from mtharness.scoring.metrics import MetricSpec


def test_every_comet_family_kind_takes_its_model_option() -> None:
    p = argparse.ArgumentParser()
    add_model_options(p)
    args = p.parse_args(
        ["--comet-model", "/c", "--cometkiwi-model", "/k", "--xcomet-model", "/x", "--xcomet-qe-model", "/q"]
    )
    for kind, model in [("comet", "/c"), ("cometkiwi", "/k"), ("xcomet", "/x"), ("xcomet_qe", "/q")]:
        spec = with_model(MetricSpec(kind, {"batch_size": 2}), args)
        assert spec.args == {"batch_size": 2, "model": model}
    # a kind without its option keeps its own spec (the hub default)
    bare = p.parse_args([])
    assert with_model(MetricSpec("xcomet", {}), bare) == MetricSpec("xcomet", {})
