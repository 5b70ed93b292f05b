"""What one benchmark run measures and how much of it: the full configuration and the tiny smoke one.

Every size, count and time box lives here, so `--tiny` changes amounts, never code paths.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATASETS = REPO_ROOT.parent / "shared" / "datasets"


@dataclass(frozen=True)
class BenchPlan:
    tiny: bool
    datasets_dir: Path
    # Training: datasets (folders under datasets_dir) and classmill presets compared with the
    # hand-written reference loop and Ultralytics on the same split.
    train_datasets: tuple[str, ...] = ("casting", "imagenette-mini")
    presets: tuple[str, ...] = ("balanced", "fast")
    classmill_overrides: dict = field(default_factory=dict)  # only the tiny plan shrinks the presets
    val_fraction: float = 0.2
    seed: int = 0
    accuracy_targets: tuple[float, ...] = (0.90, 0.98, 0.99)
    reference_epochs: int = 5
    reference_image_size: int = 224
    reference_resize: int = 256
    reference_batch: int = 32
    reference_workers: int = 2
    ultralytics_model: str = "yolo11n-cls.yaml"
    ultralytics_epochs: int = 5
    ultralytics_image_size: int = 224
    ultralytics_time_box_s: float = 300.0
    install_ultralytics: bool = True  # the tiny plan uses Ultralytics only if already installed
    train_timeout_s: float = 1200.0
    # Before each timed child: wait up to this long for other people's processes to leave the cores.
    quiet_wait_s: float = 60.0
    # OpenMP threads per child; None leaves torch its default (one per core). The tiny plan uses 1:
    # a smoke run must stay fast even when a neighbour is busy, and 2 OpenMP threads sharing a
    # core with someone else's process stall at every barrier.
    child_threads: int | None = None
    # Inference: the casting model trained by the classmill default path.
    infer_dataset: str = "casting"
    int8_calibration_images: int = 100
    latency_runs: int = 100
    throughput_repeats: int = 3
    serve_requests: int = 300
    serve_concurrency: int = 8
    # Validation / import speed.
    check_images: int = 10_000
    check_repeats: int = 3
    # Platform server (python -m bench server): a generated zip of distinct noise JPEGs, imported on
    # SQLite and on PostgreSQL; request counts for the latency figures.
    server_images: int = 20_000
    server_classes: int = 20
    server_image_px: int = 48
    server_login_requests: int = 20
    server_token_requests: int = 500
    server_gallery_requests: int = 200
    server_thumbnail_requests: int = 200
    server_import_timeout_s: float = 1800.0
    # Training task overhead (python -m bench task): the platform vs the CLI on the same data.
    task_dataset: str = "casting"
    task_preset: str = "fast"
    task_repeats: int = 3
    # Live job events (python -m bench sse): lines appended per measurement, and clients following at once.
    sse_events: int = 200
    sse_clients: tuple[int, ...] = (1, 10)
    # Published endpoint vs `classmill serve` (python -m bench endpoint): the platform trains a model on
    # these photos (0 = every image of each class), publishes it; both serve it under the same load.
    endpoint_dataset: str = "casting"
    endpoint_images_per_class: int = 0
    endpoint_preset: str = "fast"
    endpoint_task_options: dict = field(default_factory=dict)
    endpoint_requests: int = 1500
    endpoint_concurrency: int = 64
    endpoint_runs: int = 3
    endpoint_warmup_requests: int = 128
    # Held-out quality (python -m bench quality): per set and repeat r, classmill's stratified split with
    # seed r into train / val / test; every peer trains on train, classmill selects on val, all are
    # scored on test. The reference loop runs at reference_image_size / reference_resize and again at
    # the default preset's resolved input size (resize scaled by the same 256/224).
    quality_sets: tuple[str, ...] = ("casting", "neu-steel", "sign-digits", "cifar10-mini", "imagenette-mini")
    # ImageNet-pretrained backbones have seen these classes: their accuracy says nothing about transfer.
    quality_speed_only_sets: tuple[str, ...] = ("imagenette-mini",)
    quality_repeats: int = 3
    quality_presets: tuple[str, ...] = ("fast", "balanced", "accurate")
    quality_default_preset: str = "balanced"
    quality_val: float = 0.2
    quality_test: float = 0.25
    quality_classmill_overrides: dict = field(default_factory=dict)  # per preset; only the tiny plan shrinks them
    quality_timeout_s: float = 3600.0
    quality_peer_timeout_s: dict = field(default_factory=lambda: {"classmill-accurate": 3 * 3600.0})
    # Scale (python -m bench scale): a folder of this many images generated from these shared datasets
    # (bench/scale_data.py), trained with this preset and these option overrides (none: the defaults).
    scale_images: int = 50_000
    scale_sources: tuple[str, ...] = ("casting", "cifar10-mini", "imagenette-mini", "neu-steel", "sign-digits")
    scale_heldout: float = 0.2  # of each class's files, never copied: the test set
    scale_preset: str = "balanced"
    scale_overrides: dict = field(default_factory=dict)
    scale_timeout_s: float = 6 * 3600.0
    # Tiny plan: small stand-in datasets made from the shared ones.
    tiny_images_per_class: int = 0
    tiny_image_px: int = 0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["datasets_dir"] = str(self.datasets_dir)
        return d


def full_plan(datasets_dir: Path = SHARED_DATASETS) -> BenchPlan:
    return BenchPlan(tiny=False, datasets_dir=datasets_dir)


def tiny_plan(datasets_dir: Path = SHARED_DATASETS) -> BenchPlan:
    """Seconds, not minutes: one small dataset, 1 epoch at 64 px, a few hundred images to check."""
    return BenchPlan(
        tiny=True,
        datasets_dir=datasets_dir,
        train_datasets=("casting",),
        presets=("balanced",),
        # 20 per class is the platform's minimum; 24 leaves 19 train + 5 val per class.
        tiny_images_per_class=24,
        tiny_image_px=64,
        # 64 px, one size for every peer: small enough to keep the smoke run quick.
        classmill_overrides={"epochs": 1, "image_size": 64, "batch_size": 16},
        accuracy_targets=(0.90, 0.98, 0.99),
        reference_epochs=1,
        reference_image_size=64,
        reference_resize=73,
        reference_batch=16,
        ultralytics_epochs=1,
        ultralytics_image_size=64,
        ultralytics_time_box_s=30.0,
        install_ultralytics=False,
        train_timeout_s=180.0,
        quiet_wait_s=0.0,
        child_threads=1,
        int8_calibration_images=8,
        latency_runs=5,
        throughput_repeats=1,
        serve_requests=16,
        serve_concurrency=4,
        check_images=480,  # 40 per class: above the platform's 20-per-class minimum
        check_repeats=2,
        server_images=120,  # 30 per class: above the 20-per-class minimum, so the import is "ready"
        server_classes=4,
        server_login_requests=3,
        server_token_requests=20,
        server_gallery_requests=5,
        server_thumbnail_requests=5,
        server_import_timeout_s=60.0,
        task_repeats=1,
        sse_events=20,
        sse_clients=(1, 2),
        endpoint_images_per_class=24,
        endpoint_task_options={"image_size": 64},
        endpoint_requests=64,
        endpoint_concurrency=16,
        endpoint_runs=1,
        endpoint_warmup_requests=16,
        # 24 per class: 13 train + 5 val + 6 test. The reference runs at 64 px, the presets at 48 px,
        # so "equal input size" is a different run from the reference's own size even here.
        quality_sets=("casting",),
        quality_repeats=1,
        quality_classmill_overrides={
            "fast": {"image_size": 48, "head_warmup_steps": 20},
            "balanced": {"epochs": 1, "image_size": 48, "batch_size": 16, "head_warmup_steps": 20},
            "accurate": {"epochs": 1, "image_size": 48, "batch_size": 16, "head_warmup_steps": 20},
        },
        quality_timeout_s=180.0,
        quality_peer_timeout_s={},
        # 2,400 images: 24 in each of the smallest classes, above the platform's 20-image minimum.
        scale_images=2_400,
        scale_overrides={"epochs": 1, "image_size": 64, "batch_size": 16, "head_warmup_steps": 50},
        scale_timeout_s=600.0,
    )
