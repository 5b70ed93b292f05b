"""Backup and restore of a whole server: the database as rows (SQLite and PostgreSQL alike) and the workspace's files.

create_backup writes one tar (archive.py says what is in it); restore_backup puts it into a new
workspace and an empty database of either backend.
"""

from classmill.server.services.backup.archive import BackupDamaged
from classmill.server.services.backup.create import BackupSummary, create_backup
from classmill.server.services.backup.restore import RestoreSummary, TargetNotEmpty, restore_backup

__all__ = ["BackupDamaged", "BackupSummary", "RestoreSummary", "TargetNotEmpty", "create_backup", "restore_backup"]
