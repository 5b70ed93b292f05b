"""What the server's training-task tests share: tiny options (seconds per training) and the job's final states."""

from __future__ import annotations

# Noise or a few dozen images, 32 px, no pretrained weights, one epoch: a task trains in seconds.
TINY_TASK_OPTIONS = {"epochs": 1, "image_size": 32, "batch_size": 8, "workers": 1, "warmup_epochs": 0.0,
                     "pretrained": False, "head_warmup_steps": 20}
# A job in one of these states has ended (for now: paused, stopped and interrupted ones resume).
SETTLED = ("succeeded", "failed", "stopped", "paused", "interrupted")
