"""Where training runs: CPU, CUDA, XLA (TPU through torch_xla), one process or many.

Many processes come from torch's launcher (``torchrun --nproc_per_node N -m ylg train``):
its environment variables (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``) turn on
``torch.distributed`` with NCCL on CUDA and gloo on the CPU.

>>> rt = Runtime.create("cpu", "auto")
>>> rt.device.type, rt.world, rt.rank, rt.autocast_dtype
('cpu', 1, 0, None)
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist

from ylg.devices import xla_available
from ylg.errors import YlgError


def resolve_device(name: str) -> str:
    """``auto`` -> xla (torch_xla installed and ``PJRT_DEVICE`` set), cuda, or cpu."""
    if name == "auto":
        if xla_available() and os.environ.get("PJRT_DEVICE"):
            return "xla"
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise YlgError("--device cuda: no CUDA device is visible to torch")
    if name == "xla" and not xla_available():
        raise YlgError(
            "--device xla needs torch_xla (pip install torch_xla, matching your torch; "
            "see docs/training.md)"
        )
    return name


@dataclass
class Runtime:
    """The device, the process's place in the job, and the mixed-precision choice."""

    kind: str  # cpu | cuda | xla
    device: torch.device
    rank: int
    world: int
    autocast_dtype: torch.dtype | None

    @classmethod
    def create(cls, device: str, precision: str) -> Runtime:
        """Pick the device, join the process group if launched by torchrun."""
        kind = resolve_device(device)
        world = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", "0"))
        if world > 1 and kind == "xla":
            raise YlgError(
                "--device xla runs one process on one device; multi-process XLA is not "
                "supported yet (see docs/training.md)"
            )
        if kind == "cuda":
            torch.cuda.set_device(local)
            dev = torch.device("cuda", local)
        elif kind == "xla":
            import torch_xla

            dev = torch_xla.device()
        else:
            dev = torch.device("cpu")
        if world > 1 and not dist.is_initialized():
            backend = "nccl" if kind == "cuda" else "gloo"
            dist.init_process_group(backend, timeout=timedelta(minutes=30))
        return cls(kind, dev, rank, world, _autocast_dtype(kind, precision))

    @property
    def main(self) -> bool:
        """The process that writes files and shows progress."""
        return self.rank == 0

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        """bf16 autocast when chosen, else nothing."""
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.kind, dtype=self.autocast_dtype)

    def step(self, optimizer: torch.optim.Optimizer) -> None:
        """One optimiser step; on XLA also cut and run the lazy graph."""
        optimizer.step()
        self.sync()

    def sync(self) -> None:
        """Run pending device work (XLA's lazy graph); a no-op elsewhere."""
        if self.kind == "xla":
            import torch_xla

            torch_xla.sync()

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()

    def mean(self, value: torch.Tensor) -> torch.Tensor:
        """The mean of a scalar over all processes."""
        if self.world > 1:
            value = value.detach().clone()
            dist.all_reduce(value)
            value /= self.world
        return value

    def gather(self, obj: Any) -> list[Any]:
        """One picklable object from every process, in rank order."""
        if self.world == 1:
            return [obj]
        out: list[Any] = [None] * self.world
        dist.all_gather_object(out, obj)
        return out

    def rng_state(self) -> dict[str, Any]:
        """The device's random state (the CPU's is saved separately)."""
        if self.kind == "cuda":
            return {"cuda": torch.cuda.get_rng_state(self.device)}
        if self.kind == "xla":
            import torch_xla.core.xla_model as xm

            return {"xla": xm.get_rng_state()}
        return {}

    def set_rng_state(self, state: dict[str, Any]) -> None:
        if "cuda" in state and self.kind == "cuda":
            torch.cuda.set_rng_state(state["cuda"], self.device)
        if "xla" in state and self.kind == "xla":
            import torch_xla.core.xla_model as xm

            xm.set_rng_state(state["xla"])

    def close(self) -> None:
        if self.world > 1 and dist.is_initialized():
            dist.destroy_process_group()


def _autocast_dtype(kind: str, precision: str) -> torch.dtype | None:
    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if kind == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    if kind == "xla" and os.environ.get("PJRT_DEVICE", "").upper() == "TPU":
        return torch.bfloat16
    return None
