"""Refuse a SQLite database on a network file system: its locks are unreliable there, so WAL mode
can corrupt the file (sqlite.org/wal.html). Linux only (/proc/mounts); elsewhere nothing is checked."""

from __future__ import annotations

from pathlib import Path

from classmill.errors import ConfigError

NETWORK_FILESYSTEMS = frozenset({
    "nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "fuse.sshfs", "glusterfs", "fuse.glusterfs",
    "ceph", "fuse.ceph", "lustre", "afs", "gpfs", "beegfs", "fuse.s3fs", "fuse.rclone",
})
MOUNTS = Path("/proc/mounts")


def filesystem_type(folder: Path, mounts_text: str) -> str | None:
    """The type of the file system `folder` lives on, from /proc/mounts text (longest mount point wins)."""
    best, best_type = "", None
    target = str(folder)
    for line in mounts_text.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        mount_point = fields[1].replace("\\040", " ")
        inside = target == mount_point or target.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) >= len(best):
            best, best_type = mount_point, fields[2]
    return best_type


def refuse_network_filesystem(database_file: Path) -> None:
    if not MOUNTS.is_file():
        return
    folder = database_file.expanduser().absolute().parent
    kind = filesystem_type(folder, MOUNTS.read_text(encoding="utf-8", errors="replace"))
    if kind in NETWORK_FILESYSTEMS:
        raise ConfigError(
            f"the SQLite database {database_file} would be on a network file system ({kind}), where its "
            "locking is unreliable and the file can be corrupted. Put the workspace on a local disk "
            "(--workspace), or use PostgreSQL (CLASSMILL_DATABASE_URL=postgresql+psycopg://...)."
        )
