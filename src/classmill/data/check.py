"""Apply the dataset policy: every file, every class, every duplicate; nothing silently dropped."""

from __future__ import annotations

import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from classmill.data.dataset import Dataset
from classmill.data.labels import label_name_problem, suggested_label
from classmill.data.policy import EXTENSION_FORMATS, DatasetPolicy
from classmill.data.probe import ProbeResult, probe_file
from classmill.data.readers import read_source
from classmill.data.records import ERROR, WARNING, Candidate, ImageRecord, Problem, ReadResult
from classmill.data.report import DatasetReport
from classmill.progress import PhaseProgress, ProgressCallback

# What to tell the user for each way a file can fail to be an image.
_PROBE_FIXES = {
    "unreadable": "Check the file's permissions, or copy it again.",
    "empty_file": "The file is empty (0 bytes): copy it again from the original or delete it.",
    "not_an_image": "This is not an image despite its name: delete it, or export the real image as JPEG/PNG.",
    "corrupt": "The image data is damaged: re-export it from the original or delete it.",
    "truncated": "The file was cut off (incomplete download or copy): copy it again from the original.",
    "decompression_bomb": "The image has far too many pixels to decode safely: resize it below 4096 px per side.",
    "too_many_pixels": "Decoding it would take too much memory: resize it below 4096 px per side.",
}


def inspect(source: str | Path, policy: DatasetPolicy | None = None, *, extract_dir: Path | None = None,
            root: Path | None = None, workers: int = 8, progress: ProgressCallback | None = None) -> DatasetReport:
    """Read `source` with the right reader, check every file and class, return the full report.

    root: the folder a CSV's or list's images must lie in (default: the list's folder).
    progress: receives "extract" (zips) and "check" progress events.
    """
    policy = policy or DatasetPolicy()
    started = time.perf_counter()
    read = read_source(source, policy, extract_dir, root=root, progress=progress)
    problems = list(read.problems)
    to_probe: list[Candidate] = []
    for cand in read.candidates:
        ext = cand.path.suffix.lower().lstrip(".")
        if ext not in policy.formats:
            problems.append(Problem(
                "unsupported_format", ERROR,
                f"{cand.ref}: .{ext or '(no extension)'} files are not accepted (accepted: {', '.join(sorted(policy.formats))})",
                "Convert it to JPEG or PNG, or remove it from the class folder.", file=cand.ref, label=cand.label))
        else:
            to_probe.append(cand)
    # Reading + hashing releases the GIL; threads keep the disk and both cores busy.
    meter = PhaseProgress("check", len(to_probe), progress)
    probes: list[ProbeResult] = []
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for probe in pool.map(lambda c: probe_file(c.path, deep=policy.deep, max_file_bytes=policy.max_file_bytes,
                                                   max_pixels=policy.max_pixels), to_probe):
            probes.append(probe)
            meter.advance()
    records: list[ImageRecord] = []
    for cand, probe in zip(to_probe, probes):
        file_problems = _file_problems(cand, probe, policy)
        problems.extend(file_problems)
        if not any(p.severity == ERROR for p in file_problems):
            records.append(ImageRecord(
                path=cand.path, ref=cand.ref, label=cand.label, split=cand.split,
                content_hash=probe.content_hash, width=probe.width, height=probe.height,
                format=probe.format, mode=probe.mode, size_bytes=probe.size_bytes))
    records, duplicate_problems = _resolve_duplicates(records)
    problems.extend(duplicate_problems)
    # A class whose name breaks labels.txt is not usable, like a broken file: even with
    # --skip-invalid it must not reach training (it would fail only at export).
    label_problems = _label_name_problems(_class_names(read, records), read.kind)
    problems.extend(label_problems)
    bad_labels = {p.label for p in label_problems}
    records = [r for r in records if r.label not in bad_labels]
    classes = [c for c in _class_names(read, records) if c not in bad_labels]
    dataset = Dataset(source=read.source, kind=read.kind, classes=classes, records=records, ignored=read.ignored)
    problems.extend(_class_problems(dataset, policy))
    return DatasetReport(dataset=dataset, problems=problems, policy=policy, files_checked=len(read.candidates),
                         seconds=time.perf_counter() - started)


_LABEL_FIXES = {
    "folder": "Rename the class folder",
    "csv": "Fix the label in the CSV",
    "paddleclas": "Fix the name in labels.txt",
}


def _label_name_problems(classes: list[str], kind: str) -> list[Problem]:
    base = kind.removeprefix("zip/").removesuffix("-splits")
    fix = _LABEL_FIXES.get(base, "Rename the class")
    problems = []
    for label in classes:
        reason = label_name_problem(label)
        if reason:
            suggestion = suggested_label(label)
            to = f" to {suggestion!r}" if suggestion else ""
            problems.append(Problem(
                "bad_label_name", ERROR, f"label {label!r} {reason}; labels.txt, exports and reports cannot hold it",
                f"{fix}{to}: no leading/trailing spaces, line breaks, control characters or slashes.", label=label))
    return problems


def _class_names(read: ReadResult, records: list[ImageRecord]) -> list[str]:
    found = {r.label for r in records}
    if read.kind.endswith("paddleclas") and read.declared_labels:
        # labels.txt fixes the ids: keep its order, append anything it forgot.
        return list(read.declared_labels) + sorted(found - set(read.declared_labels))
    return sorted(found | set(read.declared_labels))


def _file_problems(cand: Candidate, probe: ProbeResult, policy: DatasetPolicy) -> list[Problem]:
    def problem(rule: str, severity: str, message: str, fix: str) -> Problem:
        return Problem(rule, severity, f"{cand.ref}: {message}", fix, file=cand.ref, label=cand.label)

    if probe.failure_rule:
        return [problem(probe.failure_rule, ERROR, probe.failure_detail, _PROBE_FIXES[probe.failure_rule])]
    found = []
    ext = cand.path.suffix.lower().lstrip(".")
    if EXTENSION_FORMATS.get(ext) != probe.format:
        found.append(problem("extension_mismatch", WARNING,
                             f"named .{ext} but the content is {probe.format}",
                             f"Rename it to .{probe.format.lower()} (it is read by its content, so it still works)."))
    if probe.size_bytes > policy.max_file_bytes:
        found.append(problem("file_too_large", ERROR,
                             f"{probe.size_bytes / 1e6:.1f} MB, over the {policy.max_file_bytes / 2**20:.0f} MB limit",
                             "Re-save it with more JPEG compression or at a smaller size."))
    longest, shortest = max(probe.width, probe.height), min(probe.width, probe.height)
    if longest >= policy.max_side:
        found.append(problem("image_too_large", ERROR,
                             f"{probe.width}x{probe.height} px; the longest side must be under {policy.max_side} px",
                             f"Resize it so the longest side is below {policy.max_side} px."))
    if shortest <= policy.min_side:
        found.append(problem("image_too_small", ERROR,
                             f"{probe.width}x{probe.height} px; the shortest side must be over {policy.min_side} px",
                             "Use a larger image; tiny images carry too little detail to learn from."))
    if shortest > 0 and longest / shortest > policy.max_aspect_ratio:
        found.append(problem("aspect_ratio", ERROR,
                             f"{probe.width}x{probe.height} px has aspect ratio {longest / shortest:.1f}:1, "
                             f"over {policy.max_aspect_ratio:g}:1",
                             "Crop it to the object of interest so it is closer to square."))
    return found


def _resolve_duplicates(records: list[ImageRecord]) -> tuple[list[ImageRecord], list[Problem]]:
    by_hash: dict[str, list[ImageRecord]] = defaultdict(list)
    for r in records:
        by_hash[r.content_hash].append(r)
    problems: list[Problem] = []
    conflicting: set[int] = set()
    for group in by_hash.values():
        if len(group) < 2:
            continue
        labels = sorted({r.label for r in group})
        refs = ", ".join(r.ref for r in group)
        if len(labels) > 1:
            conflicting.update(id(r) for r in group)
            for r in group:
                problems.append(Problem(
                    "conflicting_labels", ERROR,
                    f"{r.ref}: the same image appears under different labels ({', '.join(labels)}): {refs}",
                    "Decide which label is right and delete the other copies.", file=r.ref, label=r.label))
            continue
        for r in group[1:]:
            problems.append(Problem(
                "duplicate", WARNING, f"{r.ref}: identical to {group[0].ref}",
                "Delete the copy: duplicates make the class look bigger than it is.", file=r.ref, label=r.label))
        splits = {r.split for r in group if r.split}
        if len(splits) > 1:
            problems.append(Problem(
                "duplicate_across_splits", WARNING,
                f"the same image is in several splits ({', '.join(sorted(splits))}): {refs}",
                "Keep one copy: an image in both train and val makes validation accuracy look better than it is.",
                file=group[0].ref, label=group[0].label))
    return [r for r in records if id(r) not in conflicting], problems


def _class_problems(dataset: Dataset, policy: DatasetPolicy) -> list[Problem]:
    counts = dataset.counts()
    total = sum(counts.values())
    problems: list[Problem] = []
    n = len(dataset.classes)
    if n < policy.min_classes:
        problems.append(Problem(
            "too_few_classes", ERROR, f"found {n} class(es); at least {policy.min_classes} are needed",
            "Put each class's images in its own folder: images/<label>/*.jpg, with at least two labels."))
    if n > policy.max_classes:
        problems.append(Problem(
            "too_many_classes", ERROR, f"found {n} classes; at most {policy.max_classes} are supported",
            "Merge rare classes or check that the folder given is the dataset root."))
    for label, count in counts.items():
        if count < policy.min_images_per_class:
            problems.append(Problem(
                "too_few_images", ERROR,
                f"class {label!r} has {count} usable image(s); at least {policy.min_images_per_class} are needed",
                f"Add at least {policy.min_images_per_class - count} more images of {label!r}, or remove the class.",
                label=label))
        elif count < policy.recommended_images_per_class:
            problems.append(Problem(
                "few_images", WARNING,
                f"class {label!r} has {count} images; {policy.recommended_images_per_class}+ are recommended",
                f"Add more images of {label!r} for a more reliable model.", label=label))
        if total and n > 1 and count / total > policy.max_class_share:
            problems.append(Problem(
                "class_imbalance", WARNING,
                f"class {label!r} holds {count / total:.0%} of all images (over {policy.max_class_share:.0%})",
                "Add images of the other classes, or train with --class-balance weights|sampler.", label=label))
    return problems
