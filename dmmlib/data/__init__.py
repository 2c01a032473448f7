"""Datasets: synthetic manifolds, spheres, and the MNIST / CIFAR-10 / ImageNet loaders.

Real data is read from ``$DMM_DATA`` (see :func:`dmmlib.data.paths.data_dir`); a missing
file raises :class:`dmmlib.data.paths.MissingDataError` that says what is missing and
where it was looked for.
"""
