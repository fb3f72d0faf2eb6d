"""An accepted image URL reaches the sandbox on both paths: forwarded as a URL to a family that takes one (Kling),
fetched by the app under the URL policy and uploaded as a file to one that takes files only (Veo)."""

from __future__ import annotations

import hashlib
import io

import httpx
from jobs_helpers import backend_for, no_options, wait_state
from PIL import Image

from jobs.ledger import JobState
from providers.image_fetch import fetch_image
from providers.recipe import ImageInput, Recipe

URL = "https://img.example.com/first.png"


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (1280, 720), (220, 120, 30)).save(buf, format="PNG")
    return buf.getvalue()


def test_kling_gets_the_url_and_veo_gets_the_fetched_file(make_sandbox, make_runner) -> None:
    server = make_sandbox()
    runner = make_runner()
    backend = backend_for(server)
    image = _png()
    fetched = fetch_image(URL, field="first_frame", resolver=lambda host: ["93.184.216.34"],
                          transport=httpx.MockTransport(lambda request: httpx.Response(200, content=image)))
    first = ImageInput(url=URL, data=fetched.data, mime=fetched.mime, name="first.png")
    recipe = Recipe(prompt="the kite rises", first_frame=first, duration_s=5)
    kling, veo = runner.submit_run(recipe, [("kling-v1-6", no_options()), ("veo3.1-fast", no_options())], backend)
    kling_job = wait_state(runner, kling, JobState.DOWNLOADED, timeout=30)
    wait_state(runner, veo, JobState.DOWNLOADED, timeout=30)

    line = next(r for r in kling_job.mapping["report"] if r["field"] == "first_frame")
    assert (line["action"], line["sent"]) == ("sent", URL)  # forwarded as the URL, not as Base64
    stored = list((server.config.data_dir / "inputs").iterdir())
    assert [p.name.split(".")[0] for p in stored] == [hashlib.sha256(image).hexdigest()[:32]]  # Veo's upload
    assert stored[0].read_bytes() == image
