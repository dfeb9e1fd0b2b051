"""{{ cookiecutter.description }}: the `{{ cookiecutter.connector_name }}` data connector of {{ cookiecutter.institution }} for Nongxin."""
