"""ylg.gan: the GAN side of ylg (models, training, metrics)."""
