"""Train SAGAN or YLG-SAGAN: hinge loss, two learning rates, EMA, checkpoints, many devices.

One optimiser step of G follows ``d_steps`` steps of D; each step sums the gradients
of ``accumulate`` micro-batches. Randomness comes from seeded generators saved in every
checkpoint, and the data order is a function of the step, so a run that is killed and
resumed computes the same losses as one that never stopped (on the CPU, bit for bit).

>>> import tempfile
>>> cfg = TrainConfig(data="digits", attention="none", g_channels=8, d_channels=8, z_dim=8,
...                   batch_size=4, iterations=2, tensorboard=False, sample_count=4)
>>> result = train(cfg, tempfile.mkdtemp(), progress=False)
>>> result.step, sorted(result.losses)
(2, ['loss_d', 'loss_d_fake', 'loss_d_real', 'loss_g'])
"""

from __future__ import annotations

import hashlib
import itertools
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ylg import __version__
from ylg.errors import YlgError
from ylg.fileio import write_atomic
from ylg.gan.models import attention_layers
from ylg.gan.models.slots import build_models
from ylg.gan.run.checkpoint import (
    CHECKPOINT_FORMAT,
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    prune_checkpoints,
    save_checkpoint,
    weights_digest,
)
from ylg.gan.run.config import TrainConfig, config_toml
from ylg.gan.run.curves import plot_curves
from ylg.gan.run.monitor import JsonlLog, TensorBoard
from ylg.gan.sampling.grids import class_rows, image_grid, save_png
from ylg.gan.sampling.latents import latents
from ylg.gan.training.data import batches, data_folder, load_dataset
from ylg.gan.training.ema import EMA
from ylg.gan.training.quality import QualityJudge
from ylg.gan.training.resume import resumed_config, unstarted_config
from ylg.gan.training.runtime import Runtime
from ylg.progress import progress


def hinge_d(real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The discriminator's hinge losses on real and generated logits."""
    return F.relu(1.0 - real).mean(), F.relu(1.0 + fake).mean()


def hinge_g(fake: torch.Tensor) -> torch.Tensor:
    """The generator's hinge loss."""
    return -fake.mean()


def mode_seeking_loss(images: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """MSGAN's mode-seeking term (Mao et al., CVPR 2019) on pairs ``(j, j + B // 2)``:
    ``1 / (mean |image_a - image_b| / mean |z_a - z_b| + 1e-5)``, small when two latents
    give images as far apart as the latents are.

    >>> z = torch.randn(4, 8)
    >>> same = mode_seeking_loss(torch.zeros(4, 3, 2, 2), z)      # one image for all z
    >>> varied = mode_seeking_loss(torch.randn(4, 3, 2, 2), z)
    >>> bool(same > 1000 > 10 > varied)
    True
    """
    half = len(images) // 2
    a, b = images[:half], images[half : 2 * half]
    ratio = (a - b).abs().flatten(1).mean(1) / (z[:half] - z[half : 2 * half]).abs().mean(1)
    return 1.0 / (ratio.mean() + 1e-5)


@dataclass
class TrainResult:
    """What a finished run leaves: its folder, last step, losses, checkpoint, sample grid."""

    run_dir: Path
    step: int
    losses: dict[str, float]
    checkpoint: Path | None
    samples: Path | None
    skipped_images: int
    digest: str = ""
    resumed_from: Path | None = None
    rank: int = 0
    quality: dict[str, float] = field(default_factory=dict)  # the last eval_every measurement


class Trainer:
    """One run in one process (one of many under torchrun)."""

    def __init__(
        self,
        cfg: TrainConfig | None,
        run_dir: str | Path,
        resume: bool = False,
        progress: bool = True,
        overrides: dict[str, Any] | None = None,
    ) -> None:
        self.run_dir = Path(run_dir)
        self.progress = progress
        self.resumed_from: Path | None = None
        overrides = overrides or {}
        state = self._resume_state() if resume else None
        if state is not None:
            cfg = resumed_config(state["config"], cfg, overrides, self.run_dir)
            if int(state["step"]) > cfg.iterations:
                raise YlgError(
                    f"{self.run_dir} is at step {state['step']}, past iterations"
                    f" {cfg.iterations}: give --iterations above {state['step']} to train on"
                )
        elif latest_checkpoint(self.run_dir) is not None:
            raise YlgError(
                f"{self.run_dir} already holds checkpoints: pass --resume to continue that run, "
                "or choose another --out"
            )
        else:
            cfg = unstarted_config(self.run_dir, cfg, overrides, resume)
            folder = data_folder(cfg.data)
            if folder is not None:  # recorded whole: the run resumes from any folder
                cfg = cfg.replace(data=str(folder))
        self.cfg = cfg
        self.rt = Runtime.create(cfg.device, cfg.precision)
        self.micro = cfg.micro_batch(self.rt.world)
        self.data = load_dataset(cfg.data, cfg.resolution)
        self.num_classes = (
            self.data.num_classes if (cfg.conditional and self.data.num_classes > 1) else 0
        )
        torch.manual_seed(cfg.seed)
        self.g, self.d = build_models(cfg, self.num_classes)
        self.ema = EMA(self.g, cfg.ema_decay, cfg.ema_start)
        self.judge: QualityJudge | None = None
        self.noise = torch.Generator().manual_seed(cfg.seed * 1_000_003 + 7919 * self.rt.rank + 1)
        self.step = 0
        self.skipped: set[int] = set()
        if state is not None:
            self._load_models(state)
        for model in (self.g, self.d, self.ema.model):
            model.to(self.rt.device)
            if cfg.channels_last:
                model.to(memory_format=torch.channels_last)
        self.opt_g = torch.optim.Adam(self.g.parameters(), lr=cfg.lr_g, betas=cfg.betas)
        self.opt_d = torch.optim.Adam(self.d.parameters(), lr=cfg.lr_d, betas=cfg.betas)
        if state is not None:
            self._load_training_state(state)
        self.g_train, self.d_train = self._wrap(self.g), self._wrap(self.d)

    # -- setup -------------------------------------------------------------------------
    def _resume_state(self) -> dict[str, Any] | None:
        path = latest_checkpoint(self.run_dir)
        if path is None:
            return None
        try:
            state = load_checkpoint(path)
            if state.get("format") != CHECKPOINT_FORMAT:
                raise YlgError(f"{path} is not a ylg training checkpoint; not loaded")
        except YlgError as exc:
            earlier = list_checkpoints(self.run_dir)[:-1]
            if not earlier:
                raise
            step, before = earlier[-1]
            raise YlgError(
                f"{exc}; move it away to resume from the checkpoint before it, {before.name}"
                f" (step {step})"
            ) from None
        self.resumed_from = path
        return state

    def _load_models(self, state: dict[str, Any]) -> None:
        self.g.load_state_dict(state["G"])
        self.d.load_state_dict(state["D"])
        self.ema.model.load_state_dict(state["G_ema"])
        self.step = int(state["step"])
        self.skipped = set(state.get("skipped_images", []))

    def _load_training_state(self, state: dict[str, Any]) -> None:
        self.opt_g.load_state_dict(state["opt_G"])
        self.opt_d.load_state_dict(state["opt_D"])
        ranks = state["rng"]
        if len(ranks) != self.rt.world:
            raise YlgError(
                f"the checkpoint was written by {len(ranks)} process(es); resume it with the "
                f"same number (this run has {self.rt.world})"
            )
        mine = ranks[self.rt.rank]
        self.noise.set_state(mine["noise"])
        torch.set_rng_state(mine["torch"])
        self.rt.set_rng_state(mine["device"])

    def _wrap(self, model: nn.Module) -> nn.Module:
        """The module a training step calls: DDP over many processes (NCCL on CUDA,
        gloo on the CPU: the same code), then ``torch.compile`` when asked. Checkpoints
        always hold the plain modules' weights, so they load anywhere."""
        wrapped: nn.Module = model
        if self.rt.world > 1:
            ids = [self.rt.device.index] if self.rt.kind == "cuda" else None
            wrapped = DistributedDataParallel(model, device_ids=ids)
        if self.cfg.compile:
            # Static shapes: one graph per batch shape (a few), never a symbolic one.
            wrapped = torch.compile(wrapped, dynamic=False)  # type: ignore[assignment]
        return wrapped

    # -- one step ----------------------------------------------------------------------
    def _fake_inputs(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        z = latents(self.micro, self.cfg.z_dim, self.noise).to(self.rt.device)
        if not self.num_classes:
            return z, None
        y = torch.randint(self.num_classes, (self.micro,), generator=self.noise)
        return z, y.to(self.rt.device)

    def _sync_context(self, model: nn.Module, last: bool) -> Any:
        if isinstance(model, DistributedDataParallel) and not last:
            return model.no_sync()
        return nullcontext()

    def _d_step(self, stream: Any) -> dict[str, torch.Tensor]:
        self.opt_d.zero_grad(set_to_none=True)
        total_real = total_fake = torch.zeros((), device=self.rt.device)
        acc = self.cfg.accumulate
        for i in range(acc):
            images, labels, skipped = next(stream)
            self.skipped.update(skipped)
            x = images.to(self.rt.device).float() / 127.5 - 1.0
            if self.cfg.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            y = labels.to(self.rt.device) if self.num_classes else None
            z, yf = self._fake_inputs()
            with self._sync_context(self.d_train, i == acc - 1), self.rt.autocast():
                with torch.no_grad():
                    fake = self.g_train(z, yf)
                both_y = torch.cat([y, yf]) if self.num_classes else None
                logits = self.d_train(torch.cat([x, fake.to(x.dtype)]), both_y).float()
                real_loss, fake_loss = hinge_d(logits[: self.micro], logits[self.micro :])
                ((real_loss + fake_loss) / acc).backward()
            total_real = total_real + real_loss.detach() / acc
            total_fake = total_fake + fake_loss.detach() / acc
        self.rt.step(self.opt_d)
        return {"loss_d_real": total_real, "loss_d_fake": total_fake}

    def _g_step(self) -> torch.Tensor:
        self.opt_g.zero_grad(set_to_none=True)
        self.d.requires_grad_(False)
        total = torch.zeros((), device=self.rt.device)
        acc = self.cfg.accumulate
        seeking = self.cfg.mode_seeking > 0 and self.micro >= 2
        for i in range(acc):
            z, yf = self._fake_inputs()
            if seeking and yf is not None:  # pairs (j, j + half) share their class
                half = self.micro // 2
                yf = torch.cat([yf[:half], yf[:half], yf[2 * half :]])
            with self._sync_context(self.g_train, i == acc - 1), self.rt.autocast():
                fake = self.g_train(z, yf)
                loss = hinge_g(self.d(fake, yf).float())
                if seeking:
                    loss = loss + self.cfg.mode_seeking * mode_seeking_loss(fake.float(), z)
                (loss / acc).backward()
            total = total + loss.detach() / acc
        self.d.requires_grad_(True)
        self.rt.step(self.opt_g)
        return total

    # -- outputs -----------------------------------------------------------------------
    def _gammas(self) -> dict[str, float]:
        out = {}
        for tag, model in (("G", self.g), ("D", self.d)):
            for name, layer in attention_layers(model).items():
                out[f"gamma/{tag}.{name}"] = float(layer.gamma.detach().float().cpu())
        return out

    def _sample_inputs(self) -> tuple[torch.Tensor, torch.Tensor | None, int | None]:
        """Fixed latents for the sample grids; a conditional model gets one row per class."""
        y, columns = None, None
        count = self.cfg.sample_count
        if self.num_classes:
            y, columns = class_rows(self.num_classes, count)
            count = len(y)
        gen = torch.Generator().manual_seed(self.cfg.seed + 2020)
        return latents(count, self.cfg.z_dim, gen), y, columns

    @torch.no_grad()
    def _generate(self, z: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        """Images of the EMA generator, on the CPU, computed in micro-batches."""
        images = []
        for i in range(0, len(z), self.micro):
            yi = y[i : i + self.micro].to(self.rt.device) if y is not None else None
            images.append(self.ema.model(z[i : i + self.micro].to(self.rt.device), yi).cpu())
        return torch.cat(images)

    def evaluate(self) -> dict[str, float]:
        """The EMA generator's quality now (:mod:`ylg.gan.training.quality`): ``kid`` against real
        training images, ``diversity`` (variety within each class) when the data has
        classes and, for digits, ``digits_recognised``, on ``eval_count`` samples at
        default truncation, classes cycling."""
        if self.judge is None:
            self.judge = QualityJudge.for_data(self.data, self.cfg.data, self.cfg.eval_count)
        gen = torch.Generator().manual_seed(self.cfg.seed + 4040)
        z = latents(self.cfg.eval_count, self.cfg.z_dim, gen)
        y = torch.arange(self.cfg.eval_count) % self.num_classes if self.num_classes else None
        return self.judge.score(self._generate(z, y), y)

    @torch.no_grad()
    def write_samples(self, tb: TensorBoard | None) -> Path:
        """A grid from the EMA generator on fixed latents, as ``samples/step-N.png``."""
        z, y, columns = self._sample_inputs()
        grid = image_grid(self._generate(z, y), columns)
        folder = self.run_dir / "samples"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"step-{self.step:08d}.png"
        save_png(path, grid)
        if tb is not None:
            tb.image(self.step, "samples", grid)
        return path

    def checkpoint_state(self) -> dict[str, Any]:
        """Everything a resumed run needs (collective: every process must call it)."""
        rng = {
            "noise": self.noise.get_state(),
            "torch": torch.get_rng_state(),
            "device": self.rt.rng_state(),
        }
        ranks = self.rt.gather(rng)
        skipped = set().union(*self.rt.gather(sorted(self.skipped)))
        return {
            "format": CHECKPOINT_FORMAT,
            "ylg_version": __version__,
            "step": self.step,
            "config": self.cfg.to_dict(),
            "num_classes": self.num_classes,
            "classes": list(self.data.classes),
            "G": self.g.state_dict(),
            "D": self.d.state_dict(),
            "G_ema": self.ema.model.state_dict(),
            "opt_G": self.opt_g.state_dict(),
            "opt_D": self.opt_d.state_dict(),
            "rng": ranks,
            "skipped_images": sorted(skipped),
        }

    def _checkpoint(self) -> Path | None:
        self.rt.sync()
        state = self.checkpoint_state()
        path = None
        if self.rt.main:
            path = save_checkpoint(self.run_dir, self.step, state)
            prune_checkpoints(self.run_dir, self.cfg.keep_checkpoints)
        self.rt.barrier()
        return path

    def _check_finite(self, d_losses: dict[str, torch.Tensor], g_loss: torch.Tensor) -> None:
        """Stop a diverged run before it logs or checkpoints non-finite values
        (collective: every process calls it at the same steps)."""
        named = {**d_losses, "loss_g": g_loss}
        values = torch.stack([v.detach().float().reshape(()) for v in named.values()])
        finite = torch.isfinite(values)
        if float(self.rt.mean(finite.all().float())) == 1.0:
            return
        bad = [k for k, ok in zip(named, finite.tolist(), strict=True) if not ok] or ["a loss"]
        last = latest_checkpoint(self.run_dir)
        kept = f"the last checkpoint, {last}, is untouched" if last else "no checkpoint was written"
        raise YlgError(
            f"training diverged at step {self.step}: {', '.join(bad)} became non-finite "
            f"(lr_g {self.cfg.lr_g:g}, lr_d {self.cfg.lr_d:g}); {kept}; try lower learning rates"
        )

    # -- the loop ----------------------------------------------------------------------
    def run(self) -> TrainResult:
        """Train to ``cfg.iterations``; checkpoint every ``checkpoint_every`` steps and at
        the end."""
        cfg, rt = self.cfg, self.rt
        start_batch = self.step * cfg.d_steps * cfg.accumulate
        loader = batches(
            self.data, self.micro, cfg.seed, rt.rank, rt.world, start_batch, cfg.num_workers
        )
        stream = iter(loader)
        if rt.kind == "xla":
            import torch_xla.distributed.parallel_loader as pl

            stream = iter(pl.MpDeviceLoader(loader, rt.device))
        if self.step < cfg.iterations:
            # The first batch before the run folder is touched: data that cannot be read
            # fails here, and leaves no config.toml that a corrected --data would meet
            # as another run's.
            stream = itertools.chain([next(stream)], stream)
        log = tb = None
        if rt.main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            write_atomic(self.run_dir / "config.toml", config_toml(cfg).encode())
            log = JsonlLog(self.run_dir / "log.jsonl")
            log.truncate_after(self.step)
            if cfg.tensorboard:
                tb = TensorBoard(self.run_dir, purge_step=self.step + 1 if self.step else None)
        bar = progress(
            total=cfg.iterations,
            initial=self.step,
            disable=not (self.progress and rt.main),
            desc=f"train {cfg.name}",
            unit="step",
            dynamic_ncols=True,
        )
        losses: dict[str, float] = {}
        quality: dict[str, float] = {}
        ckpt_path = sample_path = None
        last_time, last_step = time.perf_counter(), self.step
        self.g.train()
        self.d.train()
        try:
            while self.step < cfg.iterations:
                for _ in range(cfg.d_steps):
                    d_losses = self._d_step(stream)
                g_loss = self._g_step()
                self.step += 1
                self.ema.update(self.g, self.step)
                rt.sync()
                bar.update(1)
                if self.step == cfg.iterations or 0 in (
                    self.step % cfg.log_every,
                    self.step % cfg.checkpoint_every,
                ):
                    self._check_finite(d_losses, g_loss)
                measured: dict[str, float] = {}
                if (
                    rt.main
                    and cfg.eval_every
                    and (self.step % cfg.eval_every == 0 or self.step == cfg.iterations)
                ):
                    started = time.perf_counter()
                    quality = measured = self.evaluate()
                    last_time += time.perf_counter() - started  # step_time leaves it out
                if self.step % cfg.log_every == 0 or self.step == cfg.iterations:
                    values = {k: float(rt.mean(v)) for k, v in d_losses.items()}
                    values["loss_d"] = values["loss_d_real"] + values["loss_d_fake"]
                    values["loss_g"] = float(rt.mean(g_loss))
                    losses = {k: values[k] for k in sorted(values)}
                    now = time.perf_counter()
                    values["step_time"] = (now - last_time) / max(1, self.step - last_step)
                    last_time, last_step = now, self.step
                    values.update(self._gammas())
                    values["images_skipped"] = len(self.skipped)
                    values.update(measured)
                    measured = {}
                    if rt.main:
                        log.write(self.step, values)
                        if tb is not None:
                            tb.scalars(self.step, values)
                        # no refresh of its own: the bar's interval decides (a log gets a
                        # line every 30 s, not one per logged step)
                        bar.set_postfix(
                            d=f"{values['loss_d']:.3f}", g=f"{values['loss_g']:.3f}", refresh=False
                        )
                if measured:  # measured at a step that logs nothing else
                    log.write(self.step, measured)
                    if tb is not None:
                        tb.scalars(self.step, measured)
                if rt.main and (self.step % cfg.sample_every == 0 or self.step == cfg.iterations):
                    sample_path = self.write_samples(tb)
                if self.step % cfg.checkpoint_every == 0 or self.step == cfg.iterations:
                    ckpt_path = self._checkpoint()
            digest = self._agreed_digest()
        finally:
            bar.close()
            if tb is not None:
                tb.close()
        if rt.main:
            plot_curves(self.run_dir / "log.jsonl", self.run_dir / "curves.png")
        if ckpt_path is None and rt.main:
            ckpt_path = latest_checkpoint(self.run_dir)
        return TrainResult(
            self.run_dir,
            self.step,
            losses,
            ckpt_path,
            sample_path,
            len(self.skipped),
            digest,
            self.resumed_from,
            rt.rank,
            quality,
        )

    def _agreed_digest(self) -> str:
        """The digest of G and D; with many processes, check they all hold the same weights."""
        self.rt.sync()
        digest = weights_digest(self.g) + weights_digest(self.d)
        digest = hashlib.sha256(digest.encode()).hexdigest()
        everyone = self.rt.gather(digest)
        if len(set(everyone)) != 1:
            raise RuntimeError(f"processes disagree on the weights: {everyone}")
        return digest

    def close(self) -> None:
        self.rt.close()


def train(
    cfg: TrainConfig | None,
    run_dir: str | Path,
    resume: bool = False,
    progress: bool = True,
    overrides: dict[str, Any] | None = None,
) -> TrainResult:
    """Train one run (in this process) and return what it wrote.

    ``resume`` continues the latest checkpoint in ``run_dir`` (its config, with the
    runtime keys of ``cfg``/``overrides`` changed), or starts ``cfg`` if there is none.
    """
    trainer = Trainer(cfg, run_dir, resume=resume, progress=progress, overrides=overrides)
    try:
        return trainer.run()
    finally:
        trainer.close()
