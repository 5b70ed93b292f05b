"""evaluate(...) on a bundle: the ONNX runtime side (classmill.infer), checks before the model runs, progress."""

import numpy as np
import pytest

from classmill.errors import DatasetError, UserError
from classmill.evaluate.run import evaluate
from support.colour_bundle import COLOURS, build_colour_bundle, two_tone


@pytest.fixture(scope="module")
def colour_bundle(tmp_path_factory):
    return build_colour_bundle(tmp_path_factory.mktemp("bundle") / "colour.cmb")


def _colour_folders(root, labels, per_class=3):
    for label in labels:
        (root / label).mkdir(parents=True)
        for i in range(per_class):
            two_tone(COLOURS[label], (i * 40, i * 40, i * 40)).save(root / label / f"{i}.png")
    return root


def test_bundle_evaluation_is_right_and_reports_progress(colour_bundle, tmp_path):
    data = _colour_folders(tmp_path / "d", ("red", "green", "blue"))
    events = []
    result = evaluate(colour_bundle, data, split="all", out=tmp_path / "r", progress=events.append)
    assert result.images == 9 and result.report.overall.accuracy == 1.0
    progress = [e for e in events if e["phase"] == "evaluate"]
    assert progress[0]["done"] == 0 and progress[-1]["done"] == progress[-1]["total"] == 9


def test_unknown_labels_are_refused_before_the_model_runs(colour_bundle, tmp_path, monkeypatch):
    data = _colour_folders(tmp_path / "d", ("red",))
    (data / "purple").mkdir()
    two_tone((128, 0, 128), (0, 0, 0)).save(data / "purple" / "p.png")

    def must_not_run(*args, **kwargs):
        raise AssertionError("the model ran before the labels were checked")

    monkeypatch.setattr("classmill.infer.predictor.Predictor.predict_proba", must_not_run)
    with pytest.raises(UserError, match="not trained on: purple"):
        evaluate(colour_bundle, data, split="all", out=tmp_path / "r")


def test_predict_proba_files_keeps_order_and_names_an_undecodable_file(colour_bundle, tmp_path):
    from classmill.infer import Predictor
    from classmill.infer.batch import predict_proba_files

    predictor = Predictor.load(colour_bundle)
    paths = []
    for i, label in enumerate(["blue", "red", "green", "red", "dark"]):
        paths.append(tmp_path / f"{i}.png")
        two_tone(COLOURS[label], (0, 0, 0)).save(paths[-1])
    done = []
    probs = predict_proba_files(predictor, paths, batch_size=2, advance=done.append)
    assert [predictor.labels[i] for i in probs.argmax(1)] == ["blue", "red", "green", "red", "dark"]
    assert done == [2, 2, 1] and np.allclose(probs.sum(1), 1)
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(DatasetError, match="broken.png"):
        predict_proba_files(predictor, paths + [tmp_path / "broken.png"], batch_size=2)


def test_a_folder_that_is_neither_run_nor_bundle_is_a_user_error(tmp_path):
    from typer.testing import CliRunner

    from classmill.cli import app

    (tmp_path / "notes.txt").write_text("hello")
    for target in (tmp_path, tmp_path / "notes.txt"):
        result = CliRunner().invoke(app, ["evaluate", str(target)])
        assert isinstance(result.exception, UserError), result.exception
        assert "neither a run folder" in str(result.exception) and "classmill train" in str(result.exception)
