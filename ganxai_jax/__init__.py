"""ganxai_jax: GANs that write (MNIST digits, handwritten words), trained in JAX/Flax, and their explanations."""
