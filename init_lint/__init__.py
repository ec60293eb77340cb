"""init-lint: check that PyTorch layers are initialised for the activation that follows them."""

__version__ = "0.1.0"
