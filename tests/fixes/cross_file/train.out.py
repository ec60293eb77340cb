"""The training script: weights_init from models.py runs last, so a fix in models.py would be
overwritten; the fixes go after the calls that run it, here."""
import torch.nn as nn

from models import Discriminator, Encoder, weights_init


def init_encoder(module):
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")


netD = Discriminator().to("cpu")
netD.apply(weights_init)
nn.init.kaiming_normal_(netD.main[0].weight, a=0.2, nonlinearity="leaky_relu")
nn.init.kaiming_normal_(netD.main[2].weight, a=0.2, nonlinearity="leaky_relu")
encoder = Encoder()
init_encoder(encoder)

EXAMPLE_INPUT_SHAPE = (8, 3, 16, 16)


def build():
    return netD
