"""Datasets: synthetic manifolds, spheres, and the MNIST / CIFAR-10 / ImageNet loaders.

Real data is read from ``$DMM_DATA`` (see :func:`dmmlib.data.paths.data_dir`; nothing is
downloaded). A missing file raises :class:`dmmlib.data.paths.MissingDataError` that says what
is missing, where it was looked for, the variable to set and the folder layout; every known
file is verified against its SHA-256 on first use (:mod:`dmmlib.data.checksums`), and a
corrupt, truncated or malformed file raises :class:`dmmlib.data.paths.CorruptDataError`
naming it. :func:`dmmlib.data.paths.data_identity` (the checksums of the files present) is
part of every cache key and chapter stamp that depends on data.
"""
