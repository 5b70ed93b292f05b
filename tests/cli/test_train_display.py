"""What `classmill train` prints as a run goes: the decisions a run makes are said, with their reasons."""

from classmill.commands.train import _RichReporter


def test_the_display_says_how_the_probe_scored_and_where_the_fine_tune_starts(capsys):
    reporter = _RichReporter()
    with reporter:
        reporter({"type": "start", "resumed": False, "epoch": 0, "step": 0, "epochs": 5, "steps_per_epoch": 36,
                  "train_images": 1131, "val_images": 411, "classes": list("0123456789"), "device": "cpu",
                  "data_choices": [{"option": "image_size", "value": 160, "reason": "median side 100 px"}]})
        reporter({"type": "head_warmup", "val": {"top1": 0.8832, "f1": 0.8801}, "seconds": 21.4, "elapsed_s": 30.0,
                  "head_start": "fresh", "reason": "the features must move"})
    out = capsys.readouterr().out
    assert "image_size = 160: median side 100 px" in out
    assert "probed head: val top1 0.8832 f1 0.8801 (21.4 s)" in out
    assert "head_start = fresh: the features must move" in out
