"""dnactx: predict plant DNA methylation from sequence context with DNA language models."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dnactx")  # pyproject.toml is the one place the version is written
except PackageNotFoundError:  # a source tree that was never installed: say so rather than guess
    __version__ = "0+unknown"
