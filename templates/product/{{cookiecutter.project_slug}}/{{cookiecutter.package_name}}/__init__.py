"""{{ cookiecutter.product_name }} ({{ cookiecutter.product_code }}): a Nongxin product plugin of {{ cookiecutter.institution }}."""
