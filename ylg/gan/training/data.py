"""Training images: a folder, or one of two bundled data sets that need no download.

- a folder: one subfolder per class (ImageNet's layout), or images directly inside it
  (unconditional). Each image is resized and centre-cropped to the resolution when it
  is read. Unreadable or corrupt files are skipped and counted, never fatal.
- ``digits``: scikit-learn's 1797 handwritten digits (8x8), upsampled, 10 classes.
- ``photos``: random crops of the photos scikit-image, scikit-learn and matplotlib ship,
  one class per photo (the same crops every time).

Items are ``(uint8 image [3, R, R], label, skipped file indices)``; the batches of a
run come from :func:`batches`, a pure function of (seed, rank, batch number), so a
resumed run reads exactly the images the uninterrupted one would have.

>>> data = load_dataset("digits", 32)
>>> len(data), data.num_classes, data[0][0].shape
(1797, 10, torch.Size([3, 32, 32]))
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, Sampler

from ylg.errors import YlgError
from ylg.pixels import read_image

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm"}
BUNDLED = ("digits", "photos")
PHOTO_CROPS = 200  # crops per photo in the photos data set

Item = tuple[torch.Tensor, int, tuple[int, ...]]


class TensorImages(Dataset):
    """Images already in memory: ``uint8 [N, 3, R, R]`` and labels."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, classes: list[str]) -> None:
        self.images, self.labels, self.classes = images, labels, classes

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> Item:
        return self.images[i], int(self.labels[i]), ()


class FolderImages(Dataset):
    """A folder of image files, read (and resized, centre-cropped) on demand."""

    def __init__(self, root: Path, resolution: int) -> None:
        self.root, self.resolution = root, resolution
        subdirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
        files: list[tuple[Path, int]] = []
        self.classes: list[str] = []
        for sub in subdirs:
            found = _image_files(sub, recursive=True)
            if found:
                files += [(f, len(self.classes)) for f in found]
                self.classes.append(sub.name)
        loose = _image_files(root, recursive=False)
        if files and loose:
            raise YlgError(
                f"{root} holds {len(loose)} image(s) beside its class folders"
                f" ({', '.join(self.classes[:3])}{', ...' if len(self.classes) > 3 else ''}),"
                " which would be left out: move them into a class folder"
            )
        if not files:
            files = [(f, 0) for f in loose]
            self.classes = [root.name]
        if not files:
            raise YlgError(
                f"no images in {root} (looked for {', '.join(sorted(IMAGE_SUFFIXES))} files "
                "in it or in one subfolder per class)"
            )
        self.files = files

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> Item:
        skipped: list[int] = []
        for j in range(i, i + len(self.files)):
            index = j % len(self.files)
            path, label = self.files[index]
            image = read_image(path, self.resolution)
            if image is not None:
                return image, label, tuple(skipped)
            skipped.append(index)
        raise YlgError(f"none of the {len(self.files)} images in {self.root} can be read")


def _image_files(folder: Path, recursive: bool) -> list[Path]:
    found = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in found if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def digits(resolution: int) -> TensorImages:
    """scikit-learn's handwritten digits, bright strokes on black, bilinear-upsampled."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = torch.from_numpy(bunch.images.astype(np.float32) / 16.0)[:, None]
    x = F.interpolate(x, size=(resolution, resolution), mode="bilinear", align_corners=False)
    images = (x.clamp(0, 1) * 255).round().to(torch.uint8).expand(-1, 3, -1, -1).contiguous()
    labels = torch.from_numpy(bunch.target.astype(np.int64))
    return TensorImages(images, labels, [str(d) for d in range(10)])


def _bundled_photos() -> dict[str, np.ndarray]:
    import skimage.data
    from matplotlib import cbook
    from PIL import Image
    from sklearn.datasets import load_sample_image

    photos = {
        name: getattr(skimage.data, name)()
        for name in (
            "astronaut",
            "chelsea",
            "coffee",
            "rocket",
            "hubble_deep_field",
            "immunohistochemistry",
            "retina",
        )
    }
    photos["china"] = load_sample_image("china.jpg")
    photos["flower"] = load_sample_image("flower.jpg")
    with cbook.get_sample_data("grace_hopper.jpg") as fh, Image.open(fh) as img:
        photos["grace_hopper"] = np.asarray(img.convert("RGB"))
    return photos


def photo_crops(
    resolution: int, per_photo: int, seed: int = 2020
) -> list[tuple[str, int, np.ndarray]]:
    """``(photo name, class, uint8 [R, R, 3])``: ``per_photo`` random square crops
    (35-80% of the shorter side) of each bundled photo, resized to ``resolution``; the
    training set is ``seed`` 2020, other seeds give held-out crops cut the same way."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    out = []
    for label, (name, array) in enumerate(_bundled_photos().items()):
        pil = Image.fromarray(np.ascontiguousarray(array[..., :3]))
        h, w = array.shape[:2]
        for _ in range(per_photo):
            side = int(rng.uniform(0.35, 0.8) * min(h, w))
            top, left = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
            crop = pil.resize(
                (resolution, resolution),
                Image.Resampling.BICUBIC,
                box=(left, top, left + side, top + side),
            )
            out.append((name, label, np.asarray(crop, dtype=np.uint8)))
    return out


def photos(resolution: int, crops: int = PHOTO_CROPS) -> TensorImages:
    """``crops`` random square crops (35-80% of the shorter side) of each bundled photo."""
    cut = photo_crops(resolution, crops)
    classes = list(dict.fromkeys(name for name, _, _ in cut))
    x = torch.from_numpy(np.stack([img for _, _, img in cut])).permute(0, 3, 1, 2).contiguous()
    return TensorImages(x, torch.tensor([label for _, label, _ in cut]), classes)


def data_folder(source: str) -> Path | None:
    """The folder ``--data source`` names, absolute (None for a bundled set or none):
    what a run records, so that it resumes from any working folder.

    >>> data_folder("photos") is None, data_folder("~/images").is_absolute()
    (True, True)
    """
    if source in BUNDLED or not source:
        return None
    return Path(os.path.abspath(os.path.expanduser(source)))


def load_dataset(source: str, resolution: int) -> TensorImages | FolderImages:
    """``digits``, ``photos`` or a folder path."""
    if source in BUNDLED and Path(source).is_dir():
        raise YlgError(
            f"--data {source} names the bundled set, and ./{source} is a folder here too:"
            f" write --data ./{source} for the folder, or run from another folder"
        )
    if source == "digits":
        return digits(resolution)
    if source == "photos":
        return photos(resolution)
    if not source:
        raise YlgError("this run needs --data: digits, photos, or a folder of images")
    root = Path(os.path.expanduser(source))
    if not root.is_dir():
        raise YlgError(f"--data {source!r}: not {' or '.join(BUNDLED)}, and not a folder")
    return FolderImages(root, resolution)


class BatchStream(Sampler[list[int]]):
    """Batches of indices for one process, from batch ``start`` on, forever.

    The data order is a fixed sequence of epochs, each a permutation seeded by
    ``(seed, epoch)``; batch ``b`` of rank ``r`` is slice ``(b * world + r)`` of it.
    """

    def __init__(
        self, size: int, batch: int, seed: int, rank: int = 0, world: int = 1, start: int = 0
    ) -> None:
        self.size, self.batch, self.seed = size, batch, seed
        self.rank, self.world, self.start = rank, world, start
        self._perms: dict[int, torch.Tensor] = {}

    def _perm(self, epoch: int) -> torch.Tensor:
        if epoch not in self._perms:
            self._perms = {
                epoch: torch.randperm(
                    self.size, generator=torch.Generator().manual_seed(self.seed * 100_003 + epoch)
                )
            }
        return self._perms[epoch]

    def indices(self, b: int) -> list[int]:
        """The dataset indices of batch ``b`` of this rank.

        >>> BatchStream(5, 2, seed=0).indices(0) == BatchStream(5, 2, seed=0, start=9).indices(0)
        True
        """
        first = (b * self.world + self.rank) * self.batch
        out: list[int] = []
        for j in range(first, first + self.batch):
            out.append(int(self._perm(j // self.size)[j % self.size]))
        return out

    def __iter__(self) -> Iterator[list[int]]:
        b = self.start
        while True:
            yield self.indices(b)
            b += 1

    def __len__(self) -> int:
        return math.ceil(self.size / self.batch)  # nominal: the stream never ends


def collate(items: list[Item]) -> tuple[torch.Tensor, torch.Tensor, tuple[int, ...]]:
    """Stack images and labels; gather the indices of skipped files."""
    images = torch.stack([it[0] for it in items])
    labels = torch.tensor([it[1] for it in items], dtype=torch.long)
    return images, labels, tuple(i for it in items for i in it[2])


def batches(
    dataset: Dataset,
    batch: int,
    seed: int,
    rank: int = 0,
    world: int = 1,
    start: int = 0,
    num_workers: int = 0,
) -> DataLoader:
    """An endless loader of ``(uint8 images, labels, skipped)`` from batch ``start`` on."""
    sampler = BatchStream(len(dataset), batch, seed, rank, world, start)
    return DataLoader(
        dataset,
        batch_sampler=sampler,
        collate_fn=collate,
        num_workers=num_workers,
        persistent_workers=num_workers > 0,
        prefetch_factor=4 if num_workers > 0 else None,
    )
