"""dnactx: predict plant DNA methylation from sequence context with DNA language models."""

__version__ = "0.1.0"
