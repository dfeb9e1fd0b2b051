"""Write the card's tables (variables, bins, points, grades) into the package README from the
spec.json just generated, so the README a reviewer reads describes the file that runs."""

from pathlib import Path

from nongxin.sdk.scorecard_files import card_markdown
from nongxin.sdk.scorecards import spec_from_json

MARKER = "<!-- the card: filled in from spec.json when the package is generated -->"

spec = spec_from_json(Path("{{ cookiecutter.package_name }}", "spec.json").read_text(encoding="utf-8"))
readme = Path("README.md")
readme.write_text(readme.read_text(encoding="utf-8").replace(MARKER, card_markdown(spec)), encoding="utf-8")
