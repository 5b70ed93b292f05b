"""infer and serve run where torch is not installed: only the bundle is needed."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_infer_and_serve_never_import_torch(colour_bundle, image_bytes, tmp_path):
    image = tmp_path / "red.png"
    image.write_bytes(image_bytes("red"))
    script = textwrap.dedent(
        f"""
        import sys
        for name in ("torch", "torchvision", "timm"):
            sys.modules[name] = None  # any import of these now raises ImportError

        from fastapi.testclient import TestClient
        from classmill.infer import Predictor, predict_many
        from classmill.serve import create_app

        predictor = Predictor.load({str(colour_bundle)!r})
        assert predictor.predict([{str(image)!r}])[0].label == "red"
        assert predict_many(predictor, {str(image)!r}, {str(tmp_path / "out")!r}).predicted == 1
        with TestClient(create_app({str(colour_bundle)!r})) as client:
            with open({str(image)!r}, "rb") as fh:
                r = client.post("/predict", files={{"files": ("red.png", fh.read())}})
        assert r.json()[0]["label"] == "red", r.text
        print("ok")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
