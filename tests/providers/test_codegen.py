"""View code: the generated Python and Node.js scripts really submit, poll and download from the sandbox."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from providers.catalog import load_catalog
from providers.codegen import node_snippet, python_snippet
from providers.mapping import prepare
from providers.recipe import ImageInput, ModelOptions, Recipe

ROOT = Path(__file__).resolve().parents[2]
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
PYTHON = str(VENV_PYTHON) if VENV_PYTHON.exists() else sys.executable
NODE = shutil.which("node")
KEY = "sk-sandbox"
FAST_RENDERS = {"*": (2.0, 4.0)}  # simulated seconds; with time_scale 0.01 each task renders in ~30 ms


def png(w: int, h: int, color=(40, 140, 220)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (w, h), color).save(out, format="PNG")
    return out.getvalue()


CATALOG = load_catalog(overrides={"sora-2": {"available": True}})
CASES = {
    # model, recipe, options, sandbox response shapes: one case per family, plus Veo's legacy Gen-A shape.
    "veo3.1": ("veo3.1", Recipe("a lighthouse at dusk", duration_s=4), ModelOptions(), {}),
    "veo3-fast-gen-a": ("veo3-fast", Recipe("a door opens", first_frame=ImageInput(png(640, 360)),
                                            last_frame=ImageInput(png(640, 360, (250, 200, 10)))),
                        ModelOptions(), {"veo": "gen_a"}),
    "sora-2": ("sora-2", Recipe("a paper airplane", first_frame=ImageInput(png(640, 480)), aspect_ratio="16:9"),
               ModelOptions(), {}),
    "kling-v1-6-i2v": ("kling-v1-6", Recipe("leaves fall", negative_prompt="text",
                                            first_frame=ImageInput(png(640, 360))),
                       ModelOptions.of(cfg_scale=0.5), {}),
    "gen4_turbo-bare": ("gen4_turbo", Recipe("waves", first_frame=ImageInput(png(640, 360)), aspect_ratio="16:9",
                                             seed=7), ModelOptions(), {"runway": "bare"}),
    "gen3a_turbo-wrapped": ("gen3a_turbo", Recipe("waves", first_frame=ImageInput(png(640, 384))), ModelOptions(),
                            {"runway": "wrapped"}),
    "seedance-2-0-i2v": ("doubao-seedance-2-0", Recipe("koi", duration_s=4, first_frame=ImageInput(png(640, 360))),
                         ModelOptions.of(resolution="480p"), {}),
    "grok-bare-i2v": ("grok-imagine-video", Recipe("a comet", duration_s=2, first_frame=ImageInput(png(640, 360))),
                      ModelOptions.of(resolution="480p"), {"grok": "bare"}),
    "kling-omni-wrapped": ("kling-video-o1", Recipe("a lantern", duration_s=5, aspect_ratio="1:1"), ModelOptions(),
                           {"kling_omni": "wrapped"}),
    "grok-1.5-wrapped": ("grok-imagine-video-1.5", Recipe("a comet", duration_s=2), ModelOptions(),
                         {"grok": "wrapped"}),
}


def run_snippet(cmd: list[str], base_url: str, out: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", ""), "COMETAPI_KEY": KEY, "COMETAPI_BASE_URL": base_url,
           "DAILIES_POLL_INTERVAL": "0.05", "DAILIES_DEADLINE_S": "60"}
    return subprocess.run([*cmd, str(out)], env=env, capture_output=True, text=True, timeout=90, check=False)


def assert_mp4(path: Path, proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    data = path.read_bytes()
    assert len(data) > 1024 and data[4:8] == b"ftyp", data[:16]


def require_node() -> str:
    if NODE is None:
        if os.environ.get("CI") == "true":
            pytest.fail("node is not installed: the Node.js snippet test must run in CI")
        pytest.skip("node is not installed (this test is required in CI)")
    return NODE


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("language", ["python", "node"])
def test_snippet_downloads_an_mp4(language, case, make_sandbox, tmp_path):
    interpreter, render, suffix = ((PYTHON, python_snippet, ".py") if language == "python"
                                   else (require_node(), node_snippet, ".mjs"))
    model_id, recipe, options, shapes = CASES[case]
    server = make_sandbox(shapes=shapes, render_times=FAST_RENDERS)
    sub = prepare(recipe, model_id, options, CATALOG)
    script = tmp_path / f"snippet{suffix}"
    script.write_text(render(sub, "https://api.cometapi.com"))
    out = tmp_path / "clip.mp4"
    assert_mp4(out, run_snippet([interpreter, str(script)], server.base_url, out))


def test_snippets_never_inline_the_key_and_refuse_to_run_without_one(tmp_path):
    model_id, recipe, options, _ = CASES["kling-v1-6-i2v"]
    sub = prepare(recipe, model_id, options, CATALOG)
    py, js = python_snippet(sub, "https://api.cometapi.com"), node_snippet(sub, "https://api.cometapi.com")
    for text in (py, js):
        assert "COMETAPI_KEY" in text and "sk-" not in text.replace("sk-...", "")
        assert "https://api.cometapi.com" in text and "/kling/v1/videos/image2video" in text
    script = tmp_path / "snippet.py"
    script.write_text(py)
    proc = subprocess.run([PYTHON, str(script)], env={"PATH": os.environ.get("PATH", "")}, capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 1 and "COMETAPI_KEY" in proc.stderr


def test_snippets_compile_for_every_model(tmp_path):
    catalog = load_catalog(overrides={"sora-2": {"available": True}, "sora-2-pro": {"available": True}})
    for spec in catalog.models():
        image = ImageInput(png(640, 360)) if "t2v" not in spec.modes else None
        sub = prepare(Recipe("a quiet harbour", first_frame=image), spec.id, None, catalog)
        script = tmp_path / f"{spec.id}.py"
        script.write_text(python_snippet(sub, "https://api.cometapi.com"))
        compiled = subprocess.run([PYTHON, "-m", "py_compile", str(script)], capture_output=True, text=True,
                                  check=False)
        assert compiled.returncode == 0, compiled.stderr
        if NODE:
            js = tmp_path / f"{spec.id}.mjs"
            js.write_text(node_snippet(sub, "https://api.cometapi.com"))
            checked = subprocess.run([NODE, "--check", str(js)], capture_output=True, text=True, check=False)
            assert checked.returncode == 0, checked.stderr
