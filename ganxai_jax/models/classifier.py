"""A LeNet-like MNIST classifier: the project's feature network for FID and its judge of generated digits."""
from __future__ import annotations

import flax.linen as nn
import jax

from ganxai_jax.models import layers


class LeNet(nn.Module):
  """conv5 32 → pool → conv5 64 → pool → FC `feature_dim` (the FID features) → logits."""
  num_classes: int = 10
  feature_dim: int = 128

  @nn.compact
  def __call__(self, images: jax.Array, train: bool = False) -> tuple[jax.Array, jax.Array]:
    """Returns `(logits, features)`; dropout is active only when `train`."""
    x = nn.relu(nn.Conv(32, (5, 5), name="conv1")(images))
    x = layers.max_pool_2x2(x)
    x = nn.relu(nn.Conv(64, (5, 5), name="conv2")(x))
    x = layers.max_pool_2x2(x)
    x = x.reshape(x.shape[0], -1)
    features = nn.relu(nn.Dense(self.feature_dim, name="fc")(x))
    x = nn.Dropout(0.3, deterministic=not train)(features)
    return nn.Dense(self.num_classes, name="logits")(x), features
