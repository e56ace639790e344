"""Run every benchmark script in this folder, one after the other (``make bench``).

Each script rewrites its own section of docs/benchmarks.md (or docs/experiments.md).
``gpu_check.py`` needs CUDA and runs on its own (``make gpu-check``).
Pass script names to run only some: ``python benchmarks/run_all.py patterns ifg``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(names: list[str]) -> int:
    scripts = sorted(
        p
        for p in HERE.glob("*.py")
        if not p.name.startswith(("_", "gpu_")) and p.name != "run_all.py"
    )
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
    sys.exit(main(sys.argv[1:]))
