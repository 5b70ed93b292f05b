"""Published endpoints at run time: the loaded models (a bounded cache) and their request statistics.

The HTTP side (authentication before the upload is read, the serve package's routers under
/serve/{name}) is server/api/serving.py; the database side is services/deployments.py.
"""
