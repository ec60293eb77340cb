"""The rules: code, title, documentation and examples, one unit each (as in Fixit).

``valid`` and ``invalid`` examples are both documentation (``init-lint --explain``) and tests
(tests/test_rules.py runs the checker on each: invalid ones must raise exactly this code).
"""

from __future__ import annotations

from dataclasses import dataclass

_HEADER = "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\nfrom torch.nn import init\n\n"


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    title: str
    what: str
    why: str
    fix: str
    invalid: tuple[str, ...]
    valid: tuple[str, ...]

    def explain(self) -> str:
        """The rule's page, as ``init-lint --explain`` prints it and docs/rules/ holds it."""
        parts = [
            f"# {self.code}: {self.title}",
            "",
            f"Name: `{self.name}`",
            "",
            "## What it does",
            "",
            self.what,
            "",
            "## Why",
            "",
            self.why,
            "",
            "## Example (flagged)",
            "",
            "```python",
            self.invalid[0].rstrip(),
            "```",
        ]
        if self.valid:
            parts += ["", "## Instead", "", "```python", self.valid[0].rstrip(), "```"]
        parts += ["", "## Autofix", "", self.fix, ""]
        return "\n".join(parts)


HE_WHY = (
    "He et al. (2015) showed that a layer followed by a rectifier keeps the signal's variance "
    "from layer to layer only when Var(W) = 2 / ((1 + a²)·fan), i.e. std = gain/√fan with "
    "gain √2 for ReLU. PyTorch's default init, kaiming_uniform_(w, a=√5), gives std = "
    "1/√(3·fan_in): 0.41× that, so the second moment shrinks about 6× per layer (1e-15 after "
    "20 layers) and deep ReLU nets stall; `normal_(0, 0.01)` or Xavier (gain 1) shrink it too."
)

RULES: dict[str, Rule] = {}


def _register(rule: Rule) -> Rule:
    RULES[rule.code] = rule
    return rule


_register(
    Rule(
        code="INI001",
        name="rectifier-without-kaiming",
        title="Layer feeds a rectifier but is not Kaiming-initialised",
        what=(
            "Reports a Linear/Conv layer whose output reaches a ReLU, ReLU6, LeakyReLU, PReLU or "
            "RReLU (directly or through Dropout, pooling, Flatten, view/reshape) while its weight "
            "keeps PyTorch's default init or gets an init that is not He-scaled: `normal_(0, "
            "0.01)`, `trunc_normal_(std=.02)`, `xavier_*_` with gain 1, `orthogonal_` with gain 1, "
            "or `kaiming_*_(a=math.sqrt(5))` (the default spelled out). Layers that reach the "
            "rectifier through a BatchNorm/LayerNorm/GroupNorm are only reported with "
            "`through-norm`, since a norm layer makes the forward pass scale-invariant."
        ),
        why=HE_WHY,
        fix=(
            "Inserts `init.kaiming_normal_(<layer>.weight, nonlinearity='relu')` (or `a=<slope>, "
            "nonlinearity='leaky_relu'`) after the statement that builds the layer, or rewrites "
            "the wrong init call when every layer it touches feeds a rectifier."
        ),
        invalid=(
            _HEADER + "class MLP(nn.Module):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.fc1 = nn.Linear(784, 256)\n"
            "        self.fc2 = nn.Linear(256, 10)\n"
            "\n"
            "    def forward(self, x):\n"
            "        return self.fc2(F.relu(self.fc1(x)))\n",
            _HEADER + "class Net(nn.Module):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.body = nn.Sequential(nn.Conv2d(3, 64, 3), nn.ReLU(), nn.Conv2d(64, 64, 3))\n"
            "        for m in self.modules():\n"
            "            if isinstance(m, nn.Conv2d):\n"
            "                init.normal_(m.weight, 0, 0.01)\n",
        ),
        valid=(
            _HEADER + "class MLP(nn.Module):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.fc1 = nn.Linear(784, 256)\n"
            "        init.kaiming_normal_(self.fc1.weight, nonlinearity='relu')\n"
            "        self.fc2 = nn.Linear(256, 10)\n"
            "\n"
            "    def forward(self, x):\n"
            "        return self.fc2(F.relu(self.fc1(x)))\n",
            _HEADER + "class Net(nn.Module):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.body = nn.Sequential(nn.Conv2d(3, 64, 3), nn.BatchNorm2d(64), nn.ReLU())\n",
            _HEADER + "class Net(nn.Module):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.fc = nn.Linear(8, 8)\n"
            "\n"
            "    def forward(self, x):\n"
            "        return F.gelu(self.fc(x))\n",
        ),
    )
)

_register(
    Rule(
        code="INI002",
        name="kaiming-before-saturating",
        title="Kaiming (rectifier gain) init on a layer that feeds Tanh or Sigmoid",
        what=(
            "Reports `kaiming_normal_/kaiming_uniform_` with a rectifier gain (`nonlinearity` "
            "'relu', 'leaky_relu' or left at its default) on a layer whose output goes into "
            "Tanh or Sigmoid. `kaiming_*_(…, nonlinearity='tanh')` has the right gain and is "
            "not reported."
        ),
        why=(
            "Kaiming's gain √2 compensates for a rectifier discarding half of the signal. Tanh "
            "and Sigmoid keep both halves, so √2 inflates the pre-activation std by 41% per "
            "layer and pushes units into saturation, where gradients vanish. Glorot & Bengio "
            "(2010): Var(W) = 2/(fan_in+fan_out) with calculate_gain('tanh') = 5/3 or "
            "calculate_gain('sigmoid') = 1."
        ),
        fix="Replaces the call by `init.xavier_normal_(w, gain=init.calculate_gain('tanh'))` "
        "(or `xavier_uniform_`, `'sigmoid'`), keeping the distribution.",
        invalid=(
            _HEADER + "class Net(nn.Module):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.fc = nn.Linear(32, 32)\n"
            "        init.kaiming_normal_(self.fc.weight)\n"
            "\n"
            "    def forward(self, x):\n"
            "        return torch.tanh(self.fc(x))\n",
        ),
        valid=(
            _HEADER + "class Net(nn.Module):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.fc = nn.Linear(32, 32)\n"
            "        init.xavier_normal_(self.fc.weight, gain=init.calculate_gain('tanh'))\n"
            "\n"
            "    def forward(self, x):\n"
            "        return torch.tanh(self.fc(x))\n",
            _HEADER + "class Net(nn.Module):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.fc = nn.Linear(32, 32)\n"
            "        init.kaiming_normal_(self.fc.weight, nonlinearity='tanh')\n"
            "\n"
            "    def forward(self, x):\n"
            "        return torch.tanh(self.fc(x))\n",
        ),
    )
)

_register(
    Rule(
        code="INI003",
        name="kaiming-args-mismatch",
        title="Kaiming init whose arguments do not match the rectifier",
        what=(
            "Reports Kaiming init whose gain does not match the activation: `nonlinearity="
            "'relu'` (or the default leaky with a=0) before `LeakyReLU(0.2)`, an `a` different "
            "from the slope, `nonlinearity='tanh'/'linear'/'sigmoid'/'selu'` before a ReLU. Gains "
            "within 1% are equal (relu gain before `LeakyReLU(0.01)` is fine); relu gain before "
            "`LeakyReLU(0.2)` is 1.9% too large and is reported."
        ),
        why=(
            "He et al.'s condition for a leaky slope a is ½(1+a²)·fan·Var(W) = 1, gain "
            "√(2/(1+a²)). A mismatched gain scales the signal by the ratio of the gains at every "
            "layer, which compounds with depth: 2% per layer is about 1.5× after 20 layers."
        ),
        fix="Sets `a=` and `nonlinearity=` to the activation's values, leaving other arguments.",
        invalid=(
            _HEADER + "class D(nn.Module):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.net = nn.Sequential(nn.Conv2d(3, 64, 4), nn.LeakyReLU(0.2))\n"
            "        init.kaiming_normal_(self.net[0].weight, nonlinearity='relu')\n",
        ),
        valid=(
            _HEADER + "class D(nn.Module):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.net = nn.Sequential(nn.Conv2d(3, 64, 4), nn.LeakyReLU(0.2))\n"
            "        init.kaiming_normal_(self.net[0].weight, a=0.2, nonlinearity='leaky_relu')\n",
            _HEADER + "class D(nn.Module):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.net = nn.Sequential(nn.Conv2d(3, 64, 4), nn.LeakyReLU())\n"
            "        init.kaiming_normal_(self.net[0].weight, nonlinearity='relu')\n",
        ),
    )
)

_register(
    Rule(
        code="INI004",
        name="fan-init-on-1d-tensor",
        title="Kaiming/Xavier init on a tensor with fewer than 2 dimensions",
        what=(
            "Reports `kaiming_*_` / `xavier_*_` applied to a bias, to a norm layer's 1-D weight, "
            "or to every parameter of a model without a `p.dim() > 1` guard."
        ),
        why=(
            "These inits scale by fan_in/fan_out, which need at least 2 dimensions: PyTorch "
            "raises `ValueError: Fan in and fan out can not be computed for tensor with fewer "
            "than 2 dimensions` when the line runs."
        ),
        fix="No autofix: initialise biases with `init.zeros_` or `init.constant_`.",
        invalid=(
            _HEADER + "class Net(nn.Module):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.fc = nn.Linear(8, 8)\n"
            "        init.xavier_uniform_(self.fc.bias)\n",
        ),
        valid=(
            _HEADER + "class Net(nn.Module):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.fc = nn.Linear(8, 8)\n"
            "        init.zeros_(self.fc.bias)\n",
        ),
    )
)

_register(
    Rule(
        code="INI005",
        name="deprecated-init-function",
        title="Deprecated non-underscore init function",
        what=(
            "Reports `init.kaiming_normal(…)`, `init.xavier_uniform(…)`, `init.normal(…)` and the "
            "other deprecated spellings without the trailing underscore."
        ),
        why=(
            "They are kept only as deprecated aliases that emit a FutureWarning (`nn.init."
            "kaiming_normal is now deprecated in favor of nn.init.kaiming_normal_`) and may be "
            "removed; the underscore names are the supported in-place API."
        ),
        fix="Renames the call to the underscore function.",
        invalid=(
            _HEADER + "class Net(nn.Module):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.fc = nn.Linear(8, 8)\n"
            "        init.xavier_uniform(self.fc.weight)\n",
        ),
        valid=(
            _HEADER + "class Net(nn.Module):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.fc = nn.Linear(8, 8)\n"
            "        init.xavier_uniform_(self.fc.weight)\n",
        ),
    )
)

_register(
    Rule(
        code="INI006",
        name="invalid-init-argument",
        title="Invalid literal argument to an init function",
        what=(
            "Reports a literal `mode` other than 'fan_in'/'fan_out' and a `nonlinearity` (or "
            "`calculate_gain` argument) that PyTorch does not know, such as 'gelu' or 'ReLU'."
        ),
        why=(
            "PyTorch raises at run time (`ValueError: Mode fan_avg not supported, please use "
            "one of fan_in, fan_out`, `ValueError: Unsupported nonlinearity gelu`), usually "
            "in a code path that runs only when a model is first built."
        ),
        fix="No autofix: choose one of fan_in/fan_out and linear, conv*, sigmoid, tanh, relu, "
        "leaky_relu, selu.",
        invalid=(
            _HEADER + "class Net(nn.Module):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.fc = nn.Linear(8, 8)\n"
            "        init.kaiming_normal_(self.fc.weight, mode='fan_avg')\n",
            _HEADER + "class Net(nn.Module):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.fc = nn.Linear(8, 8)\n"
            "        init.xavier_normal_(self.fc.weight, gain=init.calculate_gain('gelu'))\n",
        ),
        valid=(
            _HEADER + "class Net(nn.Module):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.fc = nn.Linear(8, 8)\n"
            "        init.kaiming_normal_(self.fc.weight, mode='fan_out', nonlinearity='relu')\n",
        ),
    )
)

#: Not a rule: a file that cannot be read or parsed. Reported so that nothing is skipped silently.
PARSE_ERROR_CODE = "INI999"

ALL_CODES = tuple(RULES) + (PARSE_ERROR_CODE,)
