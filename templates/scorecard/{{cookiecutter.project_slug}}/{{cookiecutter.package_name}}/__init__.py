"""A segment scorecard of {{ cookiecutter.institution }} for Nongxin: the reviewed spec.json, shipped as a plugin."""
