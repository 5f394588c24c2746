"""The reproductions, one module per paper, each exposing ``EXPERIMENT``
(see :mod:`stablelearn.runtime.registry` for the list and its order)."""
