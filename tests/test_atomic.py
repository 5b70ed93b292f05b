import os
import stat

from classmill import atomic


def test_atomic_write_never_touches_the_process_umask(tmp_path, monkeypatch):
    # os.umask(0) to read the mask changes it for every thread; the write must not call it at all.
    def forbidden(_mask):
        raise AssertionError("atomic writes must not call os.umask")

    previous = os.umask(0o027)
    try:
        monkeypatch.setattr(os, "umask", forbidden)
        atomic.write_text(tmp_path / "a.txt", "hello")
    finally:
        monkeypatch.undo()
        os.umask(previous)
    mode = stat.S_IMODE((tmp_path / "a.txt").stat().st_mode)
    assert mode == 0o640  # 0666 less the umask in force, applied by the kernel
    assert (tmp_path / "a.txt").read_text() == "hello"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]  # no temp file left behind


def test_failed_write_leaves_old_file_and_no_temp(tmp_path):
    target = tmp_path / "b.json"
    atomic.write_json(target, {"v": 1})
    try:
        with atomic.atomic_open(target, "w") as fh:
            fh.write("{broken")
            raise RuntimeError("crash mid-write")
    except RuntimeError:
        pass
    assert target.read_text().strip().startswith("{") and '"v": 1' in target.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["b.json"]
