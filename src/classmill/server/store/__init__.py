"""The file store: images by content hash and their thumbnails (blobs.py, thumbnails.py)."""
