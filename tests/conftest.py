"""Test-wide settings: one torch thread per test process.

`make test` runs two pytest workers on two cores; with torch's default of one thread
per core in each worker the cores are oversubscribed and model tests run several times
slower.
"""

from __future__ import annotations

import os

import torch

if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)
