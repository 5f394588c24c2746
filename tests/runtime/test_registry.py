"""The registry discovers experiments (modules, subpackages, entry points) without a list, imports
them lazily, turns a module that fails to import into a failed experiment, and keeps a stable order."""

import importlib.metadata
import sys

import pytest

from stablelearn.runtime import Context, experiments, get_experiment, register, registry, unregister
from tests.runtime import toy

MODULE = """
from stablelearn.runtime import Experiment, Result
EXPERIMENT = Experiment(name={name!r}, description="found by scanning", run=lambda ctx: Result(),
                        quick={{}}, full={{}})
"""


@pytest.fixture
def fake_package(tmp_path, monkeypatch):
    """A package ``fakeexp_<n>`` laid out like stablelearn.experiments, scanned in its place."""
    name = f"fakeexp_{tmp_path.name.replace('-', '_')}"
    pkg = tmp_path / name
    (pkg / "beta").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "gamma.py").write_text(MODULE.format(name="gamma"))
    (pkg / "beta" / "__init__.py").write_text(MODULE.format(name="beta"))  # a subpackage
    (pkg / "alpha.py").write_text("raise ImportError('alpha is broken on purpose')\n")
    (pkg / "_helpers.py").write_text("raise AssertionError('private modules are not experiments')\n")
    (pkg / "delta.py").write_text(MODULE.format(name="not_delta"))
    (pkg / "touched.py").write_text("import pathlib\n" f"pathlib.Path({str(tmp_path / 'imported')!r}).write_text('')\n"
                                   + MODULE.format(name="touched"))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "PACKAGE", name)
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group=None: [])
    yield name, tmp_path
    for mod in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        del sys.modules[mod]


def test_modules_and_subpackages_are_discovered_in_name_order(fake_package):
    found = experiments()
    assert list(found) == ["alpha", "beta", "delta", "gamma", "touched"]
    assert found["beta"].description == "found by scanning"


def test_a_module_that_fails_to_import_becomes_a_failed_experiment(fake_package):
    exp = get_experiment("alpha")
    assert "ImportError: alpha is broken on purpose" in exp.description
    with pytest.raises(RuntimeError, match="alpha is broken on purpose"):
        exp.run(Context(config={}))
    assert "calls itself 'not_delta'" in get_experiment("delta").description


def test_import_is_lazy(fake_package):
    _, tmp = fake_package
    get_experiment("gamma")
    assert not (tmp / "imported").exists()
    get_experiment("touched")
    assert (tmp / "imported").exists()


def test_entry_points_plug_in_after_the_package_and_registered_ones_replace_in_place(fake_package,
                                                                                     monkeypatch):
    name, tmp = fake_package
    (tmp / "plugin_mod.py").write_text(MODULE.format(name="plugin") + MODULE.format(name="gamma").replace(
        "EXPERIMENT", "SHADOW"))
    eps = [importlib.metadata.EntryPoint("plugin", "plugin_mod:EXPERIMENT", registry.ENTRY_POINT_GROUP),
           importlib.metadata.EntryPoint("gamma", "plugin_mod:SHADOW", registry.ENTRY_POINT_GROUP)]
    monkeypatch.setattr(importlib.metadata, "entry_points",
                        lambda group=None: [e for e in eps if e.group == group])
    try:
        assert list(experiments()) == ["alpha", "beta", "delta", "gamma", "touched", "plugin"]
        assert get_experiment("gamma").description == "found by scanning"  # the package's wins
        register(toy.make("gamma"))
        register(toy.make("zeta"))
        found = experiments()
        assert list(found) == ["alpha", "beta", "delta", "gamma", "touched", "plugin", "zeta"]
        assert found["gamma"].description == "a toy experiment for tests"
    finally:
        unregister("gamma")
        unregister("zeta")
        sys.modules.pop("plugin_mod", None)


def test_the_real_package_is_scanned():
    names = list(experiments())
    assert names == sorted(names) and {"anderson", "stability", "rbno", "attacks", "depth"} <= set(names)


def test_lookup_errors_name_the_argument():
    with pytest.raises(ValueError, match="unknown experiment 'nope'; valid: anderson,"):
        get_experiment("nope")
    with pytest.raises(TypeError, match="name must be a string"):
        get_experiment(["anderson"])
    with pytest.raises(TypeError, match="experiment must be an Experiment"):
        register("anderson")


def test_registry_source_names_no_experiment():
    text = open(registry.__file__).read()
    for name in ("anderson", "stability", "rbno", "attacks", "depth"):
        assert f'"{name}"' not in text and f"'{name}'" not in text
