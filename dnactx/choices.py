"""The closed sets of values dnactx names everywhere (bottom layer: standard library only).

Each set is a ``str`` Enum, so a member compares equal to its word (``Mode.both == "both"``) and ``--help`` and
shell completion list the words; the tuples beside them are the words in their canonical order, for loops, checks
and messages. A new value (a family, a context, a split) is added here once.
"""

from __future__ import annotations

from enum import Enum


class Family(str, Enum):
    """How a run's model is built: k-mer logistic regression, the one-hot CNN, or a Hugging Face encoder."""

    lr = "lr"
    cnn = "cnn"
    transformer = "transformer"


class Mode(str, Enum):
    """Which side of the cytosine the model sees: 5' (up), 3' (down) or ``size`` bp each side (both)."""

    up = "up"
    down = "down"
    both = "both"


class Precision(str, Enum):
    """Mixed precision of training and scoring (autocast)."""

    no = "no"
    bf16 = "bf16"
    fp16 = "fp16"


class Context(str, Enum):
    """A cytosine's sequence context on its strand (H = A, C or T)."""

    CG = "CG"
    CHG = "CHG"
    CHH = "CHH"


class Target(str, Enum):
    """What a run learns: the binary label (level ≥ prepare's --threshold) or the methylated fraction itself,
    fitted with a binomial likelihood on the read counts (mc of cov)."""

    label = "label"
    level = "level"


class Split(str, Enum):
    """A dataset's site splits (genomic blocks or whole chromosomes, never shared)."""

    train = "train"
    val = "val"
    test = "test"


FAMILIES: tuple[str, ...] = tuple(f.value for f in Family)
MODES: tuple[str, ...] = tuple(m.value for m in Mode)
PRECISIONS: tuple[str, ...] = tuple(p.value for p in Precision)
CONTEXTS: tuple[str, ...] = tuple(c.value for c in Context)
SPLITS: tuple[str, ...] = tuple(s.value for s in Split)
TARGETS: tuple[str, ...] = tuple(t.value for t in Target)
EVAL_SPLITS: tuple[str, ...] = (Split.val.value, Split.test.value)  # the splits a run is scored on
MODE_ALIASES = {"up": "up", "upstream": "up", "down": "down", "downstream": "down", "both": "both"}


def family_of_model(model: str) -> str:
    """The family of a ``--model`` value: ``lr`` and ``cnn`` name theirs, anything else is a transformer checkpoint.
    The one place a family is derived (TrainConfig.family and config.json's reader both call it)."""
    return model if model in (Family.lr.value, Family.cnn.value) else Family.transformer.value
