"""Backend selection: explicit > use_backend (context-local) > set_backend > BOOSTR_BACKEND
> boostr.toml (cwd, then the user config dir) > cpu."""

from __future__ import annotations

import threading

import pytest

import boostr
from boostr.config import normalize_backend, resolve_backend, set_backend, use_backend
from boostr.errors import BackendUnavailable
from boostr.runtime.registry import backend_status


@pytest.fixture(autouse=True)
def clean(monkeypatch, tmp_path):
    monkeypatch.delenv("BOOSTR_BACKEND", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    set_backend(None)
    yield tmp_path
    set_backend(None)


def test_default_is_cpu():
    assert resolve_backend() == "cpu"
    assert boostr.get_client().kind == "cpu"


def test_full_precedence_chain(clean, monkeypatch):
    (clean / "xdg" / "boostr").mkdir(parents=True)
    (clean / "xdg" / "boostr" / "boostr.toml").write_text('backend = "cuda:5"\n')
    assert resolve_backend() == "cuda:5"
    (clean / "boostr.toml").write_text('backend = "cuda:4"\n')
    assert resolve_backend() == "cuda:4"
    monkeypatch.setenv("BOOSTR_BACKEND", "cuda:3")
    assert resolve_backend() == "cuda:3"
    set_backend("cuda:2")
    assert resolve_backend() == "cuda:2"
    with use_backend("wgpu:1") as name:
        assert name == "wgpu:1"
        assert resolve_backend() == "wgpu:1"
        assert resolve_backend("cpu") == "cpu"
        with use_backend("cuda:7"):
            assert resolve_backend() == "cuda:7"
        assert resolve_backend() == "wgpu:1"
    assert resolve_backend() == "cuda:2"
    set_backend(None)
    assert resolve_backend() == "cuda:3"
    monkeypatch.delenv("BOOSTR_BACKEND")
    assert resolve_backend() == "cuda:4"
    (clean / "boostr.toml").unlink()
    assert resolve_backend() == "cuda:5"


def test_config_file_without_backend_key_falls_through(clean):
    (clean / "boostr.toml").write_text("other = 1\n")
    assert resolve_backend() == "cpu"


def test_use_backend_is_thread_local():
    seen = {}
    entered = threading.Event()
    release = threading.Event()

    def worker():
        entered.wait(5)
        seen["other"] = resolve_backend()
        release.set()

    t = threading.Thread(target=worker)
    t.start()
    with use_backend("wgpu"):
        entered.set()
        release.wait(5)
        assert resolve_backend() == "wgpu:0"
    t.join()
    assert seen["other"] == "cpu"


def test_set_backend_is_process_wide():
    set_backend("wgpu")
    seen = {}
    t = threading.Thread(target=lambda: seen.setdefault("b", resolve_backend()))
    t.start()
    t.join()
    assert seen["b"] == "wgpu:0"


@pytest.mark.parametrize(("name", "want"), [("cpu", "cpu"), (" CPU ", "cpu"), ("cuda", "cuda:0"), ("cuda:1", "cuda:1"),
                                            ("wgpu", "wgpu:0"), ("cpu:0", "cpu")])  # fmt: skip
def test_normalize(name, want):
    assert normalize_backend(name) == want


@pytest.mark.parametrize("bad", ["tpu", "cuda:x", "cpu:1", "", "metal"])
def test_unknown_backend_names(bad):
    with pytest.raises(ValueError, match="Expected one of"):
        normalize_backend(bad)
    with pytest.raises(ValueError, match="Expected one of"):
        boostr.get_client(bad)
    with pytest.raises(ValueError, match="Expected one of"):
        set_backend(bad)


def test_unknown_env_backend_raises(monkeypatch):
    monkeypatch.setenv("BOOSTR_BACKEND", "tpu")
    with pytest.raises(ValueError, match="Expected one of"):
        resolve_backend()


def test_known_but_unavailable_backend():
    if backend_status("cuda") is None:
        pytest.skip("CUDA is available on this machine")
    with pytest.raises(BackendUnavailable) as e:
        boostr.get_client("cuda")
    assert e.value.backend == "cuda" and e.value.reason
    set_backend("cuda")
    with pytest.raises(BackendUnavailable):
        boostr.zeros(2)
    assert "cuda" not in boostr.available_backends()


def test_factories_follow_selection():
    assert boostr.zeros(2).device == "cpu"
    assert boostr.zeros(2, backend="cpu").device == "cpu"
    with use_backend("cpu"):
        assert boostr.ones(1).client is boostr.get_client("cpu")


def test_clients_are_cached_per_device():
    assert boostr.get_client("cpu") is boostr.get_client("cpu:0")
    assert "cpu" in boostr.available_backends()
