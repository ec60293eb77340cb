"""A modules() loop whose call every layer it reaches gets wrong the same way: the call itself is
changed (one edit). A helper loop run on two models that want different inits is left as it is,
and the one layer that needs it gets a call after the helper runs on its model."""
import torch.nn as nn


def init_linears(module):
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.01)


class Features(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 64, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(64, 64, 3, padding=1),
            nn.ReLU(inplace=True),
        )
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.body(x)


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64 * 64, 256)

    def forward(self, x):
        return nn.functional.relu(self.fc(x))


class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(256, 10)

    def forward(self, x):
        return self.fc(x)


features = Features()
encoder = Encoder()
init_linears(encoder)
head = Head()
init_linears(head)

EXAMPLE_INPUT_SHAPE = (16, 3, 8, 8)


def build():
    return nn.Sequential(features, nn.Flatten(), encoder, head)
