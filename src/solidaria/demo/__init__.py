"""The demo network of `solidaria demo`, and the generator the benchmark reuses.

A plain package, not a Django app: it owns no models, only writes through the others.
"""
