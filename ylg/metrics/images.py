"""Image sets to evaluate: folders of image files and arrays (``.npz``/``.npy``).

An :class:`ImageSet` hands out batches of float32 tensors in ``[-1, 1]``, shape
``[B, 3, H, W]``; images of different sizes go to different batches.

Arrays may be ``[N, H, W]`` (grey), ``[N, C, H, W]`` or ``[N, H, W, C]`` with ``C``
1 or 3 (channels first wins when both fit). ``uint8`` arrays hold 0..255; float
arrays must hold ``[-1, 1]``, the range generators produce. Folders are searched
recursively for PNG, JPEG (and BMP, GIF, WebP, TIFF) files, read with Pillow;
unreadable ones are skipped and counted in :attr:`ImageSet.skipped` (with the reason
for each in :attr:`ImageSet.skipped_files`). Every Pillow mode is read correctly
(16-bit and float images are scaled, not clipped; see :mod:`ylg.pixels`).

>>> import numpy as np
>>> images = ArrayImages(np.full((5, 8, 8, 3), 255, dtype=np.uint8))
>>> [tuple(b.shape) for b in images.batches(2)]
[(2, 3, 8, 8), (2, 3, 8, 8), (1, 3, 8, 8)]
>>> float(next(images.batches(1)).min())
1.0
"""

from __future__ import annotations

import copy
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ylg.errors import YlgError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
ARRAY_SUFFIXES = (".npz", ".npy")
#: Tolerance on the ``[-1, 1]`` range of float arrays (rounding of saved outputs).
RANGE_SLACK = 1e-3


def _uint8_to_unit(batch: np.ndarray) -> torch.Tensor:
    """uint8 ``[B, H, W, 3]`` -> float32 ``[B, 3, H, W]`` in ``[-1, 1]``."""
    return torch.from_numpy(batch).permute(0, 3, 1, 2).float() / 127.5 - 1.0


class ImageSet(ABC):
    """Images handed out in batches of float32 ``[B, 3, H, W]`` tensors in ``[-1, 1]``."""

    #: Image files that could not be read (counted while batching).
    skipped: int = 0
    #: ``(file, reason)`` for each of them (while batching), in the order met.
    skipped_files: list[tuple[Path, str]] = []  # noqa: RUF012 - replaced, never mutated

    def skipped_summary(self, most: int = 3) -> str:
        """The files skipped and why, in a few words ("" when none were).

        >>> ArrayImages(np.zeros((2, 4, 4), dtype=np.uint8)).skipped_summary()
        ''
        """
        if not self.skipped_files:
            return ""
        shown = "; ".join(f"{path.name}: {why}" for path, why in self.skipped_files[:most])
        more = len(self.skipped_files) - most
        return shown + (f"; and {more} more" if more > 0 else "")

    def drawn(self, seed: int) -> ImageSet:
        """The same images in an order shuffled with ``seed``, so that the first N of
        them are a random sample (a folder sorted by class would otherwise give the first
        classes only). Generated images are random already: they come back as they are.

        >>> images = ArrayImages(np.arange(5, dtype=np.uint8).reshape(5, 1, 1, 1))
        >>> [round(float(b[0, 0, 0, 0]) * 127.5 + 127.5) for b in images.drawn(0).batches(1)]
        [2, 4, 3, 0, 1]
        """
        return self

    @abstractmethod
    def __len__(self) -> int:
        """The number of images (for folders: of image files, readable or not)."""

    @abstractmethod
    def batches(self, batch_size: int) -> Iterator[torch.Tensor]:
        """Batches of at most ``batch_size`` images."""

    @abstractmethod
    def describe(self) -> str:
        """Where the images come from, in a few words."""


class ArrayImages(ImageSet):
    """Images held in one array (see the module docstring for the layouts)."""

    def __init__(self, array: np.ndarray, source: str = "array") -> None:
        array = np.asarray(array)
        if array.ndim == 3:
            array = array[:, None]
        if array.ndim != 4:
            raise YlgError(
                f"{source}: images must be [N, H, W], [N, C, H, W] or [N, H, W, C], "
                f"got shape {array.shape}"
            )
        if array.shape[1] not in (1, 3):
            if array.shape[3] not in (1, 3):
                raise YlgError(f"{source}: no channel axis of size 1 or 3 in shape {array.shape}")
            array = array.transpose(0, 3, 1, 2)
        if array.shape[0] == 0 or array.shape[2] == 0 or array.shape[3] == 0:
            raise YlgError(f"{source}: no images in an array of shape {array.shape}")
        if array.dtype != np.uint8 and not np.issubdtype(array.dtype, np.floating):
            raise YlgError(
                f"{source}: images must be uint8 (0..255) or floats in [-1, 1], "
                f"got dtype {array.dtype}"
            )
        if array.dtype != np.uint8:
            low, high = float(array.min()), float(array.max())
            if not (np.isfinite(low) and np.isfinite(high)):
                raise YlgError(f"{source}: images contain NaN or infinite values")
            if low < -1 - RANGE_SLACK or high > 1 + RANGE_SLACK:
                raise YlgError(
                    f"{source}: float images must lie in [-1, 1], found "
                    f"[{low:.4g}, {high:.4g}] (store 8-bit images as uint8)"
                )
            if low >= 0 and high > 0:
                raise YlgError(
                    f"{source}: float images all in [0, {high:.4g}] look like the "
                    "[0, 1] range; ylg expects [-1, 1] (save 2 * x - 1, or uint8)"
                )
        self.array = array
        self.source = source
        self.order: np.ndarray | None = None  # set by drawn(): the images' order

    def drawn(self, seed: int) -> ArrayImages:
        out = copy.copy(self)
        out.order = np.random.default_rng(seed).permutation(len(self))
        return out

    @classmethod
    def from_file(cls, path: str | Path) -> ArrayImages:
        """Images from a ``.npy`` file or an ``.npz`` file (its ``images`` array, or its
        only array)."""
        path = Path(path)
        try:
            if path.suffix.lower() == ".npy":
                array = np.load(path, mmap_mode="r", allow_pickle=False)
            else:
                with np.load(path, allow_pickle=False) as data:
                    names = list(data.files)
                    chosen = (
                        "images" if "images" in names else names[0] if len(names) == 1 else None
                    )
                    array = None if chosen is None else data[chosen]
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise YlgError(f"cannot read images from {path}: {exc}") from None
        if array is None:
            raise YlgError(f"{path}: no 'images' array among {', '.join(names) or 'none'}")
        return cls(array, source=str(path))

    def __len__(self) -> int:
        return int(self.array.shape[0])

    def batches(self, batch_size: int) -> Iterator[torch.Tensor]:
        for start in range(0, len(self), batch_size):
            if self.order is None:
                chunk = self.array[start : start + batch_size]
            else:
                chunk = self.array[self.order[start : start + batch_size]]
            if chunk.shape[1] == 1:
                chunk = np.repeat(chunk, 3, axis=1)
            if chunk.dtype == np.uint8:
                yield _uint8_to_unit(np.require(chunk.transpose(0, 2, 3, 1), None, ["C", "W"]))
            else:
                yield torch.from_numpy(np.require(chunk, np.float32, ["C", "W"])).clamp(-1, 1)

    def describe(self) -> str:
        n, _, h, w = self.array.shape
        return f"{self.source} ({n} images, {h}x{w})"


class FolderImages(ImageSet):
    """The image files under a folder, searched recursively, in sorted order (shuffled by
    :meth:`drawn`)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise YlgError(f"no folder at {self.folder}")
        self.files = sorted(
            p for p in self.folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
        )
        if not self.files:
            raise YlgError(f"no image files ({', '.join(IMAGE_SUFFIXES)}) under {self.folder}")
        self.skipped = 0
        self.skipped_files = []

    def drawn(self, seed: int) -> FolderImages:
        out = copy.copy(self)
        order = np.random.default_rng(seed).permutation(len(self.files))
        out.files = [self.files[i] for i in order]
        return out

    def __len__(self) -> int:
        return len(self.files)

    def _read(self, path: Path) -> np.ndarray | str:
        """The pixels (every Pillow mode read as :func:`ylg.pixels.rgb8` reads it),
        or why the file cannot be read."""
        from ylg.pixels import rgb8, unreadable

        try:
            with Image.open(path) as image:
                return rgb8(image)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
            return unreadable(exc, path)

    def batches(self, batch_size: int) -> Iterator[torch.Tensor]:
        self.skipped = 0
        self.skipped_files = []
        pending: dict[tuple[int, int], list[np.ndarray]] = {}
        for path in self.files:
            pixels = self._read(path)
            if isinstance(pixels, str):
                self.skipped += 1
                self.skipped_files.append((path, pixels))
                continue
            group = pending.setdefault(pixels.shape[:2], [])
            group.append(pixels)
            if len(group) == batch_size:
                yield _uint8_to_unit(np.stack(group))
                group.clear()
        for group in pending.values():
            if group:
                yield _uint8_to_unit(np.stack(group))

    def describe(self) -> str:
        return f"{self.folder} ({len(self.files)} image files)"


class SampledImages(ImageSet):
    """``count`` images drawn from ``sample(batch_size)``, e.g. a generator's output.

    ``sample`` must return float tensors ``[B, 3, H, W]`` in ``[-1, 1]``; values
    outside are clamped, as when saving images.

    >>> import torch
    >>> images = SampledImages(lambda b: torch.zeros(b, 3, 4, 4), 5, "zeros")
    >>> [b.shape[0] for b in images.batches(2)], images.describe()
    ([2, 2, 1], 'zeros (5 samples)')
    """

    def __init__(
        self, sample: Callable[[int], torch.Tensor], count: int, source: str = "samples"
    ) -> None:
        if count < 1:
            raise YlgError(f"need at least one sample, got {count}")
        self.sample = sample
        self.count = count
        self.source = source

    def __len__(self) -> int:
        return self.count

    def batches(self, batch_size: int) -> Iterator[torch.Tensor]:
        for start in range(0, self.count, batch_size):
            size = min(batch_size, self.count - start)
            with torch.no_grad():
                batch = self.sample(size)
            if batch.ndim != 4 or batch.shape[0] != size or batch.shape[1] != 3:
                raise YlgError(
                    f"{self.source}: asked for {size} images [B, 3, H, W], "
                    f"got shape {tuple(batch.shape)}"
                )
            yield batch.detach().float().clamp(-1.0, 1.0)

    def describe(self) -> str:
        return f"{self.source} ({self.count} samples)"


def open_images(path: str | Path) -> ImageSet:
    """A folder of images, or an ``.npz``/``.npy`` array of images.

    >>> open_images("missing.png")
    Traceback (most recent call last):
    ...
    ylg.errors.YlgError: missing.png: not a folder of images, nor an .npz or .npy file
    """
    path = Path(path)
    if path.is_dir():
        return FolderImages(path)
    if path.suffix.lower() in ARRAY_SUFFIXES and path.is_file():
        return ArrayImages.from_file(path)
    raise YlgError(f"{path}: not a folder of images, nor an .npz or .npy file")
