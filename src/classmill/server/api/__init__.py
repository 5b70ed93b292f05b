"""The REST API under /api/v1: thin routes over services/, typed dependencies in deps.py."""
