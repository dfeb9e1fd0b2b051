"""Admission rule pack of {{ cookiecutter.institution }} for Nongxin."""
