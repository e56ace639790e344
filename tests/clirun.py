"""Run the ``ylg`` command line in this process, through its real entry point, so exit
codes and one-line errors are what a shell sees."""

from __future__ import annotations

import pytest

from ylg.cli.main import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``ylg ARGS``: the exit code, stdout and stderr."""
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out, out.err
