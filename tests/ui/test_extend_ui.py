"""Extend on Compare and History: offered under a downloaded Kling take, with Kling's 30-day retention said,
refused on another account; a child take says which take it extends, on its card and in the board export."""

from __future__ import annotations

import json
import time

from ui_helpers import open_page, rerun

from exports.board import take_record
from jobs.ledger import Ledger
from providers.catalog import load_catalog

DAY = 86400.0


def _ledger(seeded) -> Ledger:
    return Ledger(seeded.data_dir / "ledger.sqlite3")


def _expander(at, label: str):
    return [e for e in at.get("expander") if e.label == label]


def test_a_kling_take_offers_extend_and_another_account_is_refused(seeded) -> None:
    kling = seeded.board_jobs["kling-v1-6"]
    at = open_page("app_pages/compare.py", query={"run": seeded.board_run})
    assert len(_expander(at, "Extend")) == 1  # only under the Kling take, not Veo's or Runway's
    at.text_input(key=f"board_extend:{kling}").set_value("the kite climbs into the clouds")
    rerun(at)
    at.button(key=f"board_extend_go:{kling}").click()
    rerun(at)
    # The seeded take was made by another sandbox (another account): Kling extends only on the same one.
    assert any("only on the account that made it" in e.value for e in at.error), [e.value for e in at.error]
    ledger = _ledger(seeded)
    assert ledger.children(kling) == []
    ledger.close()


def test_retention_warning_close_to_30_days_and_refusal_after(seeded) -> None:
    kling = seeded.board_jobs["kling-v1-6"]
    ledger = _ledger(seeded)
    ledger.update(kling, provider_finished_at=time.time() - 28 * DAY)
    at = open_page("app_pages/history.py", query={"job": kling})
    assert any("Kling clears this video in about" in w.value for w in at.warning), [w.value for w in at.warning]
    ledger.update(kling, provider_finished_at=time.time() - 31 * DAY)
    at = open_page("app_pages/history.py", query={"job": kling})
    assert any("after 30 days" in i.value for i in at.info)
    assert not [t for t in at.text_input if t.key == f"history_extend:{kling}"]
    ledger.close()


def test_a_child_take_says_which_take_it_extends_and_the_export_keeps_the_link(seeded) -> None:
    kling = seeded.board_jobs["kling-v1-6"]
    ledger = _ledger(seeded)
    parent = ledger.get(kling)
    assert parent is not None
    child = ledger.create_job(run_id=parent.run_id, model_id=parent.model_id, family="kling_extend",
                              backend="sandbox", base_url=parent.base_url, key_fingerprint=parent.key_fingerprint,
                              recipe_json=json.dumps({"prompt": "and on"}), parent_job_id=kling, link_kind="extend",
                              state="queued", task_id="9999")
    at = open_page("app_pages/history.py", query={"job": child.id})
    assert any(f"extends take `{kling[:8]}`" in c.value for c in at.caption), [c.value for c in at.caption]
    record = take_record(child, load_catalog())
    assert record["lineage"] == {"parent_job_id": kling, "kind": "extend"}
    ledger.close()
