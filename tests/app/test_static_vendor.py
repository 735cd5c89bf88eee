"""The chat page's browser libraries are vendored, pinned and loaded from this service only.

The page must work offline (no CDN) and the Markdown answer must go through the kept
libraries (marked, then DOMPurify), byte-for-byte the versions that
app/static/vendor/README.md names, with their licences beside them.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[2] / "app" / "static"
VENDOR = STATIC / "vendor"
PINNED = {
    "marked-18.2.1.min.js": ("marked v18.2.1", "LICENSE-marked.txt"),
    "purify-3.4.18.min.js": ("DOMPurify 3.4.18", "LICENSE-dompurify.txt"),
}


def _readme_hashes() -> dict[str, str]:
    rows = re.findall(
        r"^\| `([^`]+\.js)` .*`([0-9a-f]{64})` \|$", _read(VENDOR / "README.md"), re.M
    )
    return dict(rows)


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(PINNED))
def test_vendored_file_matches_its_pinned_hash_version_and_licence(name: str) -> None:
    banner, licence = PINNED[name]
    data = (VENDOR / name).read_bytes()
    assert hashlib.sha256(data).hexdigest() == _readme_hashes()[name]
    assert banner in data[:400].decode("utf-8")
    assert (VENDOR / licence).stat().st_size > 500


def test_page_loads_the_vendored_libraries_and_nothing_from_elsewhere() -> None:
    html = _read(STATIC / "index.html")
    sources = re.findall(r'<(?:script|link)[^>]*(?:src|href)="([^"]+)"', html)
    assert {f"/static/vendor/{name}" for name in PINNED} <= set(sources)
    assert all(src.startswith("/static/") or src.startswith("data:") for src in sources), sources
    for script in STATIC.glob("*.js"):
        assert "https://cdn" not in _read(script), script.name
        assert "import(" not in _read(script), script.name


def test_answers_go_through_the_sanitiser() -> None:
    render = _read(STATIC / "chat-render.js")
    assert "purify.sanitize(html" in render
    assert render.count("innerHTML") == 1  # the one sanitised assignment
