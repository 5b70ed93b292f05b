"""`classmill sdk BUNDLE --out X.zip`: the offline SDK (bundle + classmill-runtime wheel + README + run scripts).

Imports only classmill.sdk/infer: never torch.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from classmill.commands.predict import THRESHOLDS_HELP


def register(app: typer.Typer) -> None:
    app.command("sdk")(sdk_command)


def sdk_command(
    bundle: Path = typer.Argument(..., metavar="BUNDLE", help="Bundle file (.cmb) written by `classmill export`."),
    out: Path = typer.Option(None, "--out", help="SDK zip to write (default: BUNDLE's name with -sdk.zip, beside it)."),
    thresholds: Path = typer.Option(None, "--thresholds", show_default=False,
                                    help=THRESHOLDS_HELP.replace("to use instead of", "written into the SDK's copy "
                                                                 "of the bundle instead of")),
    as_json: bool = typer.Option(False, "--json", help="Print what was written as JSON."),
) -> None:
    """Package a bundle as an offline SDK: unzip, install the light runtime in one line, serve with one command."""
    from classmill.infer import read_bundle, read_thresholds_file
    from classmill.sdk import build_sdk

    target = out if out is not None else bundle.with_name(f"{bundle.stem}-sdk.zip")
    chosen = None if thresholds is None else read_thresholds_file(thresholds, read_bundle(bundle).labels)
    info = build_sdk(bundle, target, thresholds=chosen)
    if as_json:
        typer.echo(json.dumps({"path": str(info.path), "bytes": info.size_bytes, "folder": info.folder,
                               "files": list(info.files), "runtime_wheel": info.runtime_wheel,
                               "thresholds": info.thresholds}, indent=2, ensure_ascii=False))
        return
    typer.echo(f"wrote {info.path} ({info.size_bytes / 2**20:.1f} MB): {', '.join(info.files)}")
    typer.echo(f"on the target machine: unzip it, then follow {info.folder}/README.md (install in one line, "
               f"then ./run.sh or run.bat serves http://127.0.0.1:8987/upload)")
