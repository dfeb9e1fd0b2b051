"""Vendor ECharts from the npm registry into the console's static files (no CDN: bank intranets
have no internet).

    python tools/vendor_echarts.py            # the version pinned below
    python tools/vendor_echarts.py 6.2.0      # another version: then update VERSION below

It downloads the package tarball, checks it against the registry's sha512 integrity, and writes
``dist/echarts.min.js``, ``LICENSE`` and ``NOTICE`` with a ``VERSION`` file under
``core/console/static/vendor/echarts/``. Commit the result.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import sys
import tarfile
import urllib.request
from pathlib import Path

VERSION = "6.1.0"
REGISTRY = "https://registry.npmjs.org/echarts"
TARGET = Path(__file__).resolve().parent.parent / "core" / "console" / "static" / "vendor" / "echarts"
FILES = {"package/dist/echarts.min.js": "echarts.min.js", "package/LICENSE": "LICENSE", "package/NOTICE": "NOTICE"}


def main(version: str = VERSION) -> None:
    with urllib.request.urlopen(f"{REGISTRY}/{version}", timeout=60) as response:
        meta = json.load(response)
    dist = meta["dist"]
    with urllib.request.urlopen(dist["tarball"], timeout=120) as response:
        blob = response.read()
    algorithm, _, expected = dist["integrity"].partition("-")
    if algorithm != "sha512" or base64.b64encode(hashlib.sha512(blob).digest()).decode() != expected:
        raise SystemExit(f"the tarball does not match the registry's integrity {dist['integrity']}")
    TARGET.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        for member, name in FILES.items():
            extracted = tar.extractfile(member)
            if extracted is None:
                raise SystemExit(f"{member} is missing from echarts {version}")
            (TARGET / name).write_bytes(extracted.read())
    (TARGET / "VERSION").write_text(f"echarts {version} from {dist['tarball']}\nintegrity {dist['integrity']}\n",
                                    encoding="utf-8")
    print(f"vendored echarts {version} into {TARGET}")


if __name__ == "__main__":
    main(*sys.argv[1:2])
