#!/usr/bin/env python3
"""Screenshot of the on-call page `obsctl docs` makes of examples/asset-ws, for the README (docs/img/).

Renders the page's Markdown to HTML (markdown-it, which rich already brings) with GitHub-like styling and takes a
picture with headless Chromium (Debian: apt-get install chromium). Not part of CI: run it by hand after changing
what `obsctl docs` writes, and commit the picture.

    python scripts/docs_screenshot.py [--spec examples/asset-ws/obsctl.yaml] [--out docs/img/oncall-asset-ws.png]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parent.parent
WIDTH = 1100
CSS = """
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; font-size: 14px; line-height: 1.5; color: #1f2328;
       max-width: 1040px; margin: 24px auto; padding: 0 24px; }
h1 { font-size: 26px; border-bottom: 1px solid #d1d9e0; padding-bottom: 6px; }
h2 { font-size: 20px; border-bottom: 1px solid #d1d9e0; padding-bottom: 4px; margin-top: 28px; }
h3 { font-size: 16px; margin-top: 22px; }
table { border-collapse: collapse; margin: 8px 0 16px; }
th, td { border: 1px solid #d1d9e0; padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
code { background: #eff1f3; border-radius: 4px; padding: 1px 4px; font-size: 12.5px; }
a { color: #0969da; text-decoration: none; }
img { max-width: 100%; border: 1px solid #d1d9e0; border-radius: 6px; }
"""


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("headless Chromium is needed: apt-get install chromium")


def page_height(markdown: str, folder: Path) -> int:
    """A viewport tall enough for the page: text lines plus the pictures' own heights."""
    lines = sum(
        1 for line in markdown.splitlines() if line.strip() and not line.startswith(("<a ", "![", "|---"))
    )
    pictures = 0
    for src in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown):
        m = re.search(r'height="(\d+)"', (folder / src).read_text(encoding="utf-8"))
        width = re.search(r'width="(\d+)"', (folder / src).read_text(encoding="utf-8"))
        if m and width:
            pictures += int(int(m.group(1)) * min(1.0, 1040 / int(width.group(1)))) + 40
    return 240 + lines * 36 + pictures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=ROOT / "examples" / "asset-ws" / "obsctl.yaml")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "oncall-asset-ws.png")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="obsctl-docs-shot-") as tmp:
        folder = Path(tmp) / "docs"
        subprocess.run(
            [sys.executable, "-m", "obsctl.cli", "docs", str(args.spec), "--out", str(folder)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        markdown = (folder / "oncall.md").read_text(encoding="utf-8")
        body = MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)
        html = folder / "oncall.html"
        html.write_text(
            f"<!doctype html><html><head><meta charset='utf-8'><style>{CSS}</style></head>"
            f"<body>{body}</body></html>",
            encoding="utf-8",
        )
        args.out.parent.mkdir(parents=True, exist_ok=True)
        profile = Path(tmp) / "profile"
        subprocess.run(
            [
                chromium(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                f"--window-size={WIDTH},{page_height(markdown, folder)}",
                f"--screenshot={args.out.resolve()}",
                html.as_uri(),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=120,
        )
    print(args.out)


if __name__ == "__main__":
    main()
