"""Child, run by bench/.venv-ultralytics/bin/python: `yolo classify train` on the same split.

No weights can be downloaded here, so the model is built from its YAML and trained from random
weights (pretrained=False): that is what Ultralytics offers offline, and it is the figure
reported. Network use is switched off (YOLO_OFFLINE, no plots so no font download) and also
guarded: every connection or name lookup outside loopback is refused and counted, so the
report can say whether Ultralytics tried to reach the network.
"""

from __future__ import annotations

import socket
import time

from bench.child import child_main

_LOOPBACK = ("127.", "::1", "localhost")


def _guard_network() -> list[str]:
    attempts: list[str] = []
    connect, getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def guarded_connect(sock, address):
        host = str(address[0] if isinstance(address, tuple) else address)
        if not host.startswith(_LOOPBACK) and sock.family in (socket.AF_INET, socket.AF_INET6):
            attempts.append(f"connect {address}")
            raise OSError(f"network blocked by the benchmark: {address}")
        return connect(sock, address)

    def guarded_getaddrinfo(host, *args, **kwargs):
        if host is not None and not str(host).startswith(_LOOPBACK):
            attempts.append(f"resolve {host}")
            raise socket.gaierror(f"network blocked by the benchmark: {host}")
        return getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = guarded_connect
    socket.getaddrinfo = guarded_getaddrinfo
    return attempts


def measure(spec: dict) -> dict:
    attempts = _guard_network()
    from ultralytics import YOLO

    started = time.perf_counter()
    epochs: list[dict] = []
    marks: dict = {}

    epochs_started = [0]

    def on_train_epoch_start(trainer) -> None:
        marks.setdefault("loop_start_s", round(time.perf_counter() - started, 2))
        epochs_started[0] += 1

    def on_fit_epoch_end(trainer) -> None:
        if len(epochs) >= epochs_started[0]:
            return  # final_eval runs this callback once more, for best.pt, after training
        epoch = trainer.epoch + 1
        now = time.perf_counter() - started
        epochs.append({"epoch": epoch, "elapsed_s": round(now, 2),
                       "val_top1": float(trainer.metrics.get("metrics/accuracy_top1", 0.0))})
        # Time box: stop when another epoch of the same length would overrun it.
        if now + now / len(epochs) > spec["time_box_s"]:
            trainer.stop = True
            marks["stopped_by_time_box"] = True

    model = YOLO(spec["model"])
    model.add_callback("on_train_epoch_start", on_train_epoch_start)
    model.add_callback("on_fit_epoch_end", on_fit_epoch_end)
    trainer_args = dict(data=spec["tree"], epochs=spec["epochs"], imgsz=spec["image_size"], batch=spec["batch_size"],
                        pretrained=False, plots=False, device="cpu", workers=spec["workers"], seed=spec["seed"],
                        project=spec["project"], name="run", exist_ok=True, verbose=False)
    model.train(**trainer_args)
    trainer = model.trainer
    import ultralytics

    return {
        "status": "ok",
        "ultralytics": ultralytics.__version__,
        "model": spec["model"],
        "pretrained": False,
        "image_size": spec["image_size"],
        "batch_size": spec["batch_size"],
        "epochs_planned": spec["epochs"],
        "wall_s": round(time.perf_counter() - started, 2),
        "train_images": len(trainer.train_loader.dataset),
        "val_images": len(trainer.test_loader.dataset),
        "dataloader_workers": trainer.train_loader.num_workers,
        "epochs": epochs,
        "network_attempts": attempts,
        **marks,
    }


if __name__ == "__main__":
    child_main(measure)
