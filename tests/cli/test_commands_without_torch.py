"""predict, serve and sdk never load torch: ONNX Runtime runs several times slower in a process that has."""

import subprocess
import sys
import textwrap

import pytest

HEAVY = ("torch", "torchvision", "timm")


def _run(script: str) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_predict_serve_and_sdk_commands_load_no_torch(tiny_bundle, shared_datasets, tmp_path):
    image = sorted((shared_datasets / "cifar10-mini" / "bird").iterdir())[-1]
    last = _run(f"""
        import sys
        import typer
        import uvicorn
        from typer.testing import CliRunner
        from classmill.commands import predict, sdk, serve

        app = typer.Typer()
        predict.register(app)
        serve.register(app)
        sdk.register(app)
        runner = CliRunner()
        for args in (["predict", {str(tiny_bundle)!r}, {str(image)!r}, "--json", "--out", {str(tmp_path / "one")!r}],
                     ["predict", {str(tiny_bundle)!r}, {str(image.parent)!r}, "--out", {str(tmp_path / "many")!r}],
                     ["serve", {str(tiny_bundle)!r}],
                     ["sdk", {str(tiny_bundle)!r}, "--out", {str(tmp_path / "sdk.zip")!r}]):
            uvicorn.run = lambda app, **options: None  # build the service, do not block on it
            result = runner.invoke(app, args)
            assert result.exit_code == 0, (args, result.output, result.exception)
        print(sorted(m for m in {HEAVY!r} if m in sys.modules))
        """)
    assert last == "[]", f"predict/serve/sdk loaded {last}"


def test_the_classmill_predict_entry_point_loads_no_torch(tiny_bundle, shared_datasets, tmp_path):
    image = sorted((shared_datasets / "cifar10-mini" / "bird").iterdir())[-1]
    last = _run(f"""
        import sys
        sys.argv = ["classmill", "predict", {str(tiny_bundle)!r}, {str(image)!r}, "--json",
                    "--out", {str(tmp_path)!r}]
        from classmill.cli import main
        try:
            main()
        except SystemExit as exc:
            assert not exc.code, exc.code
        print(sorted(m for m in {HEAVY!r} if m in sys.modules))
        """)
    assert last == "[]", f"`classmill predict` loaded {last}"
