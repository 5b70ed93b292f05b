"""Child: export a classmill run to a bundle with FP32 and INT8 models, as `classmill export --int8` does."""

from __future__ import annotations

import time

from bench.child import child_main


def measure(spec: dict) -> dict:
    from classmill.export import export_run

    started = time.perf_counter()
    info = export_run(spec["run_dir"], spec["bundle"], int8=True, calibration_images=spec["calibration_images"])
    int8 = info.metadata["formats"].get("onnx-int8", {})
    return {
        "bundle": str(info.path),
        "seconds": round(time.perf_counter() - started, 2),
        "bytes": {name: fmt.get("bytes") for name, fmt in info.metadata["formats"].items()},
        "input_size": info.metadata.get("input_size"),
        "int8_export_eval": int8.get("eval"),
    }


if __name__ == "__main__":
    child_main(measure)
