"""bench.calibration_split's analysis on runs whose calibration is known: calibrated candidates made
over-confident by the same factor on val and test, so a temperature fitted on val undoes it."""

import numpy as np
import pytest

from bench.calibration_split import analyse


def _run(rng, images: int) -> tuple[np.ndarray, np.ndarray]:
    """Three candidates' logits on `images` images and the labels: each label drawn from softmax of the
    candidates' shared logits, so they are calibrated as they are; then all sharpened x3."""
    shared = rng.normal(scale=1.5, size=(images, 3))
    p = np.exp(shared) / np.exp(shared).sum(1, keepdims=True)
    labels = (rng.random((images, 1)) > p.cumsum(1)).sum(1)
    candidates = np.stack([shared + rng.normal(scale=0.3, size=shared.shape) for _ in range(3)])
    return 3.0 * candidates, labels


def _write_runs(folder):
    rng = np.random.default_rng(0)
    folder.mkdir()
    for seed in range(2):
        (val, val_y), (test, test_y) = _run(rng, 300), _run(rng, 400)
        val_top1 = (val.argmax(2) == val_y).mean(1)
        best = max(i for i, score in enumerate(val_top1) if score == val_top1.max())  # the later of tied ones
        np.savez(folder / f"seed{seed}.npz", epochs=np.arange(3), val=val, test=test, val_y=val_y, test_y=test_y,
                 best=best)


def _table(out: str) -> dict[str, list[str]]:
    rows = [line.strip("|").split("|") for line in out.splitlines() if line.startswith("| ") and "---" not in line]
    return {cells[0].strip(): [c.strip() for c in cells[1:]] for cells in rows[1:]}


def test_the_temperature_fitted_on_val_undoes_an_over_confidence_that_val_and_test_share(tmp_path, capsys):
    _write_runs(tmp_path / "runs")
    analyse(tmp_path / "runs")
    out = capsys.readouterr().out
    table = _table(out)
    assert len(table) == 6 and "2 repeats pooled, 800 test images" in out
    ece = {name: float(cells[2].split()[0]) for name, cells in table.items()}
    classmill, untouched = ece["pick and T on all of val (classmill)"], ece["pick on all of val, no T"]
    best_possible = ece["pick on all of val, T fitted on test itself (the best a temperature can do)"]
    assert untouched > 0.1 and classmill < untouched / 3 and best_possible <= classmill + 0.01
    # The half-based ways vary with the halves and say over which range; the others do not.
    assert "(" in table["pick on half A, T on half B"][2] and "(" not in table["pick on all of val, no T"][2]
    assert "classmill's T with each val split resampled (200 draws): pooled test ECE" in out


def test_runs_whose_pick_is_not_the_engines_are_refused(tmp_path):
    _write_runs(tmp_path / "runs")
    run = dict(np.load(tmp_path / "runs" / "seed1.npz"))
    run["best"] = (int(run["best"]) + 1) % 3
    np.savez(tmp_path / "runs" / "seed1.npz", **run)
    with pytest.raises(AssertionError, match="seed 1: the pick is not the engine's"):
        analyse(tmp_path / "runs")


def test_a_folder_without_runs_says_how_to_make_them(tmp_path):
    with pytest.raises(SystemExit, match="no seed<N>.npz here; make them first with .*collect SEED FOLDER"):
        analyse(tmp_path)
