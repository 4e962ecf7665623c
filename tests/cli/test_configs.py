"""Every option of every config group composes; misspellings fail at compose time."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra.errors import ConfigCompositionException, MissingConfigException
from omegaconf import OmegaConf

from mtharness.cli.run import build_translator, config_dir
from mtharness.translators.base import Translator
from tests.conftest import compose

GROUPS = ["dataset", "translator", "metrics", "experiment"]


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (config_dir() / group).glob("*.yaml"))


# generic templates leave what only the user can know as ??? (a command line, a served model's name)
REQUIRED = {
    ("translator", "command"): ["translator.argv=[cat]"],
    ("translator", "openai"): ["translator.model=my-model"],
}


@pytest.mark.parametrize("group,option", [(g, o) for g in GROUPS for o in options(g)])
def test_every_option_composes(group: str, option: str) -> None:
    override = f"{group}=[{option}]" if group == "metrics" else f"{group}={option}"
    cfg = compose([override, *REQUIRED.get((group, option), [])])
    assert cfg.dataset.name and cfg.translator.name
    if group == "translator":
        # instantiating must not load weights or start processes
        assert isinstance(build_translator(cfg), Translator)


def test_default_config_is_the_offline_demo() -> None:
    cfg = compose()
    assert cfg.dataset._target_.endswith("load_sample") and cfg.translator.name == "apertium"
    assert cfg.round_trip is True and cfg.limit is None
    assert sorted(cfg.metrics) == ["bleu", "chrf", "chrfpp", "ter"]


def test_metrics_multi_select() -> None:
    cfg = compose(["metrics=[bleu,ter]"])
    assert sorted(cfg.metrics) == ["bleu", "ter"]
    assert OmegaConf.to_container(cfg.metrics.ter)["metric"] == "ter"  # type: ignore[index]


def test_unknown_option_lists_choices() -> None:
    with pytest.raises(MissingConfigException) as err:
        compose(["translator=apertum"])
    assert "apertium" in str(err.value) and "echo" in str(err.value)


def test_misspelt_key_fails() -> None:
    with pytest.raises(ConfigCompositionException, match="limt"):
        compose(["limt=5"])


def test_groups_exist_in_repo_configs() -> None:
    assert config_dir() == Path(__file__).resolve().parents[2] / "configs" or config_dir().name == "configs"
    for group in GROUPS:
        assert options(group), group
