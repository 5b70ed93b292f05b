"""The classmill platform server: accounts, and (to come) datasets, jobs and models over the library.

Layers, one direction only: api/ (routes) -> services/ (the only code that queries) -> db/.
"""
