"""Errors a user can cause. The CLI prints them without a traceback; the API maps them to 4xx."""


class UserError(Exception):
    """Something the user can fix: the message says what is wrong and how to fix it."""


class DatasetError(UserError):
    """The dataset cannot be read or fails validation."""


class ConfigError(UserError):
    """A training/evaluation option is invalid."""


class ModelNotAvailableError(UserError):
    """A model or its pretrained weights cannot be had offline."""


class RunStateError(UserError):
    """A run directory is not in a state that allows the requested action (resume, extend...)."""


class ClassmillWarning(UserWarning):
    """Something the user should know before relying on a result; the CLI prints it as one line."""
