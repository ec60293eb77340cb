"""Nothing spells torch.nn.init yet: the fix adds the import."""
from torch.nn import Linear, Module, ReLU, Sequential, init


class Tiny(Module):
    def __init__(self):
        super().__init__()
        self.net = Sequential(Linear(256, 256), ReLU())
        init.kaiming_normal_(self.net[0].weight, nonlinearity="relu")

    def forward(self, x):
        return self.net(x)


EXAMPLE_INPUT_SHAPE = (64, 256)


def build():
    return Tiny()
