"""Child: inference as a PyTorch user writes it, the peer of classmill's ONNX Runtime bundle.

The run's own checkpoint and preprocessing (Resize + CenterCrop at the run's size, its mean/std)
through torchvision transforms, eager mode, torch.inference_mode; JPEG decoding included:
- throughput: a DataLoader (batch 32, 2 workers) over the image folder, median of repeats;
- latency: one image per call (open, transform, forward), p50/p99;
- accuracy on the run's validation images, to check both runtimes see the same model.
"""

from __future__ import annotations

import time

from bench.child import child_main
from bench.stats import median, percentile

_WARMUP = 5


def measure(spec: dict) -> dict:
    import torch
    from PIL import Image
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms as T

    from classmill.train import load_trained_model

    trained = load_trained_model(spec["run_dir"], "best")
    model, s = trained.model.eval(), trained.spec
    transform = T.Compose([T.Resize(s.resize_size), T.CenterCrop(s.input_size), T.ToTensor(),
                           T.Normalize(mean=list(s.mean), std=list(s.std))])

    def load(path: str) -> torch.Tensor:
        with Image.open(path) as img:
            return transform(img.convert("RGB"))

    with torch.inference_mode():
        for _ in range(_WARMUP):
            model(load(spec["single_image"])[None])
        latencies = []
        for _ in range(spec["latency_runs"]):
            start = time.perf_counter()
            model(load(spec["single_image"])[None]).softmax(1)
            latencies.append((time.perf_counter() - start) * 1000)

        folder = datasets.ImageFolder(spec["images"], transform)
        throughputs = []
        for _ in range(spec["repeats"]):
            loader = DataLoader(folder, batch_size=32, num_workers=spec["workers"])
            start = time.perf_counter()
            for images, _labels in loader:
                model(images).softmax(1)
            throughputs.append(len(folder) / (time.perf_counter() - start))

        correct = 0
        index = {name: i for i, name in enumerate(trained.classes)}
        paths, labels = spec["val_paths"], spec["val_labels"]
        for lo in range(0, len(paths), 32):
            batch = torch.stack([load(p) for p in paths[lo:lo + 32]])
            predicted = model(batch).argmax(1).tolist()
            correct += sum(int(p == index[y]) for p, y in zip(predicted, labels[lo:lo + 32]))

    return {
        "torch_threads": torch.get_num_threads(),
        "input_size": s.input_size,
        "images": len(folder),
        "latency_ms_p50": round(percentile(latencies, 50), 2),
        "latency_ms_p99": round(percentile(latencies, 99), 2),
        "latency_runs": len(latencies),
        "throughput_img_s_median": round(median(throughputs), 1),
        "throughput_img_s_repeats": [round(t, 1) for t in throughputs],
        "val_top1": correct / len(paths),
        "val_images": len(paths),
    }


if __name__ == "__main__":
    child_main(measure)
