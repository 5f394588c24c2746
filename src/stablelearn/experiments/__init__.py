"""The reproductions run by ``stablelearn reproduce``: one module (or subpackage) per paper.

Each module ``stablelearn.experiments.<name>`` whose name does not start with an underscore exposes
``EXPERIMENT``, a :class:`stablelearn.runtime.Experiment` called ``<name>``. Nothing lists them: the
registry (:mod:`stablelearn.runtime.registry`) discovers them by scanning this package, sorted by name,
and imports each one only when it is asked for. A helper module shared by experiments must start with an
underscore. To add a reproduction, add a module here; to add one from another package, declare an entry
point in the group ``stablelearn.experiments``.
"""
