"""classmill: folders of labelled images in; dataset, model, report, bundle and service out."""

__version__ = "0.1.0"
