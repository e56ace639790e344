"""Any Pillow image as 8-bit RGB pixels, whatever its mode; image files read that way.

Used by training data, inversion and the metrics' image folders alike.

``Image.convert("RGB")`` is right for 8-bit modes (L, P, LA, PA, RGBA, CMYK, YCbCr,
1 ...) but clips the high-bit-depth ones: a 16-bit grey PNG (mode ``I;16``) comes out
pure white, a float TIFF (``F``) in [0, 1] pure black. Here:

- ``I;16`` (and ``I;16B``, ``I;16L``, ``I;16N``): 0..65535, scaled to 0..255;
- ``I`` (32-bit integers): 0..255 as they are when no value exceeds 255, else 0..65535
  (16-bit data, which is what Pillow reads as ``I`` from PNG and TIFF files), scaled;
  values beyond 65535 scale the image by its maximum; negative values are 0;
- ``F`` (32-bit floats): [0, 1] scaled by 255 when every value lies in [0, 1], else
  taken as 0..255 and clipped; NaN is 0;
- every other mode: Pillow's own conversion (transparency is dropped, not composited).

Grey images become three equal channels.

>>> import numpy as np
>>> from PIL import Image
>>> sixteen = Image.fromarray(np.full((2, 2), 128 * 257, dtype=np.uint16))
>>> sixteen.mode, rgb8(sixteen)[0, 0].tolist(), sixteen.convert("RGB").getpixel((0, 0))
('I;16', [128, 128, 128], (255, 255, 255))
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

#: The modes read here rather than by ``Image.convert("RGB")``.
WIDE_MODES = ("I", "F", "I;16", "I;16B", "I;16L", "I;16N")


def _grey(values: np.ndarray, mode: str) -> np.ndarray:
    data = values.astype(np.float64)
    if mode == "F":
        data = np.nan_to_num(data, nan=0.0, posinf=255.0, neginf=0.0)
        scale = 255.0 if data.size and data.min() >= 0.0 and data.max() <= 1.0 else 1.0
    elif mode == "I":
        top = float(data.max()) if data.size else 0.0
        scale = 1.0 if top <= 255 else 255.0 / 65535.0 if top <= 65535 else 255.0 / top
    else:  # I;16 and its byte orders
        scale = 255.0 / 65535.0
    return np.clip(np.rint(data * scale), 0, 255).astype(np.uint8)


def rgb8(image: Any) -> np.ndarray:
    """The pixels of a Pillow image as ``uint8 [H, W, 3]`` (see the module docstring).

    >>> from PIL import Image
    >>> rgb8(Image.new("F", (1, 1), 0.5)).tolist()
    [[[128, 128, 128]]]
    """
    if image.mode in WIDE_MODES:
        grey = _grey(np.asarray(image), image.mode)
        return np.repeat(grey[..., None], 3, axis=2)
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def rgb_image(image: Any) -> Any:
    """The image as a Pillow ``RGB`` image, read as :func:`rgb8` reads it.

    >>> from PIL import Image
    >>> rgb_image(Image.new("I;16", (3, 2), 65535)).getpixel((0, 0))
    (255, 255, 255)
    """
    from PIL import Image

    if image.mode == "RGB":
        return image
    return Image.fromarray(rgb8(image))


def unreadable(exc: BaseException, path: Path) -> str:
    """Why Pillow could not read the image at ``path``, in a few words without the path.

    >>> from pathlib import Path
    >>> unreadable(OSError("cannot identify image file 'a/b.png'"), Path("a/b.png"))
    'cannot identify image file'
    """
    from PIL import Image

    if isinstance(exc, Image.DecompressionBombError):
        sizes = [f"{int(n):,}" for n in re.findall(r"\d+", str(exc))[:2]]
        if len(sizes) == 2:
            return (
                f"{sizes[0]} pixels, over Pillow's limit of {sizes[1]} (a guard against"
                " decompression bombs): resize it first"
            )
    why = str(exc).replace(f" {str(path)!r}", "").replace(str(path), "the file")
    return " ".join(why.split()) or type(exc).__name__


def image_tensor(path: Path, resolution: int) -> torch.Tensor:
    """An image file as ``uint8 [3, R, R]``, shorter side resized and centre-cropped.

    Every Pillow mode is read as :func:`rgb8` reads it (16-bit and float
    images scaled, not clipped), turned upright as its EXIF orientation says (a phone's
    photo as viewers show it). A file that cannot be read or decoded is a
    :class:`~ylg.errors.YlgError` that says why.
    """
    import torch
    from PIL import Image, ImageOps

    from ylg.errors import YlgError

    try:
        with Image.open(path) as img:
            upright = ImageOps.exif_transpose(img)
            img = ImageOps.fit(
                rgb_image(upright), (resolution, resolution), Image.Resampling.BICUBIC
            )
            array = np.asarray(img, dtype=np.uint8)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise YlgError(f"cannot read the image {path}: {unreadable(exc, path)}") from None
    return torch.from_numpy(array.copy()).permute(2, 0, 1).contiguous()


def read_image(path: Path, resolution: int) -> torch.Tensor | None:
    """:func:`image_tensor`, or None when the file cannot be read (training data skips
    such files)."""
    from ylg.errors import YlgError

    try:
        return image_tensor(path, resolution)
    except YlgError:
        return None
