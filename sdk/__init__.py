"""The Nongxin SDK: everything a county bank's plugin may import.

The SDK never imports the core, so a plugin built on it can be written, tested and packaged without
a running province.
"""

__version__ = "0.1.0"
CORE_API_VERSION = "1.0"

__all__ = ["CORE_API_VERSION", "__version__"]
