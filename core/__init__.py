"""The provincial core: app factory, database, institutions, plugin manager and shared modules."""

from nongxin.sdk import __version__

__all__ = ["__version__"]
