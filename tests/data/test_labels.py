"""One rule for class names, applied by `data check` for every reader (issue #10, item 7)."""

import pytest

from classmill import data
from classmill.data.labels import MAX_LABEL_LENGTH, label_name_problem
from classmill.data.readers.lists import labels_to_text, read_labels_file
from support.images import make_class_folders

POLICY = data.DatasetPolicy(min_images_per_class=2, recommended_images_per_class=2)


@pytest.mark.parametrize("name", ["scratch", "缺陷 [ng]", "合格.ok", "a b-c_d (1)", "Ünïcode ñame", "x" * MAX_LABEL_LENGTH])
def test_ordinary_names_pass(name):
    assert label_name_problem(name) is None


@pytest.mark.parametrize("name, reason", [
    ("scratch ", "whitespace"), (" scratch", "whitespace"), ("\u3000ng", "whitespace"), ("", "empty"),
    ("a\u2028b", "line separator"), ("a\u0085b", "control"), ("a\nb", "control"), ("a\rb", "control"),
    ("a\tb", "control"), ("a\u2029b", "paragraph separator"), ("a\u202eb", "formatting"), ("a\udcffb", "undecodable"),
    ("a/b", "slash"), ("..", "folder name"), ("x" * (MAX_LABEL_LENGTH + 1), "characters long"),
])
def test_bad_names_are_named_with_the_reason(name, reason):
    assert reason in label_name_problem(name)


def _label_errors(report):
    return {p.label: p for p in report.problems if p.rule == "bad_label_name"}


def test_folder_with_a_trailing_space_fails_the_check(tmp_path):
    make_class_folders(tmp_path / "d", {"scratch ": 2, "ok": 2, "缺陷 图": 2})
    report = data.check(tmp_path / "d", POLICY)
    errors = _label_errors(report)
    assert set(errors) == {"scratch "} and not report.ok
    assert errors["scratch "].severity == data.ERROR
    assert "Rename the class folder to 'scratch'" in errors["scratch "].fix
    # Not usable, like a broken file: --skip-invalid training must not get it and fail at export.
    assert report.dataset.classes == ["ok", "缺陷 图"] and len(report.dataset.records) == 4


def test_csv_labels_with_line_separators_fail_the_check(tmp_path):
    make_class_folders(tmp_path / "d", {"a": 2, "b": 2})
    rows = [f"a/a_{i:03d}.jpg,a\u2028x" for i in range(2)] + [f"b/b_{i:03d}.jpg,b" for i in range(2)]
    (tmp_path / "d" / "data.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    errors = _label_errors(data.check(tmp_path / "d" / "data.csv", POLICY))
    assert set(errors) == {"a\u2028x"} and "Fix the label in the CSV" in errors["a\u2028x"].fix


def test_labels_txt_keeps_a_name_with_a_line_separator_whole_and_reports_it(tmp_path):
    root = tmp_path / "p"
    make_class_folders(root, {"a": 2, "b": 2})
    names = ["a\u0085x", "b"]
    (root / "labels.txt").write_text("".join(f"{n}\n" for n in names), encoding="utf-8")
    assert read_labels_file(root / "labels.txt") == names  # not three labels
    (root / "train_list.txt").write_text("".join(f"{lab}/{lab}_{i:03d}.jpg {n}\n"
                                                 for n, lab in enumerate("ab") for i in range(2)))
    errors = _label_errors(data.check(root, POLICY))
    assert set(errors) == {"a\u0085x"} and "labels.txt" in errors["a\u0085x"].fix


def test_labels_txt_is_never_written_with_a_bad_name():
    with pytest.raises(data.DatasetError, match="scratch "):
        labels_to_text(["ok", "scratch "])
