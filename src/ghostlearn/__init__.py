"""ghostlearn: abrupt learning through ghost points, from the toy model to low-rank RNNs."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ghostlearn")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
