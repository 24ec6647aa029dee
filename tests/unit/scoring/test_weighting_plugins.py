"""Third-party weighting schemes through the entry-point group ``lm_eval_mtl.weighting``.

No pip: each test writes a ``<name>-<version>.dist-info`` (METADATA + entry_points.txt)
into a temporary folder on ``sys.path``, which :mod:`importlib.metadata` discovers like
an installed distribution. The scheme's code is the real fixture package in
``tests/fake_plugin`` (whose pyproject.toml declares the same entry point for
``pip install -e tests/fake_plugin``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lm_eval_mtl.errors import MTLError, UnknownNameError
from lm_eval_mtl.scoring import weighting
from lm_eval_mtl.scoring.population import Population
from lm_eval_mtl.scoring.weighting import (
    ENTRY_POINT_GROUP,
    SchemeContext,
    SchemeRegistry,
    WeightingScheme,
    fit_weights,
)

FAKE_PLUGIN = Path(__file__).resolve().parents[2] / "fake_plugin"


def _dist_info(root: Path, dist: str, entry_points: dict[str, str], version: str = "0.1") -> None:
    info = root / f"{dist}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n", encoding="utf-8"
    )
    lines = [f"[{ENTRY_POINT_GROUP}]"] + [f"{k} = {v}" for k, v in entry_points.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh registry (built-ins only) and an empty 'site-packages' on sys.path."""
    monkeypatch.syspath_prepend(str(FAKE_PLUGIN))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(weighting, "scheme_registry", SchemeRegistry(with_builtins=True))
    return tmp_path


def _pop(n_tasks: int = 3) -> Population:
    x = np.random.default_rng(0).normal(size=(20, n_tasks))
    return Population(
        models=tuple(f"m{i}" for i in range(20)),
        tasks=tuple(f"t{i}" for i in range(n_tasks)),
        scores=x,
        source="synthetic",
        sha256="0" * 64,
    )


def test_fit_weights_uses_an_entry_point_scheme(site: Path) -> None:
    _dist_info(site, "fakepkg", {"inverse": "fakepkg:inverse"})
    wf = fit_weights(_pop(), "fakepkg/inverse", suite_id="s@1")
    # 1/(t+1) for t = 0, 1, 2 -> 1, 1/2, 1/3; sum 11/6 -> 6/11, 3/11, 2/11
    assert wf.weights == pytest.approx({"t0": 6 / 11, "t1": 3 / 11, "t2": 2 / 11}, rel=1e-15)
    assert wf.scheme == "fakepkg/inverse"
    assert wf.id == "fakepkg_inverse-s"


def test_entry_points_load_lazily_and_once(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _dist_info(site, "fakepkg", {"inverse": "fakepkg:inverse"})
    reg = weighting.scheme_registry
    calls: list[str] = []
    real = reg._load_entry_points

    def counting() -> list[str]:
        calls.append("load")
        return real()

    monkeypatch.setattr(reg, "_load_entry_points", counting)
    assert reg.get("equal").name == "equal"  # a registered name: no plugin lookup
    assert "fakepkg/inverse" not in reg and calls == []
    scheme = reg.get("fakepkg/inverse")  # an unknown name: entry points are read
    assert isinstance(scheme, WeightingScheme) and scheme.name == "fakepkg/inverse"
    assert not scheme.needs_population
    assert reg.names()[-1] == "fakepkg/inverse"
    with pytest.raises(UnknownNameError, match="Unknown weighting scheme 'fakepkg/inverze'"):
        reg.get("fakepkg/inverze")
    assert calls == ["load"]


def test_names_loads_the_plugins(site: Path) -> None:
    _dist_info(site, "Fake-Pkg.Two", {"inverse": "fakepkg:inverse"})  # prefix normalized
    reg = weighting.scheme_registry
    assert "fake_pkg_two/inverse" not in reg
    assert "fake_pkg_two/inverse" in reg.names()
    assert reg.names()[:6] == ("equal", "family", "size", "redundancy", "cluster", "factor")


def test_plugin_that_fails_to_import_names_its_distribution(site: Path) -> None:
    (site / "brokenmod.py").write_text("raise RuntimeError('no GPU here')\n", encoding="utf-8")
    _dist_info(site, "brokenpkg", {"boom": "brokenmod:scheme"})
    _dist_info(site, "fakepkg", {"inverse": "fakepkg:inverse"})
    reg = weighting.scheme_registry
    with pytest.raises(MTLError, match=r"distribution 'brokenpkg' raised RuntimeError: no GPU here"):
        reg.get("fakepkg/inverse")
    # the good plugin is registered; the failure is raised again where plugins are needed
    assert "fakepkg/inverse" in reg
    assert reg.get("fakepkg/inverse").name == "fakepkg/inverse"
    with pytest.raises(MTLError, match="brokenpkg"):
        reg.names()
    with pytest.raises(MTLError, match="brokenpkg"):
        fit_weights(_pop(), "brokenpkg/boom", suite_id="s@1")


def test_plugin_that_is_not_a_scheme_names_its_distribution(site: Path) -> None:
    _dist_info(site, "wrongpkg", {"fn": "fakepkg:_inverse"})
    with pytest.raises(MTLError, match=r"distribution 'wrongpkg' is a function, not a WeightingScheme"):
        weighting.scheme_registry.names()


def test_two_distributions_claiming_one_name_collide(site: Path) -> None:
    _dist_info(site, "fakepkg", {"fakepkg/inverse": "fakepkg:inverse"})
    _dist_info(site, "squatter", {"fakepkg/inverse": "fakepkg:inverse"})
    with pytest.raises(MTLError, match="'fakepkg/inverse' is already registered") as err:
        weighting.scheme_registry.get("fakepkg/inverse")
    assert "'fakepkg'" in str(err.value) and "'squatter'" in str(err.value)


def test_plugin_colliding_with_a_registered_scheme(site: Path) -> None:
    def fn(ctx: SchemeContext) -> np.ndarray:
        return np.ones(len(ctx.tasks))

    reg = weighting.scheme_registry
    reg.register(WeightingScheme("fakepkg/inverse", fn, False, "registered in code"))
    _dist_info(site, "fakepkg", {"inverse": "fakepkg:inverse"})
    with pytest.raises(
        MTLError, match=r"already registered \(by .*fn\); distribution 'fakepkg' registers it"
    ):
        reg.names()


def test_plugin_names_must_read_package_slash_name(site: Path) -> None:
    _dist_info(site, "fakepkg", {"a/b/c": "fakepkg:inverse"})
    with pytest.raises(MTLError, match=r"distribution 'fakepkg'.*named 'package/name'; got 'a/b/c'"):
        weighting.scheme_registry.names()


def test_freeze_loads_the_plugins_first(site: Path) -> None:
    _dist_info(site, "fakepkg", {"inverse": "fakepkg:inverse"})
    reg = weighting.scheme_registry
    reg.freeze()
    assert "fakepkg/inverse" in reg
    with pytest.raises(MTLError, match="frozen"):
        reg.register(WeightingScheme("x/y", reg.get("equal").function, False, "x"))


def test_the_fixture_package_declares_the_entry_point() -> None:
    import tomllib

    meta = tomllib.loads((FAKE_PLUGIN / "pyproject.toml").read_text(encoding="utf-8"))
    assert meta["project"]["entry-points"][ENTRY_POINT_GROUP] == {"inverse": "fakepkg:inverse"}
