"""The exported FP32 bundle answers what the PyTorch model answered during training's validation,
calibrated with the same temperature on both sides."""

import numpy as np


def test_bundle_fp32_matches_pytorch_validation_on_the_runs_images(tiny_run, tmp_path):
    import torch

    from classmill.export import export_run
    from classmill.infer import Predictor
    from classmill.infer.calibration import softmax
    from classmill.train import RunDirectory, load_trained_model
    from classmill.train.pipeline import decode_for_eval, normalize_batch
    from classmill.train.prepare import load_prepared

    info = export_run(tiny_run, tmp_path / "fp32.cmb")
    trained = load_trained_model(tiny_run)
    dataset = load_prepared(RunDirectory(tiny_run))
    # The val split is the contract; train images are added only to compare on more pictures.
    records = dataset.in_split("val") + dataset.in_split("train")
    assert len(dataset.in_split("val")) >= 10

    # Exactly how the trainer's validation feeds the model: decode_for_eval + normalize_batch.
    with torch.no_grad():
        batch = normalize_batch(torch.stack([decode_for_eval(r, trained.spec) for r in records]), trained.spec)
        torch_probs = softmax(trained.model(batch).float().numpy(), trained.temperature)
    predictor = Predictor.load(info.path)
    assert predictor.labels == trained.classes and predictor.spec == trained.spec
    assert trained.temperature != 1.0 and predictor.temperature == trained.temperature
    onnx_probs = np.stack([p.probs for p in predictor.predict([r.path for r in records])])

    torch_top1 = torch_probs.argmax(1)
    agreement = float((onnx_probs.argmax(1) == torch_top1).mean())
    rows = np.arange(len(records))
    top1_prob_diff = float(np.abs(onnx_probs[rows, torch_top1] - torch_probs[rows, torch_top1]).max())
    print(f"parity on {len(records)} images: agreement {agreement:.4f}, max top-1 prob diff {top1_prob_diff:.2e}, "
          f"max prob diff {np.abs(onnx_probs - torch_probs).max():.2e}")
    assert agreement >= 0.999
    assert top1_prob_diff < 1e-3
    assert float(np.abs(onnx_probs - torch_probs).max()) < 1e-3


def test_export_run_records_the_runs_provenance(tiny_run, tiny_bundle):
    from classmill.infer import read_bundle
    from classmill.train import load_trained_model

    trained = load_trained_model(tiny_run)
    metadata = read_bundle(tiny_bundle).metadata
    assert metadata["run_id"] == trained.run_id and metadata["dataset_hash"] == trained.dataset_hash
    assert metadata["model_name"] == trained.model_name and metadata["epoch"] == trained.epoch
    assert metadata["val_metrics"] == trained.metrics and "top1" in metadata["val_metrics"]
    assert metadata["checkpoint"] == "best" and metadata["classmill_version"]


def test_stratified_sample_takes_classes_in_turn():
    from pathlib import Path

    from classmill.data.records import ImageRecord
    from classmill.export.from_run import stratified_sample

    records = [ImageRecord(Path(f"a{i}.jpg"), f"a{i}", "a") for i in range(10)]
    records += [ImageRecord(Path("b0.jpg"), "b0", "b"), ImageRecord(Path("c0.jpg"), "c0", "c")]
    chosen = stratified_sample(records, 5)
    assert [r.ref for r in chosen] == ["a0", "b0", "c0", "a1", "a2"]
    assert len(stratified_sample(records, 100)) == 12


def test_the_bundle_carries_the_runs_calibration_and_both_runtimes_apply_it(tiny_run, tmp_path):
    """Acceptance (#14): calibration stored in and applied from the bundle; ONNX and PyTorch agree after it."""
    import json

    from classmill.export import export_run
    from classmill.infer import Predictor, read_bundle
    from classmill.infer.batch import predict_proba_files
    from classmill.infer.calibration import softmax
    from classmill.train import RunDirectory, load_trained_model
    from classmill.train.predict import predict_logits, predict_proba
    from classmill.train.prepare import load_prepared

    fitted = json.loads((tiny_run / "calibration.json").read_text())
    trained = load_trained_model(tiny_run)
    assert trained.calibration == fitted and trained.temperature == fitted["temperature"] != 1.0
    bundle = export_run(tiny_run, tmp_path / "fp32.cmb").path
    assert read_bundle(bundle).calibration == fitted
    records = load_prepared(RunDirectory(tiny_run)).in_split("val")
    torch_probs = predict_proba(trained, records)  # what `classmill evaluate RUN` reports
    onnx_probs = predict_proba_files(Predictor.load(bundle), [r.path for r in records])  # `evaluate BUNDLE`, serve
    np.testing.assert_allclose(torch_probs, softmax(predict_logits(trained, records), fitted["temperature"]))
    assert not np.allclose(torch_probs, softmax(predict_logits(trained, records)), atol=1e-3)  # T changed them
    print(f"calibrated parity on {len(records)} val images, T = {fitted['temperature']:.4f}: "
          f"max prob diff {np.abs(onnx_probs - torch_probs).max():.2e}")
    assert float(np.abs(onnx_probs - torch_probs).max()) <= 1e-5


def test_a_calibration_fitted_for_another_checkpoint_is_not_applied(tiny_run, tmp_path):
    import json
    import shutil

    from classmill.export import export_run
    from classmill.infer import read_bundle
    from classmill.train import load_trained_model

    run = shutil.copytree(tiny_run, tmp_path / "run")
    assert read_bundle(export_run(run, tmp_path / "last.cmb", which="last").path).calibration == {}
    document = json.loads((run / "calibration.json").read_text())
    (run / "calibration.json").write_text(json.dumps({**document, "checkpoint_sha256": "0" * 64}))
    assert load_trained_model(run).temperature == 1.0  # e.g. an extend's new best.pt before it finished
    assert read_bundle(export_run(run, tmp_path / "stale.cmb").path).calibration == {}
