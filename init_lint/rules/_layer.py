"""What the layer rules (a layer's init against the activation it feeds) share."""

from __future__ import annotations

HE_WHY = (
    "He et al. (2015) showed that a layer followed by a rectifier keeps the signal's variance "
    "from layer to layer only when Var(W) = 2 / ((1 + a²)·fan), i.e. std = gain/√fan with "
    "gain √2 for ReLU. PyTorch's default init, kaiming_uniform_(w, a=√5), gives std = "
    "1/√(3·fan_in): 0.41× that, so the second moment shrinks about 6× per layer (1e-15 after "
    "20 layers) and deep ReLU nets stall; `normal_(0, 0.01)` or Xavier (gain 1) shrink it too."
)


def runtime_message(summary: str) -> str:
    """The runtime verifier's message for a layer rule: what the weights measure."""
    return (
        "{layer} ({layer_class}) feeds {activation}: " + summary + ". Weights look like "
        "{scheme}: {measured}, expected {expected}{advice}"
    )
