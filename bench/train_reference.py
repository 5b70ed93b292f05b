"""Child: the fine-tuning loop a user writes from the PyTorch / timm documentation.

Same pretrained network and weights as classmill (its efficientnet_lite0), normalisation
mean = std = 0.5, torchvision ImageFolder over the same split, RandomResizedCrop + flip for
training and Resize + CenterCrop for validation, AdamW at 1e-3 with a cosine schedule, batch 32,
a DataLoader with 2 workers decoding every image every epoch, eager mode. Nothing tuned: this
is the baseline a person gets without classmill.

With spec["score_part"] (e.g. "test"), the model after its last epoch (no selection: the loop
keeps no best checkpoint) is also run over that folder of the tree, outside the timed training,
and its per-image probabilities are returned for bench.held_out to score.
"""

from __future__ import annotations

import time

from bench.child import child_main


def measure(spec: dict) -> dict:
    import torch
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms as T

    from classmill.models import create_model

    started = time.perf_counter()  # after the imports, as for every peer
    torch.manual_seed(spec["seed"])
    size, resize = spec["image_size"], spec["resize"]
    normalize = T.Normalize(mean=[0.5] * 3, std=[0.5] * 3)
    train_set = datasets.ImageFolder(f"{spec['tree']}/train", T.Compose(
        [T.RandomResizedCrop(size), T.RandomHorizontalFlip(), T.ToTensor(), normalize]))
    val_set = datasets.ImageFolder(f"{spec['tree']}/val", T.Compose(
        [T.Resize(resize), T.CenterCrop(size), T.ToTensor(), normalize]))
    train_loader = DataLoader(train_set, batch_size=spec["batch_size"], shuffle=True, num_workers=spec["workers"])
    val_loader = DataLoader(val_set, batch_size=spec["batch_size"], num_workers=spec["workers"])

    model = create_model("efficientnet_lite0", num_classes=len(train_set.classes))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=spec["epochs"])
    loss_fn = torch.nn.CrossEntropyLoss()

    epochs = []
    loop_start = time.perf_counter() - started
    for epoch in range(spec["epochs"]):
        model.train()
        for images, labels in train_loader:
            optimizer.zero_grad()
            loss = loss_fn(model(images), labels)
            loss.backward()
            optimizer.step()
        scheduler.step()
        model.eval()
        correct = total = 0
        with torch.no_grad():
            for images, labels in val_loader:
                correct += int((model(images).argmax(1) == labels).sum())
                total += len(labels)
        epochs.append({"epoch": epoch + 1, "elapsed_s": round(time.perf_counter() - started, 2),
                       "val_top1": correct / total})
        print(f"epoch {epoch + 1}: val top-1 {correct / total:.4f} at {epochs[-1]['elapsed_s']:.0f} s", flush=True)
    result = {
        "status": "ok",
        "image_size": size,
        "resize": resize,
        "batch_size": spec["batch_size"],
        "epochs_planned": spec["epochs"],
        "wall_s": round(time.perf_counter() - started, 2),
        "loop_start_s": round(loop_start, 2),
        "train_images": len(train_set),
        "val_images": len(val_set),
        "epochs": epochs,
    }
    if spec.get("score_part"):
        result["held_out"] = _predict_folder(model, f"{spec['tree']}/{spec['score_part']}", val_set.transform,
                                             spec["batch_size"], spec["workers"], train_set.classes)
    return result


def _predict_folder(model, folder: str, transform, batch_size: int, workers: int, classes: list[str]) -> dict:
    """Softmax probabilities for every image of an ImageFolder, with the validation transform."""
    import torch
    from torch.utils.data import DataLoader
    from torchvision import datasets

    from bench.held_out import predictions

    scored = datasets.ImageFolder(folder, transform)
    if scored.classes != classes:  # a class with no test image would shift every label index
        raise ValueError(f"{folder}: classes {scored.classes} differ from the training folder's {classes}")
    model.eval()
    probs = []
    with torch.no_grad():
        for images, _ in DataLoader(scored, batch_size=batch_size, num_workers=workers):
            probs.append(torch.softmax(model(images), dim=1))
    paths = [path for path, _ in scored.samples]
    labels = [classes[index] for _, index in scored.samples]
    return predictions(classes, paths, labels, torch.cat(probs).numpy())


if __name__ == "__main__":
    child_main(measure)
