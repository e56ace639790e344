"""Run every benchmark script in this folder, one after the other (``make bench``).

Each script rewrites its own section of docs/benchmarks.md (or docs/experiments.md).
``gpu_check.py`` needs CUDA and runs on its own (``make gpu-check``).
Pass script names to run only some: ``python benchmarks/run_all.py patterns ifg``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    scripts = sorted(
        p
        for p in HERE.glob("*.py")
        if not p.name.startswith(("_", "gpu_")) and p.name != "run_all.py"
    )
    known = [p.stem for p in scripts]
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help=f"scripts to run (default: all): {known}")
    names = parser.parse_args().names
    unknown = sorted(set(names) - set(known))
    if unknown:
        parser.error(f"no benchmark named {', '.join(unknown)} (known: {', '.join(known)})")
    if names:
        scripts = [p for p in scripts if p.stem in names]
    failed = []
    for script in scripts:
        print(f"== {script.stem}", flush=True)
        if subprocess.run([sys.executable, str(script)], cwd=HERE).returncode != 0:
            failed.append(script.stem)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
