"""The pluggy markers of the ``nongxin`` project: plugins decorate their hooks with ``hookimpl``."""

import pluggy

PROJECT = "nongxin"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)
