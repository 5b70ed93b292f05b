"""`classmill-serve BUNDLE` (or `python -m classmill.serve BUNDLE`): the offline SDK's one command.

The runtime (classmill-runtime, see classmill.sdk) has no typer or rich, so this is argparse over
the same serve_bundle that `classmill serve` calls.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from classmill.serve.address import DEFAULT_HOST, DEFAULT_PORT


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="classmill-serve",
        description="Serve a classmill bundle: upload page at /upload, JSON API at /predict, docs at /docs. "
                    "Limits: CLASSMILL_SERVE_* environment variables (MAX_UPLOAD_MB, MAX_BATCH_FILES, ...).")
    parser.add_argument("bundle", type=Path, metavar="BUNDLE", help="the bundle file (.cmb)")
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"interface to listen on (default {DEFAULT_HOST}); 0.0.0.0 exposes it to the network")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")
    parser.add_argument("--int8", action="store_true", help="serve the bundle's INT8 model")
    parser.add_argument("--thresholds", type=Path, metavar="FILE",
                        help="JSON {class name: threshold in [0, 1]} instead of the bundle's thresholds")
    parser.add_argument("--max-megapixels", type=float, metavar="MP",
                        help="refuse images with more megapixels than this, from their header (default 40)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from classmill.errors import UserError
    from classmill.serve.run import serve_bundle
    from classmill.serve.settings import load_settings

    try:
        settings = load_settings(max_megapixels=args.max_megapixels)
        serve_bundle(args.bundle, args.host, args.port, int8=args.int8, settings=settings,
                     thresholds_file=args.thresholds)
    except UserError as exc:  # user-fixable: a message, not a traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
