"""Where the fine-tune starts after the probe: the decision, its learning rates, and what a run keeps."""

import dataclasses
import json

import pytest
import torch

from classmill.models import create_model
from classmill.train import resolve_config, train
from classmill.train.checkpoint import load_checkpoint
from classmill.train.head_start import FRESH, PROBE, choose_head_start, group_lr_scales


def test_auto_refines_suited_features_from_the_probe_and_moves_the_others_from_a_fresh_head():
    config = resolve_config("balanced")
    assert config.head_start == "auto"
    start, reason = choose_head_start(config, {"top1": 0.967})
    assert start == PROBE and "96.7%" in reason
    start, reason = choose_head_start(config, {"top1": 0.883})
    assert start == FRESH and "88.3%" in reason and "candidate" in reason
    forced, reason = choose_head_start(resolve_config("balanced", head_start="probe"), {"top1": 0.2})
    assert forced == PROBE and reason == "--head-start probe"


def test_learning_rate_groups_follow_the_start():
    config = resolve_config("balanced")  # lr 1e-3, backbone x 0.2, refine_lr 1e-4
    assert group_lr_scales(config, FRESH) == (1.0, 0.2)
    assert group_lr_scales(config, PROBE) == pytest.approx((0.1, 0.1))  # every layer at refine_lr
    unset = dataclasses.replace(config, refine_lr=None)
    assert group_lr_scales(unset, PROBE) == (1.0, 0.2)  # unset: the head's lr and the backbone's scale


@pytest.mark.parametrize("start", [FRESH, PROBE])
def test_a_run_keeps_the_probed_head_as_a_candidate_and_fine_tunes_from_the_chosen_one(tiny_config, tmp_path, start):
    from classmill.train.engine import Engine
    from classmill.train.prepare import load_prepared, prepare_data
    from classmill.train.run_dir import RunDirectory

    config = tiny_config(epochs=1, head_start=start, head_warmup_steps=100)
    run = RunDirectory(tmp_path / "run")
    prepare_data(config, run)
    config.save(run.config)
    engine = Engine(config, run, load_prepared(run))
    seen = {}

    def at_fine_tune_start(engine, event):  # after the probe is recorded, before the first step
        seen["event"] = event
        seen["start"] = engine.model.get_classifier().weight.detach().clone()
        seen["best"] = load_checkpoint(run.best)
        seen["scales"] = [group["lr_scale"] for group in engine.optimizer.param_groups]

    engine.add_hook("on_head_warmup_end", at_fine_tune_start)
    torch.manual_seed(config.seed)  # as the engine does before building its model
    initial = create_model("efficientnet_lite0", num_classes=3).get_classifier().weight
    assert engine.fit().status == "finished"

    probed = seen["best"]["model"]["classifier.weight"]
    assert seen["best"]["epoch"] == 0 and not torch.equal(probed, initial)  # the candidate is the probed head
    assert seen["event"]["head_start"] == start and seen["event"]["reason"] == f"--head-start {start}"
    assert torch.equal(seen["start"], initial if start == FRESH else probed)
    assert seen["scales"] == pytest.approx(group_lr_scales(config, start))
    history = json.loads(run.metrics.read_text())["history"]
    assert history[0]["phase"] == "head_warmup" and history[0]["head_start"] == start
