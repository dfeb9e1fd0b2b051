"""The core's plugin layer: discovery and registration (host), breakers, and the dispatch layer
through which the core calls every hook."""
