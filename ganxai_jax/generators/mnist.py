"""The MNIST generators (GAN, CGAN, SAGAN, InfoGAN) behind the `TrainedGenerator` interface.

The latent an explanation moves is the noise vector; the class label (CGAN) and InfoGAN's codes are the
condition. `build_generator(config)` makes the flax module a config describes, for training and for
loading alike.
"""
from __future__ import annotations

import functools
from typing import Any

import ml_collections
import numpy as np

from ganxai_jax.generators.interface import Condition, TrainedGenerator
from ganxai_jax.models import dcgan
from ganxai_jax.models.attention import attention_gammas
from ganxai_jax.models.latent import LatentSpec


def latent_spec(config: ml_collections.ConfigDict) -> LatentSpec:
  """The latent space the config asks for (runs saved before `noise` existed drew N(0, 1))."""
  return LatentSpec(noise_dim=config.latent_dim, num_classes=config.num_classes,
                    num_categorical=config.num_categorical, num_continuous=config.num_continuous,
                    noise=config.get("noise", "normal"))


def build_generator(config: ml_collections.ConfigDict) -> dcgan.Generator:
  """G of the configured MNIST model."""
  return dcgan.Generator(latent_dim=config.latent_dim, num_classes=config.num_classes,
                         channels=config.g_channels, spectral_norm=config.g_spectral_norm,
                         attention_resolutions=tuple(config.g_attention), hidden_dim=config.g_hidden_dim)


@functools.lru_cache(maxsize=16)
def _model_functions(module: dcgan.Generator, spec: LatentSpec):
  """(aux_fn, apply_fn, features_fn) of G `module`: one set per model, so that its compiled renders
  are reused by every `TrainedGenerator` that wraps it."""

  def aux_fn(variables, z, condition: Condition):
    latent = {"noise": z, **condition}
    return module.apply(variables, spec.vector(latent), latent.get("labels"), train=False)

  return aux_fn, lambda v, z, c: aux_fn(v, z, c)[0], lambda v, z, c: aux_fn(v, z, c)[1]["features"]


def wrap(module: dcgan.Generator, spec: LatentSpec, variables: Any, name: str, step: int = 0,
         dataset: str = "") -> TrainedGenerator:
  """A `TrainedGenerator` of G `module` with inference `variables` and latent space `spec`."""
  aux_fn, apply_fn, features_fn = _model_functions(module, spec)

  def condition_fn(rng, n):
    return {k: v for k, v in spec.sample(rng, n).items() if k != "noise"}

  def sample_fn(rng, n):
    latent = spec.sample(rng, n)
    return latent["noise"], {k: v for k, v in latent.items() if k != "noise"}

  layout = {"noise": spec.noise_dim, "labels": spec.num_classes, "categorical": spec.num_categorical,
            "continuous": spec.num_continuous}
  return TrainedGenerator(
      name=name, kind="digits", latent_dim=spec.noise_dim, ink_polarity="bright", variables=variables,
      apply_fn=apply_fn, features_fn=features_fn,
      condition_fn=condition_fn, weight_fn=lambda v: module.latent_weight(v["params"]),
      num_classes=spec.num_classes, step=step, aux_fn=aux_fn, gamma_fn=lambda v: attention_gammas(v["params"]),
      sample_fn=sample_fn, latent_layout={k: n for k, n in layout.items() if n}, dataset=dataset, module=module,
      noise=spec.noise)


def from_config(config: ml_collections.ConfigDict, variables: Any, step: int = 0) -> TrainedGenerator:
  """The generator a run's config describes, with its trained inference variables."""
  return wrap(build_generator(config), latent_spec(config), variables, f"mnist_{config.model}",
              step, config.get("dataset", ""))


def latent_generate_fn(generator: TrainedGenerator):
  """`latent dict (host arrays: noise, labels, codes) -> images (host array)`, the form the MNIST
  scores take."""

  def generate(latent: dict[str, np.ndarray]) -> np.ndarray:
    return generator.render(latent["noise"], {k: v for k, v in latent.items() if k != "noise"})

  return generate
