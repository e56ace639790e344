"""ylg: design, verify and use two-dimensional sparse attention ("Your Local GAN").

>>> import ylg
>>> ylg.__version__
'0.1.0'
"""

__version__ = "0.1.0"
