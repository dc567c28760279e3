"""Fréchet distance between two sets of feature vectors (FID when the features come from a fixed net)."""
from __future__ import annotations

import numpy as np
import scipy.linalg


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """Mean and covariance (rows are samples) in float64."""
  features = np.asarray(features, np.float64)
  return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
  """||μa - μb||² + Tr(Σa + Σb - 2 (Σa Σb)^½) between the Gaussians fitted to two feature sets."""
  mu_a, cov_a = feature_statistics(features_a)
  mu_b, cov_b = feature_statistics(features_b)
  covmean = scipy.linalg.sqrtm(cov_a @ cov_b)
  if not np.isfinite(covmean).all():
    # Near-singular product: regularise both covariances slightly, as the reference FID code does.
    offset = np.eye(cov_a.shape[0]) * 1e-6
    covmean = scipy.linalg.sqrtm((cov_a + offset) @ (cov_b + offset))
  covmean = np.real(covmean)
  diff = mu_a - mu_b
  return float(diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2.0 * np.trace(covmean))
