"""The chat page's browser libraries are vendored, pinned and loaded from this service only.

The page must work offline (no CDN) and the Markdown answer must go through the kept
libraries (marked, then DOMPurify), byte-for-byte the versions that
app/static/vendor/README.md names, with their licences beside them.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
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


# ---------------------------------------------------------------- @wsao/client

SDK = STATIC.parents[1] / "clients" / "js"
SDK_VENDOR = VENDOR / "wsao-client"
NODE = shutil.which("node")
TSC = SDK / "node_modules" / "typescript" / "bin" / "tsc"


def test_the_vendored_sdk_has_one_module_per_source_file() -> None:
    """`npm run vendor` in clients/js copies dist/*.js here; nothing missing, nothing stale."""
    sources = {path.stem for path in (SDK / "src").glob("*.ts")}
    assert {path.stem for path in SDK_VENDOR.glob("*")} == sources
    for path in SDK_VENDOR.glob("*.js"):
        text = _read(path)
        assert "sourceMappingURL" not in text, path.name
        for spec in re.findall(r'\bfrom\s+"([^"]+)"', text):
            assert spec.startswith("./") and (SDK_VENDOR / spec).is_file(), (path.name, spec)


def test_the_page_imports_the_vendored_sdk_and_no_socket_of_its_own() -> None:
    chat = _read(STATIC / "chat.js")
    assert 'from "/static/vendor/wsao-client/index.js"' in chat
    for script in STATIC.glob("*.js"):  # the protocol lives in the SDK only
        text = _read(script)
        assert "new WebSocket" not in text, script.name
        for frame in ('"ack"', '"resume"', '"auth"', "last_seq"):
            assert frame not in text, (script.name, frame)


@pytest.mark.skipif(
    NODE is None or not TSC.is_file(),
    reason="node or clients/js's devDependencies (npm ci) are not installed",
)
def test_the_vendored_sdk_is_a_fresh_build_of_clients_js(tmp_path: Path) -> None:
    assert NODE is not None
    subprocess.run(
        [NODE, str(TSC), "-p", str(SDK / "tsconfig.json"), "--outDir", str(tmp_path)],
        check=True,
        cwd=SDK,
    )
    built = {path.name: path.read_bytes() for path in tmp_path.glob("*.js")}
    vendored = {path.name: path.read_bytes() for path in SDK_VENDOR.glob("*")}
    assert vendored == built, "run `npm run vendor` in clients/js and commit the result"
