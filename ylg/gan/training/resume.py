"""The config a run trains with: a new run's, holding its attention pattern, or a resumed
run's, the checkpoint's own with only the runtime keys changed.

A resumed run may change what does not change the run's results
(:data:`RUNTIME_KEYS`: its length, device, logging, ...), in its ``config.toml`` or
with ``--config``, ``--preset`` and flags; any other change is refused, named, and so is
a change of its attention pattern's file.

>>> saved = TrainConfig(attention="none", iterations=10).to_dict()
>>> resumed_config(saved, None, {"iterations": 20}).iterations
20
>>> resumed_config(saved, None, {"lr_g": 1.0})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ylg.errors.YlgError: cannot change lr_g (0.0001 -> 1.0) when resuming; start a new run ...
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from ylg.errors import YlgError
from ylg.gan.models.slots import pattern_text, slot_pattern
from ylg.gan.run.config import TrainConfig, pattern_sha256
from ylg.gan.run.presets import load_config
from ylg.gan.training.data import data_folder

# Keys a resumed run may change; every other key must match the checkpoint's run.
RUNTIME_KEYS = frozenset(
    {
        "iterations",
        "device",
        "precision",
        "compile",
        "channels_last",
        "num_workers",
        "log_every",
        "sample_every",
        "checkpoint_every",
        "keep_checkpoints",
        "tensorboard",
        "sample_count",
        "eval_every",
        "eval_count",
        "notes",
        "verify_attention",
    }
)


def with_pattern(cfg: TrainConfig) -> TrainConfig:
    """The config holding its attention pattern: the TOML text of the pattern file or
    library pattern it names, and that text's SHA-256 (read now, never again).

    >>> with_pattern(TrainConfig(attention="axial")).attention_pattern.splitlines()[0]
    'name = "axial"'
    """
    text = cfg.attention_pattern or pattern_text(cfg.attention)
    if not text:
        return cfg
    return cfg.replace(attention_pattern=text, attention_sha256=pattern_sha256(text))


def _run_file_config(run_dir: Path, base: TrainConfig) -> TrainConfig:
    """The run's ``config.toml`` as the user left it: the checkpoint's config with the
    runtime keys edited there applied; an edit of any other key is refused, named."""
    path = run_dir / "config.toml"
    if not path.is_file():
        return base
    try:
        edited = load_config(path)
    except YlgError as exc:
        raise YlgError(
            f"{exc} (the run's config.toml: fix it, or delete it to resume with the "
            "checkpoint's config)"
        ) from None
    changed, fixed = _run_changes(base, _same_pattern(base, edited))
    if fixed:
        raise YlgError(
            f"{path} was edited: {_describe_changes(base, changed, fixed)} cannot change when "
            "resuming; undo the edit, or start a new run (--out) with this config"
        )
    return base.replace(**{k: v for k, v in changed.items() if k in RUNTIME_KEYS})


def _run_changes(base: TrainConfig, other: TrainConfig) -> tuple[dict[str, Any], list[str]]:
    """The keys ``other`` changes from ``base`` (with their new values), and those of
    them that would make it another run (all but the runtime keys and the name)."""
    changed = {k: v for k, v in other.to_dict().items() if v != getattr(base, k)}
    if "data" in changed and data_folder(base.data) == data_folder(other.data) is not None:
        del changed["data"]  # the same folder, named from another working folder
    return changed, sorted(set(changed) - RUNTIME_KEYS - {"name"})


def _describe_changes(base: TrainConfig, changed: dict[str, Any], keys: list[str]) -> str:
    def show(value: Any) -> str:
        text = repr(value)
        return text if len(text) <= 40 else text[:37] + "..."

    return ", ".join(f"{k} ({show(getattr(base, k))} -> {show(changed[k])})" for k in keys)


#: The parts of a pattern that shape its masks (the rest is description).
PATTERN_FIELDS = ("steps", "order", "stride", "nonsquare")


def _same_pattern(base: TrainConfig, wanted: TrainConfig) -> TrainConfig:
    """``wanted`` with the run's own pattern, when it names the run's pattern again.

    A named pattern is read again (its file, if it is still there) and compared with the
    run's copy: a change in what shapes the masks is refused, naming what changed;
    anything else (comments, description, a missing file) keeps the run's copy.
    """
    if wanted.attention != base.attention or not base.attention_pattern:
        return wanted
    if wanted.attention_pattern == base.attention_pattern:
        return wanted
    if not wanted.attention_pattern:
        try:
            text = pattern_text(wanted.attention)
        except YlgError:  # the file is gone or unreadable: the run has its own copy
            text = ""
    else:
        text = wanted.attention_pattern
    keep = {"attention_pattern": base.attention_pattern, "attention_sha256": base.attention_sha256}
    if not text or text == base.attention_pattern:
        return wanted.replace(**keep)
    old = slot_pattern(base.attention, base.attention_pattern)
    new = slot_pattern(wanted.attention, text)
    diffs = []
    for key in PATTERN_FIELDS:
        a, b = getattr(old, key), getattr(new, key)
        if key == "steps" and a != b:
            for i in range(max(len(a), len(b))):
                sa = a[i] if i < len(a) else "(none)"
                sb = b[i] if i < len(b) else "(none)"
                if sa != sb:
                    diffs.append(f"step {i + 1}: {sa!r} -> {sb!r}")
        elif a != b:
            diffs.append(f"{key}: {a!r} -> {b!r}")
    if diffs:
        raise YlgError(
            f"the pattern {base.attention} has changed since the run started "
            f"({'; '.join(diffs)}); the run keeps its own copy (sha256 "
            f"{base.attention_sha256[:12]}...): resume without naming the attention, or "
            "start a new run (--out)"
        )
    return wanted.replace(**keep)


def resumed_config(
    saved: dict[str, Any],
    cfg: TrainConfig | None,
    overrides: dict[str, Any],
    run_dir: Path | None = None,
) -> TrainConfig:
    """The checkpoint's config with the runtime keys the user changed: in the run's
    ``config.toml``, then in ``cfg`` (a --config or --preset) and the flags."""
    base = TrainConfig.from_dict(saved)
    if not base.attention_pattern:  # a run from before runs held their pattern
        with contextlib.suppress(YlgError):  # else building the models says what is missing
            base = with_pattern(base)
    start = _run_file_config(run_dir, base) if run_dir is not None else base
    wanted = _same_pattern(base, (cfg or start).replace(**overrides))
    changed, fixed = _run_changes(base, wanted)
    if fixed:
        detail = _describe_changes(base, changed, fixed)
        raise YlgError(f"cannot change {detail} when resuming; start a new run (--out) instead")
    return base.replace(**{k: v for k, v in changed.items() if k in RUNTIME_KEYS})


def _events_only(path: Path) -> bool:
    """Whether ``path`` is a run's ``tb/`` folder holding TensorBoard event files only
    (what a start that failed before its first step leaves beside its config.toml)."""
    return (
        path.name == "tb"
        and path.is_dir()
        and all(f.is_file() and f.name.startswith("events.out.tfevents.") for f in path.iterdir())
    )


def _check_no_foreign_files(run_dir: Path) -> None:
    """Refuse a folder that holds files but no run: a run writes ``log.jsonl``,
    ``curves.png``, ``samples/`` and more there, which would replace the user's own."""
    if not run_dir.is_dir():
        return
    found = sorted(
        p.name for p in run_dir.iterdir() if not p.name.startswith(".") and not _events_only(p)
    )
    if found:
        shown = ", ".join(found[:3]) + (f" and {len(found) - 3} more" if len(found) > 3 else "")
        raise YlgError(
            f"{run_dir} is not empty ({shown}) and holds no run (no config.toml): a run"
            " would write over files there; choose a new or empty --out"
        )


def unstarted_config(
    run_dir: Path, cfg: TrainConfig | None, overrides: dict[str, Any], resume: bool
) -> TrainConfig:
    """The config of a run folder without a checkpoint yet. A ``config.toml`` left there
    by a run stopped before its first checkpoint is that run's: ``resume`` starts it
    again (the runtime keys may change, as on any resume); without ``resume`` a config
    that differs from it in any other key is refused, so a run's settings are never
    replaced by another's.
    """
    path = run_dir / "config.toml"
    kept: TrainConfig | None = None
    if not path.is_file():
        _check_no_foreign_files(run_dir)
    else:
        try:
            kept = with_pattern(load_config(path))
        except YlgError as exc:
            if resume:
                raise YlgError(f"{exc} (the run's config.toml: fix it, or delete it)") from None
            raise YlgError(
                f"{path} is not a run's config ({exc}); a new run would write over it: choose"
                " a new or empty --out"
            ) from None
    if resume and kept is not None:
        return resumed_config(kept.to_dict(), cfg, overrides)
    if cfg is None:
        raise YlgError(f"nothing to resume in {run_dir}; give --preset or --config")
    wanted = with_pattern(cfg.replace(**overrides))
    if kept is not None:
        changed, fixed = _run_changes(kept, _same_pattern(kept, wanted))
        if fixed:
            raise YlgError(
                f"{path} holds another run's config, stopped before its first checkpoint"
                f" ({_describe_changes(kept, changed, fixed)}); pass --resume to start that"
                " run again, delete that config.toml to start this one there, or choose"
                " another --out"
            )
    return wanted
