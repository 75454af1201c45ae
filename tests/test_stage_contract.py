"""Every stage offers the same contract: read_inputs, a pure compute(inputs, settings),
write; settings are frozen dataclasses without defaults (defaults live in params.yaml),
each setting a notebook passes maps to a params.yaml key that exists."""
from __future__ import annotations

import dataclasses
import inspect

import pytest

from pcnstudy.core.params import load_params, lookup
from pcnstudy.ingest import stage as ingest_stage
from pcnstudy.paper import manuscript as paper_stage
from pcnstudy.scores import stage as scores_stage
from pcnstudy.themes import stage as themes_stage
from pcnstudy.twin import stage as twin_stage

STAGES = {
    "ingest": (ingest_stage, ingest_stage.IngestSettings),
    "scores": (scores_stage, scores_stage.ScoresSettings),
    "themes": (themes_stage, themes_stage.ThemesSettings),
    "paper": (paper_stage, paper_stage.PaperSettings),
    "twin": (twin_stage, twin_stage.TwinSettings),
}


@pytest.mark.parametrize("name", sorted(STAGES))
def test_stage_has_read_compute_write(name):
    module, _ = STAGES[name]
    for function in ("read_inputs", "compute", "write"):
        assert callable(getattr(module, function, None)), f"{name} lacks {function}"
    assert list(inspect.signature(module.compute).parameters)[:2] == ["inputs", "settings"]


@pytest.mark.parametrize("name", sorted(STAGES))
def test_settings_are_frozen_and_have_no_defaults(name):
    _, settings = STAGES[name]
    assert dataclasses.is_dataclass(settings) and settings.__dataclass_params__.frozen
    with_default = [f.name for f in dataclasses.fields(settings)
                    if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING]
    assert not with_default, f"{settings.__name__} defaults {with_default}: defaults live in params.yaml"


@pytest.mark.parametrize("module", [ingest_stage, scores_stage, themes_stage, twin_stage])
def test_every_notebook_setting_has_its_params_yaml_key(module):
    keys = module.SETTING_KEYS
    params = load_params()
    for name, dotted in keys.items():
        lookup(params, dotted)  # KeyError names the missing key
