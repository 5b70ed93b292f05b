"""EventLogTail (reading a growing events.jsonl) and RunProgress (where a run stands, one event at a time)."""

from __future__ import annotations

import json

from classmill.train.events import EventLog, EventLogTail
from classmill.train.run_progress import RunProgress


def test_the_tail_reads_each_complete_line_once_and_waits_for_a_partial_one(tmp_path):
    path = tmp_path / "events.jsonl"
    tail = EventLogTail(path)
    assert tail.read() == []  # not written yet
    path.write_bytes(b'{"a": 1}\n{"b"')
    assert tail.read() == [(1, '{"a": 1}')] and tail.read() == []
    with open(path, "ab") as fh:
        fh.write(b': 2}\n\n{"c": "\xc3\xa9"}\n')
    assert tail.read() == [(2, '{"b": 2}'), (3, ""), (4, '{"c": "é"}')]
    assert tail.offset == path.stat().st_size and tail.lines == 4


def test_an_over_long_line_is_counted_but_dropped_and_a_backlog_comes_in_chunks(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"x" * 50 + b"\nshort\n" + b"y" * 25)
    tail = EventLogTail(path, max_line_bytes=20)
    assert tail.read() == [] and tail.more  # 20 bytes of the long line: no newline in a whole read
    assert tail.read() == [] and tail.offset == 40  # still inside it
    assert tail.read() == [(1, None), (2, "short")]
    assert tail.read() == [] and tail.more
    with open(path, "ab") as fh:
        fh.write(b"\nok\n")
    assert tail.read() == [(3, None), (4, "ok")] and not tail.more


def test_run_progress_folds_a_runs_events_into_its_figures(tmp_path):
    log = EventLog(tmp_path / "events.jsonl")
    events = [log.write(e) for e in (
        {"type": "progress", "phase": "cache", "done": 0, "total": 10},
        {"type": "start", "epoch": 0, "step": 0, "epochs": 2, "steps_per_epoch": 4, "select_metric": "top1"},
        {"type": "head_warmup", "val": {"top1": 0.5, "loss": 1.0}},
        {"type": "step", "epoch": 0, "step": 2, "steps_per_epoch": 4, "loss": 0.9, "images_per_s": 80.0, "eta_s": 6.0},
        {"type": "epoch", "epoch": 1, "epochs": 2, "train_loss": 0.8, "val": {"top1": 0.7, "loss": 0.6}, "best": True,
         "best_metric": 0.7, "eta_s": 4.0},
        {"type": "epoch", "epoch": 2, "epochs": 2, "train_loss": 0.7, "val": {"top1": 0.6, "loss": 0.7}, "best": False,
         "best_metric": 0.7, "eta_s": 0.0},
        {"type": "status", "status": "finished", "epoch": 2, "step": 0})]
    progress = RunProgress()
    seen = []
    for event in events:
        assert progress.add(json.loads(json.dumps(event)))
        seen.append(progress.to_dict())
    assert seen[0]["phase"] == "cache" and seen[1]["phase"] == "train"
    assert (seen[2]["best_epoch"], seen[2]["best_metric"]) == (0, 0.5)  # the warmed-up head is the first best
    assert (seen[3]["images_per_s"], seen[3]["eta_s"], seen[3]["train_loss"], seen[3]["step"]) == (80.0, 6.0, 0.9, 2)
    assert seen[-1] == {**seen[-1], "phase": "finished", "epoch": 2, "eta_s": None, "best_epoch": 1, "best_metric": 0.7,
                        "best_val": {"top1": 0.7, "loss": 0.6}, "last_val": {"top1": 0.6, "loss": 0.7}}
    assert not progress.add({"type": "epoch"}) and not progress.add({"type": "checkpoint"})  # malformed, unknown
