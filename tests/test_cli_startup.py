"""`ylg --help` and the light commands start fast: nothing heavy is imported before a
command that needs it runs (issue 12, item 15; goal: at most 0.3 s)."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

HEAVY = ("scipy", "networkx", "torch", "matplotlib", "PIL", "sklearn", "skimage", "tensorboard")

PROBE = """
import json, sys
from ylg.cli.main import main
try:
    main({args!r})
except SystemExit:
    pass
heavy = sorted({{m.split('.')[0] for m in sys.modules}} & set({heavy!r}))
print(json.dumps(heavy), file=sys.stderr)
"""


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["patterns", "list"],
        ["patterns", "show", "ltr", "--grid", "3x3"],
        ["verify", "--help"],
    ],
)
def test_light_commands_import_nothing_heavy(args: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(args=args, heavy=HEAVY)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    heavy = json.loads(done.stderr.strip().splitlines()[-1])
    assert heavy == [], f"ylg {' '.join(args)} imported {heavy}"


def test_help_starts_quickly() -> None:
    """Best of three: about 0.25 s on a quiet 2-core machine (0.7 s before the heavy
    imports moved into the commands); the bound leaves room for a loaded test machine,
    the import test above is the precise guard."""
    times = []
    for _ in range(3):
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "ylg", "--help"], capture_output=True)
        times.append(time.perf_counter() - start)
        assert done.returncode == 0
    assert min(times) < 3.0, times
