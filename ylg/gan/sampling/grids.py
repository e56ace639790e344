"""Sample grids: one row per class for a conditional model, images tiled into a PNG.

>>> import torch
>>> grid = image_grid(torch.zeros(5, 3, 4, 4)); grid.shape, grid.dtype
((8, 12, 3), dtype('uint8'))
"""

from __future__ import annotations

import io
import math
import os

import numpy as np
import torch

from ylg.errors import YlgError
from ylg.fileio import write_atomic


def class_rows(num_classes: int, count: int) -> tuple[torch.Tensor, int]:
    """Labels for a sample grid of a conditional model with one row per class, and its width.

    With at most ``count`` classes every class gets a row of ``count // num_classes``
    samples; with more (ImageNet), ``isqrt(count)`` classes spread evenly over all of them
    get a row each. Whole rows only: the grid may hold fewer than ``count`` samples
    (:func:`class_grid_text` says so).

    >>> labels, columns = class_rows(10, 64); columns, labels[:8].tolist()
    (6, [0, 0, 0, 0, 0, 0, 1, 1])
    >>> labels, columns = class_rows(1000, 64); columns, labels[::8].tolist()
    (8, [0, 125, 250, 375, 500, 625, 750, 875])
    """
    if num_classes < 1 or count < 1:
        raise YlgError(f"a class grid needs classes and samples, not {num_classes}, {count}")
    if num_classes <= count:
        classes, columns = torch.arange(num_classes), count // num_classes
    else:
        rows = max(1, min(num_classes, math.isqrt(count)))
        classes = torch.arange(rows) * num_classes // rows
        columns = max(1, count // rows)
    return classes.repeat_interleave(columns), columns


def class_grid_text(num_classes: int, count: int, labels: torch.Tensor, columns: int) -> str:
    """What a grid of :func:`class_rows` holds, in words, with the count asked for.

    >>> labels, columns = class_rows(10, 64)
    >>> class_grid_text(10, 64, labels, columns)
    'one row per class, 6 each; 64 asked, 60 make whole rows'
    >>> labels, columns = class_rows(1000, 64)
    >>> class_grid_text(1000, 64, labels, columns)
    '8 rows of 8, for 8 classes spread over all 1000'
    """
    rows = len(labels) // columns
    if rows == num_classes:
        text = f"one row per class, {columns} each"
    else:
        text = f"{rows} rows of {columns}, for {rows} classes spread over all {num_classes}"
    if len(labels) != count:
        text += f"; {count} asked, {len(labels)} make whole rows"
    return text


def image_grid(images: torch.Tensor, columns: int | None = None) -> np.ndarray:
    """Images in [-1, 1], ``[N, 3, H, W]``, tiled into one ``uint8 [rows*H, cols*W, 3]``."""
    n, c, h, w = images.shape
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    x = ((images.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    canvas = torch.zeros(rows * columns, c, h, w, dtype=torch.uint8)
    canvas[:n] = x
    canvas = canvas.view(rows, columns, c, h, w).permute(0, 3, 1, 4, 2)
    return canvas.reshape(rows * h, columns * w, c).numpy()


def save_png(path: str | os.PathLike[str], grid: np.ndarray) -> None:
    """Write a ``uint8 [H, W, 3]`` array as a PNG file, atomically."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(grid).save(buffer, format="PNG")
    write_atomic(path, buffer.getvalue())
