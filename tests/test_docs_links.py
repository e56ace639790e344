"""The docs say only what is there: no unreplaced placeholders, no dead local links.

Every markdown file in docs/ and the README is checked: each link or image that is not
a web address must name a file that exists, and its ``#anchor`` (if any) a heading of
that file (GitHub's anchors); text outside code must hold no placeholder left by a
generator (``BENCHMARK_SUMMARY``, ``{{ ... }}``, ``TODO``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])

LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s*\[[^\]]+\]:\s*(\S+)", re.MULTILINE)
PLACEHOLDER = re.compile(
    r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b|\{\{.*?\}\}|\bTODO\b|\bTBD\b|\bFIXME\b|\bXXX\b|<placeholder>"
)


def prose(text: str) -> str:
    """The text without fenced code blocks, inline code and HTML comments."""
    text = re.sub(r"^(```|~~~).*?^\1[^\n]*$", "", text, flags=re.MULTILINE | re.DOTALL)
    text = re.sub(r"<!--.*?-->", "", text, flags=re.DOTALL)
    return re.sub(r"(`+)(?:(?!\1).)+?\1", "", text)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip())  # links: their text
    text = text.lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    out: set[str] = set()
    seen: dict[str, int] = {}
    text = re.sub(r"^(```|~~~).*?^\1[^\n]*$", "", path.read_text(), flags=re.M | re.S)
    for match in re.finditer(r"^#{1,6}\s+(.+?)\s*#*\s*$", text, flags=re.MULTILINE):
        base = slug(match.group(1))
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    out |= set(re.findall(r"<a\s+(?:name|id)=\"([^\"]+)\"", text))
    return out


def local_targets(path: Path) -> list[str]:
    text = prose(path.read_text())
    targets = [m.group(1) for m in LINK.finditer(text)] + REFERENCE.findall(text)
    return [t for t in targets if not re.match(r"^[a-z][a-z0-9+.-]*:", t, flags=re.I)]


def test_the_slug_is_githubs() -> None:
    assert slug("Sparse attention (`benchmarks/attention.py`)") == (
        "sparse-attention-benchmarksattentionpy"
    )
    assert slug("1 thread(s)") == "1-threads"
    assert slug("Patterns: the language, the library") == "patterns-the-language-the-library"


def test_the_checks_catch_what_they_are_for(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# Title\n\nSee [here](other.md), [there](#nowhere), [ok](#title) and"
        " `[code](missing.md)`.\n\nBENCHMARK_SUMMARY\n\n```\nNOT_A_PLACEHOLDER\n```\n"
    )
    assert local_targets(page) == ["other.md", "#nowhere", "#title"]
    assert PLACEHOLDER.findall(prose(page.read_text())) == ["BENCHMARK_SUMMARY"]
    assert anchors(page) == {"title"}


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_placeholder_is_left(path: Path) -> None:
    found = PLACEHOLDER.findall(prose(path.read_text()))
    assert not found, f"{path.name}: unreplaced placeholder(s) {found}"


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_local_link_resolves(path: Path) -> None:
    dead = []
    for target in local_targets(path):
        file_part, _, anchor = target.partition("#")
        dest = path if not file_part else (path.parent / file_part).resolve()
        if not dest.exists():
            dead.append(f"{target} (no such file)")
            continue
        if anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            dead.append(f"{target} (no heading with that anchor in {dest.name})")
    assert not dead, f"{path.name}: dead link(s): {dead}"
