"""Settings: the key is only ever shown masked; preferences persist; sandbox faults can be switched on."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

SECRET = "sk-this-is-a-secret-key-9876"


def all_text(at: AppTest) -> str:
    parts = []
    for kind in ("markdown", "caption", "success", "info", "warning", "error", "text", "code"):
        parts += [str(e.value) for e in getattr(at, kind)]
    parts += [str(e.value) for e in at.sidebar.markdown]
    return " ".join(parts)


def test_key_entered_for_the_session_is_masked_and_switches_to_live(app: AppTest) -> None:
    app.switch_page("app_pages/settings.py").run()
    assert not app.exception
    assert "No key" in all_text(app)
    app.text_input(key="key_input").set_value(SECRET)
    app.button[0].click()  # the form's submit button
    app.run()
    assert not app.exception
    text = all_text(app)
    assert "session" in text and "sk-…9876" in text
    assert SECRET not in text
    app.switch_page("app_pages/generate.py").run()
    assert "Budget left this" in all_text(app)  # live mode: the budget applies
    assert SECRET not in all_text(app)


def test_saved_budget_and_model_switch_persist_without_the_key(app: AppTest, app_env) -> None:
    app.switch_page("app_pages/settings.py").run()
    budget = next(n for n in app.number_input if n.label == "Budget (USD)")
    budget.set_value(7.5)
    app.checkbox(key="avail:sora-2").check()
    save = next(b for b in app.button if b.label == "Save")
    save.click()
    app.run()
    assert not app.exception
    saved = json.loads((app_env / "prefs.json").read_text())
    assert saved["budget_usd"] == 7.5
    assert saved["model_overrides"]["sora-2"]["available"] is True
    assert "veo3.1-fast" not in saved["model_overrides"]  # unchanged models keep following the catalog
    assert "sk-" not in (app_env / "prefs.json").read_text()
    app.switch_page("app_pages/generate.py").run()
    assert not app.toggle(key="use:sora-2").disabled


def test_every_page_renders(app: AppTest) -> None:
    for page in ("app_pages/generate.py", "app_pages/compare.py", "app_pages/costs.py", "app_pages/history.py",
                 "app_pages/settings.py"):
        app.switch_page(page).run()
        assert not app.exception, (page, [e.value for e in app.exception])


def test_sandbox_speed_is_locked_while_sandbox_jobs_run(app: AppTest, app_env) -> None:
    from jobs.ledger import Ledger
    from providers.recipe import Recipe

    app.switch_page("app_pages/settings.py").run()
    assert not app.select_slider(key="sb_speed").disabled
    ledger = Ledger(app_env / "ledger.sqlite3")
    ledger.create_job(run_id="r1", model_id="veo3.1-fast", family="veo", backend="sandbox",
                      base_url="http://127.0.0.1:1", key_fingerprint="x", recipe_json=Recipe("a kite").to_json())
    ledger.close()
    app.run()
    assert app.select_slider(key="sb_speed").disabled
    assert any("sandbox job(s) are running" in c for c in (str(x.value) for x in app.caption))


def test_a_fault_the_sandbox_refuses_shows_why_instead_of_a_traceback(app: AppTest) -> None:
    app.switch_page("app_pages/settings.py").run()
    app.selectbox(key="fault_route").select("submit")
    app.selectbox(key="fault_kind").select("drip")
    app.button[[b.label for b in app.button].index("Inject fault")].click().run()
    assert not app.exception
    assert any("route" in str(e.value) and "download" in str(e.value) for e in app.error), all_text(app)
    app.selectbox(key="fault_kind").select("http_429")
    app.button[[b.label for b in app.button].index("Inject fault")].click().run()
    assert any("http_429" in str(s.value) for s in app.success), all_text(app)
