"""A modules() loop that inits every conv the same way; one conv needs another scale."""
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 3),
            nn.ReLU(inplace=True),
            nn.Conv2d(64, 64, 3),
            nn.BatchNorm2d(64),
            nn.ReLU(inplace=True),
        )
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)
        nn.init.kaiming_normal_(self.features[0].weight, nonlinearity="relu")

    def forward(self, x):
        return self.features(x)


EXAMPLE_INPUT_SHAPE = (4, 3, 16, 16)


def build():
    return Net()
