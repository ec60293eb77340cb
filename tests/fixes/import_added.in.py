"""Nothing spells torch.nn.init yet: the fix adds the import."""
from torch.nn import Linear, Module, ReLU, Sequential


class Tiny(Module):
    def __init__(self):
        super().__init__()
        self.net = Sequential(Linear(8, 8), ReLU())

    def forward(self, x):
        return self.net(x)
