"""Shared by the benchmark scripts: machine description and writing one section of
docs/benchmarks.md (between ``<!-- section: NAME -->`` and ``<!-- end: NAME -->``)."""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def machine() -> str:
    """One line: CPU model, cores, memory, Python, numpy, scipy, torch, threads."""
    import numpy
    import scipy

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        mem = float("nan")
    parts = [
        f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB",
        f"Python {sys.version.split()[0]}",
        f"numpy {numpy.__version__}",
        f"scipy {scipy.__version__}",
    ]
    try:
        import torch

        parts.append(f"torch {torch.__version__} ({torch.get_num_threads()} threads)")
    except ImportError:
        pass
    return "; ".join(parts)


def write_section(name: str, markdown: str) -> None:
    """Replace the named section of docs/benchmarks.md with ``markdown``."""
    text = DOC.read_text()
    begin, end = f"<!-- section: {name} -->", f"<!-- end: {name} -->"
    block = f"{begin}\n{markdown.strip()}\n{end}"
    if begin in text:
        text = re.sub(re.escape(begin) + r".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    tmp = DOC.with_suffix(".md.tmp")
    tmp.write_text(text)
    tmp.replace(DOC)


def arguments(doc: str, parts: tuple[str, ...] = ()) -> str | None:
    """A benchmark script's command line: ``--help`` prints ``doc`` (and runs nothing);
    with ``parts``, one optional part to run alone (None: the whole script).
    """
    parser = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    if parts:
        parser.add_argument("part", nargs="?", choices=parts, help="run only this part")
    return getattr(parser.parse_args(), "part", None)
