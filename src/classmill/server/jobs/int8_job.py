"""The "export_int8" job kind: a model version's INT8 bundle, with its accuracy next to FP32's.

params: {"model_version_id": N, "run": "<the task's run folder name>"}. The library's
`export_run(int8=True)` calibrates on the run's training images and measures FP32 and INT8 top-1
accuracy on the run's validation split; the bundle (FP32 and INT8 ONNX) goes to a temporary name
in the version's folder, and services/model_int8.commit_int8 renames it to model-int8.cmb and
records the result under the attempt's guard. The checkpoint is checked once loaded: the
request's check that it is still the version's model is only a snapshot.
"""

from __future__ import annotations

from datetime import datetime, timezone

from classmill.errors import UserError

INT8_KIND = "export_int8"


def run_int8_export(ctx) -> tuple[str, dict]:
    """Export, check and commit one version's INT8 bundle; returns (job state, result)."""
    from classmill.export import export_run
    from classmill.server.jobs.model_build import INT8_BUNDLE_NAME
    from classmill.server.jobs.train_job import run_folder
    from classmill.server.services import model_int8

    version_id = int(ctx.params["model_version_id"])
    with ctx.sessions() as session:
        target = model_int8.int8_target(session, version_id, ctx.workspace)
        if target is None:
            raise UserError(f"model version {version_id} was deleted; there is nothing to export.")
        if not model_int8.record_int8(session, ctx.job_id, ctx.attempt, version_id,
                                      {"job_id": ctx.job_id, "state": "running"}):
            ctx.stale = True
            return "failed", {}
    written = target.folder / f".{INT8_BUNDLE_NAME}.{ctx.attempt[:12]}.tmp"
    try:
        ctx.report("export", 0, 1, force=True)
        info = export_run(run_folder(ctx.workspace, ctx.params), written, int8=True, progress=ctx.event)
        epoch = info.metadata.get("epoch")
        if target.best_epoch is not None and epoch != target.best_epoch:
            raise UserError(f"the run's best checkpoint is epoch {epoch}'s, not the version's (epoch "
                            f"{target.best_epoch}): the task was extended meanwhile. Request INT8 of its latest "
                            "model version instead.")
        asked = ctx.requested()
        if asked is not None:  # an export cannot stop midway; a stop (or pause) asked meanwhile publishes nothing
            state = "paused" if asked == "pause" else "stopped"
            with ctx.sessions() as session:
                model_int8.record_int8(session, ctx.job_id, ctx.attempt, version_id,
                                       {"job_id": ctx.job_id, "state": state})
            return state, {"model_version_id": version_id}
        record = int8_record(ctx.job_id, info)
        with ctx.sessions() as session:
            if not model_int8.commit_int8(session, ctx.job_id, ctx.attempt, version_id, written, record,
                                          ctx.workspace):
                ctx.stale = True
                return "failed", {}
        return "succeeded", {"model_version_id": version_id, **record}
    except Exception as exc:
        reason = str(exc) if isinstance(exc, UserError) else f"the INT8 export failed: {type(exc).__name__}: {exc}"
        with ctx.sessions() as session:
            model_int8.record_int8(session, ctx.job_id, ctx.attempt, version_id,
                                   {"job_id": ctx.job_id, "state": "failed", "error": reason})
        raise
    finally:
        written.unlink(missing_ok=True)


def int8_record(job_id: int, info) -> dict:
    """What the version's `int8` column keeps of an export (a classmill.export BundleInfo)."""
    from classmill.server.jobs.model_build import INT8_BUNDLE_NAME

    formats = info.metadata["formats"]
    int8 = formats["onnx-int8"]
    measured = int8.get("eval") or {}  # absent when the run has no validation images
    return {"job_id": job_id, "state": "succeeded", "file": INT8_BUNDLE_NAME, "size_bytes": info.size_bytes,
            "fp32_accuracy": measured.get("fp32_accuracy"), "int8_accuracy": measured.get("int8_accuracy"),
            "top1_agreement": measured.get("top1_agreement"), "eval_split": "val",
            "eval_images": measured.get("images", 0), "calibration_images": int8.get("calibration_images"),
            "fp32_model_bytes": formats["onnx"]["bytes"], "int8_model_bytes": int8["bytes"],
            "checkpoint_epoch": info.metadata.get("epoch"), "seconds": round(info.seconds, 2),
            "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
