"""classmill's benchmark runner: every figure measured side by side against a peer in one run.

    python -m bench all --out bench/results        # the full run (about half an hour on 2 cores)
    python -m bench train|infer|validate --out DIR  # one group
    python -m bench all --tiny --out /tmp/b         # seconds-long smoke configuration

Kept free of imports: some modules of this package run as children inside other interpreters
(Ultralytics' own virtual environment, a process that must never import torch).
"""
