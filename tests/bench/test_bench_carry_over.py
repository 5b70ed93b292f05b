"""A benchmark run of one group into a results folder keeps the other groups already there.

`python -m bench server` into bench/results must not wipe the committed training, inference and
validation figures; the kept sections say which run measured them.
"""

import json

from bench.__main__ import carry_over


def _earlier(out, tiny: bool) -> None:
    out.mkdir()
    (out / "results.json").write_text(json.dumps({
        "command": "python -m bench all", "finished": "2026-11-23 14:04:38", "plan": {"tiny": tiny},
        "machine": {"git_revision": "abc1234"}, "train": {"t": 1}, "infer": {"i": 2}, "server": {"old": 3}}))


def test_a_server_run_keeps_the_other_groups_and_names_their_run(tmp_path):
    out = tmp_path / "results"
    _earlier(out, tiny=False)
    results = {"command": "python -m bench server", "plan": {"tiny": False}}
    assert carry_over(results, out, ("server",)) == ["train", "infer"]
    assert results["train"] == {"t": 1} and results["infer"] == {"i": 2} and "server" not in results
    assert results["carried_over"]["train"] == {"command": "python -m bench all", "finished": "2026-11-23 14:04:38",
                                                "git_revision": "abc1234"}


def test_a_kept_section_keeps_its_first_provenance_across_runs(tmp_path):
    out = tmp_path / "results"
    _earlier(out, tiny=False)
    first = {"command": "python -m bench server", "finished": "later", "plan": {"tiny": False}, "machine": {}}
    carry_over(first, out, ("server",))
    (out / "results.json").write_text(json.dumps(first))
    second = {"command": "python -m bench validate", "plan": {"tiny": False}}
    assert carry_over(second, out, ("validate",)) == ["train", "infer"]
    assert second["carried_over"]["train"]["command"] == "python -m bench all"


def test_a_tiny_run_never_mixes_with_full_figures(tmp_path):
    out = tmp_path / "results"
    _earlier(out, tiny=False)
    results = {"command": "python -m bench server --tiny", "plan": {"tiny": True}}
    assert carry_over(results, out, ("server",)) == []
    assert set(results) == {"command", "plan"}
