"""stablelearn: stability and acceleration of learning, five papers as tested tools.

Subpackages (each usable on its own): ``anderson``, ``stability``, ``rbno``, ``attacks``, ``depth``.
``runtime`` holds the paper-agnostic machinery (executors, resumable sweeps, reports) and
``experiments`` the reproductions run by ``stablelearn reproduce``.
"""

__version__ = "0.1.0"
