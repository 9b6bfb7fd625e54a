"""Attention kernels are told apart by the distribution that installed them (flash-attn 2 and
flash-attn-4 both install a `flash_attn` package), and FA4 gets integer sequence lengths."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from _shared import fake_site

REPO = Path(__file__).resolve().parents[1]


def check(site: Path | None, impl: str) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": f"{site}:{REPO}" if site else str(REPO), "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "veritas.verl_ext.attention", "check", impl], env=env,
                          capture_output=True, text=True, timeout=60)


def test_built_in_kernels_always_pass_and_unknown_names_fail():
    assert check(None, "sdpa").returncode == 0
    bad = check(None, "flash_attention_9")
    assert bad.returncode == 1 and "unknown attention implementation 'flash_attention_9'" in bad.stderr


def test_fa4_is_recognised_by_its_distribution_and_brings_its_companion_module(tmp_path):
    site = fake_site(tmp_path, "flash-attn-4", "4.0.0b36", ["flash_attn", "flash_attn.cute"])
    ok = check(site, "flash_attention_4")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "veritas.verl_ext.flash_attn4"
    # FA4's `flash_attn` package is not flash-attn 2: the old `import flash_attn` test would have said yes
    fa2 = check(site, "flash_attention_2")
    assert fa2.returncode == 1
    assert "needs the flash-attn distribution" in fa2.stderr and "flash_attention_4 (flash-attn-4 4.0.0b36)" in fa2.stderr


def test_fa2_with_a_cute_folder_is_not_fa4(tmp_path):
    site = fake_site(tmp_path, "flash-attn", "2.8.3", ["flash_attn", "flash_attn.cute"])
    assert check(site, "flash_attention_2").returncode == 0
    fa4 = check(site, "flash_attention_4")
    assert fa4.returncode == 1 and "needs the flash-attn-4 distribution" in fa4.stderr


def test_too_old_fa2_is_refused(tmp_path):
    site = fake_site(tmp_path, "flash-attn", "2.1.0", ["flash_attn"])
    assert check(site, "flash_attention_2").returncode == 1


def test_fa4_varlen_receives_integer_lengths(monkeypatch, tmp_path):
    torch = pytest.importorskip("torch")
    calls = []

    def varlen(q, k, v, cu_seqlens_q=None, cu_seqlens_k=None, max_seqlen_q=None, max_seqlen_k=None, causal=False):
        calls.append((max_seqlen_q, max_seqlen_k, causal))
        return q

    # a stand-in flash_attn.cute package, importable, with the real module's entry point name;
    # it must not outlive the test (later tests ask whether flash_attn is installed)
    stand_ins = ("flash_attn", "flash_attn.cute", "veritas.verl_ext.flash_attn4")
    site = fake_site(tmp_path, "flash-attn-4", "4.0.0b36", ["flash_attn", "flash_attn.cute"])
    monkeypatch.syspath_prepend(str(site))
    for name in stand_ins:
        sys.modules.pop(name, None)
    try:
        import flash_attn.cute as cute

        cute.flash_attn_varlen_func = varlen
        import veritas.verl_ext.flash_attn4 as shim  # patches on import

        assert cute.flash_attn_varlen_func is not varlen
        cute.flash_attn_varlen_func("q", "k", "v", max_seqlen_q=torch.tensor(1005), max_seqlen_k=torch.tensor(7),
                                    causal=True)
        assert calls == [(1005, 7, True)] and all(type(x) is int for x in calls[0][:2])
        cute.flash_attn_varlen_func("q", "k", "v", max_seqlen_q=12, max_seqlen_k=None)
        assert calls[-1] == (12, None, False)
        assert shim.install() is True and shim.wrap_varlen(cute.flash_attn_varlen_func) is cute.flash_attn_varlen_func
    finally:
        for name in stand_ins:
            sys.modules.pop(name, None)


# A stand-in flash_attn.cute that records, as FA4's cache_utils does, the cache settings it finds
# at import time, then the shim is imported the way verl's processes import it.
_SEEN_AT_IMPORT = (
    "import os\n"
    "SEEN = (os.environ.get('FLASH_ATTENTION_CUTE_DSL_CACHE_ENABLED'), os.environ.get('FLASH_ATTENTION_CUTE_DSL_CACHE_DIR'))\n"
    "def flash_attn_varlen_func(*a, **k):\n    return None\n"
)


def _import_shim(site: Path, **env: str) -> list[str]:
    code = "import veritas.verl_ext.flash_attn4, flash_attn.cute as c; print(c.SEEN[0]); print(c.SEEN[1])"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={"PYTHONPATH": f"{site}:{REPO}", "PATH": "/usr/bin:/bin", **env})
    assert run.returncode == 0, run.stderr
    return run.stdout.splitlines()


def test_fa4_kernel_cache_is_on_before_fa4_reads_its_settings(tmp_path):
    site = fake_site(tmp_path / "site", "flash-attn-4", "4.0.0b36", ["flash_attn", "flash_attn.cute"])
    (site / "flash_attn" / "__init__.py").unlink()  # FA4's flash_attn is a namespace package
    (site / "flash_attn" / "cute" / "__init__.py").write_text(_SEEN_AT_IMPORT)
    home, xdg = tmp_path / "home", tmp_path / "xdg"
    assert _import_shim(site, HOME=str(home)) == ["1", str(home / ".cache" / "flash_attention_cute_dsl")]
    assert (home / ".cache" / "flash_attention_cute_dsl").is_dir()
    assert _import_shim(site, HOME=str(home), XDG_CACHE_HOME=str(xdg)) == ["1", str(xdg / "flash_attention_cute_dsl")]
    # the caller's settings win: off stays off, a chosen folder stays chosen
    assert _import_shim(site, HOME=str(home), FLASH_ATTENTION_CUTE_DSL_CACHE_ENABLED="0",
                        FLASH_ATTENTION_CUTE_DSL_CACHE_DIR="/shared/fa4") == ["0", "/shared/fa4"]
    chosen = tmp_path / "shared" / "fa4"
    assert _import_shim(site, HOME=str(home), FLASH_ATTENTION_CUTE_DSL_CACHE_DIR=str(chosen)) == ["1", str(chosen)]


def test_a_cache_folder_that_cannot_be_written_leaves_the_cache_off(tmp_path):
    from veritas.verl_ext.flash_attn4 import enable_kernel_cache

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    # a folder under a file cannot be made (FA4 would raise in every process); a relative home
    # (HOME unknown) is not a place to keep kernels either
    for env in ({"FLASH_ATTENTION_CUTE_DSL_CACHE_DIR": str(blocker / "fa4")}, {"HOME": "~", "XDG_CACHE_HOME": ""}):
        env = dict(env)
        assert enable_kernel_cache(env) is False
        assert env["FLASH_ATTENTION_CUTE_DSL_CACHE_ENABLED"] == "0"
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    assert enable_kernel_cache(env) is True
    assert env["FLASH_ATTENTION_CUTE_DSL_CACHE_DIR"] == str(tmp_path / "cache" / "flash_attention_cute_dsl")


def test_without_fa4_the_cache_setting_is_left_alone(tmp_path):
    code = "import os, veritas.verl_ext.flash_attn4 as s; print(s.install(), os.environ.get('FLASH_ATTENTION_CUTE_DSL_CACHE_ENABLED'))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["False", "None"]


def test_packed_lengths_are_worked_out_once_per_position_ids_tensor(monkeypatch):
    torch = pytest.importorskip("torch")
    import inspect

    from transformers import modeling_flash_attention_utils as fa_utils

    from veritas.verl_ext import packed_lengths

    # the transformers code this relies on: both functions are looked up as module globals at
    # call time, in every layer's attention call, from the position_ids the layer was given
    assert "_is_packed_sequence(position_ids" in inspect.getsource(fa_utils._flash_attention_forward)
    assert "prepare_fa_kwargs_from_position_ids(position_ids)" in inspect.getsource(fa_utils._prepare_from_posids)

    original_packed, original_prepare = fa_utils._is_packed_sequence, fa_utils.prepare_fa_kwargs_from_position_ids
    calls = []
    monkeypatch.setattr(fa_utils, "_is_packed_sequence",
                        lambda p, batch_size: calls.append("packed") or original_packed(p, batch_size))
    monkeypatch.setattr(fa_utils, "prepare_fa_kwargs_from_position_ids",
                        lambda p: calls.append("prepare") or original_prepare(p))
    assert packed_lengths.install({"VERITAS_PACKED_LENGTHS_CACHE": "0"}) is False
    assert packed_lengths.install({}) is True
    packed, prepare = fa_utils._is_packed_sequence, fa_utils.prepare_fa_kwargs_from_position_ids

    position_ids = torch.cat([torch.arange(5), torch.arange(3), torch.arange(7)]).unsqueeze(0)
    (cu_q, cu_k), (max_q, max_k) = original_prepare(position_ids)
    for _layer in range(30):
        assert packed(position_ids, batch_size=1) is True
        (c_q, c_k), (m_q, m_k) = prepare(position_ids)
        assert torch.equal(c_q, cu_q) and torch.equal(c_k, cu_k) and c_q.tolist() == [0, 5, 8, 15]
        assert (m_q, m_k) == (int(max_q), int(max_k)) == (7, 7) and type(m_q) is int
    assert calls == ["packed", "prepare"]
    # other arguments, another tensor, the same tensor changed in place: worked out again
    assert packed(position_ids, batch_size=2) is False and calls[-1] == "packed"
    other = torch.arange(4).unsqueeze(0)
    assert packed(other, batch_size=1) is False and prepare(other)[1] == (4, 4)
    position_ids[0, 8:] = torch.tensor([0, 1, 2, 3, 0, 1, 2])  # a fourth sequence from token 12
    assert prepare(position_ids)[0][0].tolist() == [0, 5, 8, 12, 15]
    assert calls.count("prepare") == 3
    assert packed(None, batch_size=1) is False  # no tensor: computed, nothing kept
    assert packed(other, batch_size=1) is False
    del other  # the kept tensor freed: its weak reference now gives None, which no call may match
    import gc

    gc.collect()
    assert packed(None, batch_size=1) is False
    assert packed_lengths.cached_by_tensor(packed) is packed  # wrapped once only


# A stand-in FA4 whose entry point records what it was given; the GPU benchmark's probe
# (sitecustomize, armed at interpreter start) watches the same module, before the bridge is loaded.
_LAZY = """
import sys, torch
import veritas.verl_ext.flash_attn4 as shim
print("imported with the shim:", "flash_attn.cute" in sys.modules)
import flash_attn.cute as cute
print("lengths:", cute.flash_attn_varlen_func("q", max_seqlen_q=torch.tensor(1005), max_seqlen_k=torch.tensor(7)))
from transformers import modeling_flash_attention_utils as fa_utils
print("packed lengths:", getattr(fa_utils.prepare_fa_kwargs_from_position_ids, "_veritas_cached_by_tensor", False))
print("armed again:", shim.install(), sum(type(f).__name__ == "_OnImport" and f.callback is shim.patch for f in sys.meta_path))
"""
PROBE = REPO / "tests" / "benchmarks" / "gpu" / "probe"


def test_fa4_is_patched_where_it_is_imported_not_imported_by_the_shim(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    site = fake_site(tmp_path / "site", "flash-attn-4", "4.0.0b36", ["flash_attn", "flash_attn.cute"])
    (site / "flash_attn" / "__init__.py").unlink()  # FA4's flash_attn is a namespace package
    (site / "flash_attn" / "cute" / "__init__.py").write_text(
        "def flash_attn_varlen_func(q, max_seqlen_q=None, max_seqlen_k=None):\n"
        "    return [type(max_seqlen_q).__name__, max_seqlen_q, type(max_seqlen_k).__name__, max_seqlen_k]\n")
    run = subprocess.run([sys.executable, "-c", _LAZY], capture_output=True, text=True, timeout=120,
                         env={"PYTHONPATH": f"{PROBE}:{site}:{REPO}", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
                              "BENCH_ATTENTION_PROBE": "1"})
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [
        "imported with the shim: False",  # processes that never run FA4 never import its CuTe DSL
        "lengths: ['int', 1005, 'int', 7]",
        "packed lengths: True",
        "armed again: True 1",  # FA4 imported by then: patched again directly (idempotent), no second hook
    ]
    # the probe, hooked on the same module before the bridge, still saw the import and the call
    assert "armed (-c)" in run.stderr and "called flash_attn.cute.flash_attn_varlen_func (q ())" in run.stderr


def test_a_hook_runs_its_callback_once_the_module_has_run_and_chains_with_others(tmp_path, monkeypatch):
    from veritas.verl_ext.import_hooks import call_after_import

    pkg = tmp_path / "hooked_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))  # hooks stay in this test
    seen = []
    first, second = (lambda m: seen.append(("first", m.VALUE)), lambda m: seen.append(("second", m.VALUE)))
    call_after_import("hooked_pkg", first)
    call_after_import("hooked_pkg", second)
    call_after_import("hooked_pkg", second)  # hooked once
    sys.modules.pop("hooked_pkg", None)
    try:
        import hooked_pkg

        assert sorted(seen) == [("first", 1), ("second", 1)] and hooked_pkg.VALUE == 1
        call_after_import("hooked_pkg", first)  # already imported: now
        assert seen[-1] == ("first", 1) and len(seen) == 3
    finally:
        sys.modules.pop("hooked_pkg", None)
