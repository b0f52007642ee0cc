"""The ``boostr`` command line: info, demo, conformance and bench wiring, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

import boostr
import boostr.cli
from boostr.cli import bench, main


def test_info_lists_cpu(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "cpu   available" in out
    assert "numpy" in out and "numba" in out


def test_info_json_reports_every_backend(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data["backends"]) == {"cpu", "cuda", "wgpu"}
    cpu = data["backends"]["cpu"]
    assert cpu["available"] and cpu["devices"][0]["name"] == "cpu"
    for kind, rep in data["backends"].items():
        assert rep["available"] == (kind in boostr.available_backends())
        if not rep["available"]:
            assert rep["reason"], f"{kind}: an unavailable backend must say why"
    assert data["libraries"]["numpy"]


@pytest.mark.parametrize("kind", boostr.available_backends())
def test_demo_runs(kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--backend", kind, "--size", "16"]) == 0
    out = capsys.readouterr().out
    for step in ("arange", "broadcast", "matmul", "softmax", "rms_norm", "topk"):
        assert step in out
    assert "row sums in [1.000000, 1.000000]" in out


def test_unknown_backend_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--backend", "tpu"]) == 2
    err = capsys.readouterr().err
    assert "Unknown backend" in err and "Received: 'tpu'" in err and "'cpu'" in err


def test_unavailable_backend_says_why(capsys: pytest.CaptureFixture[str]) -> None:
    missing = [k for k in ("cuda", "wgpu") if k not in boostr.available_backends()]
    if not missing:
        pytest.skip("every backend is available here")
    assert main(["demo", "--backend", missing[0]]) == 1
    assert "unavailable" in capsys.readouterr().out


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    out = capsys.readouterr().out
    for command in ("info", "demo", "conformance", "bench"):
        assert command in out


def test_conformance_is_delegated(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []

    def fake_main(argv: list[str]) -> int:
        seen.append(argv)
        return 7

    fake = types.ModuleType("boostr.cli.conformance")
    fake.main = fake_main  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "boostr.cli.conformance", fake)
    monkeypatch.setattr(boostr.cli, "conformance", fake, raising=False)
    assert main(["conformance", "--backend", "cpu", "--op", "add"]) == 7
    assert seen == [["--backend", "cpu", "--op", "add"]]


def test_bench_runs_the_source_runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    script = tmp_path / "benchmarks" / "bench_cpu.py"
    script.parent.mkdir()
    script.write_text("import sys\nsys.exit(len(sys.argv) + 10)\n")
    monkeypatch.setattr(bench, "runner_path", lambda: script)
    assert main(["bench", "--quick", "x"]) == 13


def test_bench_outside_a_checkout(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(bench, "runner_path", lambda: tmp_path / "missing.py")
    assert main(["bench"]) == 1


def test_python_dash_m_boostr() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "boostr", "--version"], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"boostr {boostr.__version__}"


def test_readme_tour_runs() -> None:
    """The README's Python tour is real code: run it as written."""
    readme = Path(__file__).resolve().parents[2] / "README.md"
    if not readme.is_file():
        pytest.skip("README.md is not next to the tests")
    blocks = readme.read_text().split("```python\n")[1:]
    assert blocks, "README.md has no python block"
    from boostr.models.default import ModelNotFound, default_model_path

    try:
        default_model_path()
    except ModelNotFound:  # the GPU machine: the 98 MB model cannot travel there (CI installs it)
        pytest.skip("the default model is not installed")
    for block in blocks:
        exec(compile(block.split("```")[0], str(readme), "exec"), {"__name__": "readme_tour"})
