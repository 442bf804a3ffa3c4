"""The review console in a real headless Chromium (Debian's, driven by Playwright), end to end.

A generated document and selfie with a declared surname that has two letters swapped (the
generator's `surname_typing_slip` declaration) go through a real burst worker with the real engine:
`manual_review` (declared_identity_unverified), with the evidence images the worker kept. A reviewer
signs in, opens the queue and the case, sees those images load, approves it, and finds the decision in the page's audit trail and in the
signed webhook the local receiver got. `KYC_UPDATE_SCREENSHOT=1` rewrites docs/review-console.png
from the case page (never in a plain test run).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.test_web_console import PASSWORDS, console
from tests.workers_support import CONSENT, Env
from workers import evidence
from workers.enqueue import submit

CHROMIUM = "/usr/bin/chromium"
SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "review-console.png"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason=f"{CHROMIUM} is absent (Debian's chromium: see the README's set-up)")


def generated_review_case(env: Env, callback: str) -> str:
    """A real worker's `manual_review` verdict on a generated sample; the case id."""
    import cv2

    from kycengine.synth import make_sample
    from kycengine.synth.declared import declared_cases
    from workers.worker import worker_verifier_factory

    folder = env.root / "sample"
    labels = make_sample(folder, seed=3, size=(640, 360), fps=10)
    holder = labels["document.mp4"].identity
    slip = next(c.declared for c in declared_cases(holder, np.random.default_rng(7)) if c.name == "surname_typing_slip")
    case_id = env.cid("browser")
    submit({"case_id": case_id, "attempt": 1, "document_video": str(folder / "document.mp4"),
            "selfie_video": str(folder / "selfie.mp4"), "callback_url": callback, "customer_id": case_id,
            "consent": CONSENT, "declared": {"surname": slip.surname, "given_names": slip.given_names,
                                             "birth_date": slip.birth_date.isoformat()}},
           env.config, connection=env.redis)
    threads = cv2.getNumThreads()
    try:
        env.work(factory=worker_verifier_factory)
    finally:
        cv2.setNumThreads(threads)  # the worker factory sets 1 thread: leave the test process as it was
    verdict = env.store.get_verdict(case_id, 1) or {}
    assert (verdict.get("status"), verdict.get("reasons")) == ("manual_review", ["declared_identity_unverified"])
    return case_id


def test_reviewer_decides_a_generated_case_in_chromium(env: Env, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    receiver = env.receiver().start()
    case_id = generated_review_case(env, receiver.url)
    kept = evidence.names(env.config, env.redis, case_id, 1)  # the images the worker kept for people
    assert {"document", "portrait"} <= set(kept), kept
    with console(env) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-GB")
            page.goto(f"{url}/review/")
            assert page.url == f"{url}/review/login"
            page.fill("input[name=name]", "alice")
            page.fill("input[name=password]", PASSWORDS["alice"])
            page.click("form.login button[type=submit]")
            page.wait_for_url(f"{url}/review/")
            page.click(f"a.case-link:text-is('{case_id}')")
            page.wait_for_url(f"{url}/review/cases/{case_id}")
            page.wait_for_load_state("load")
            images: list[Any] = page.eval_on_selector_all(
                "img", "all => all.map(i => [i.getAttribute('src'), i.complete, i.naturalWidth, i.naturalHeight])")
            assert len(images) == len(kept), images
            assert all(complete and width > 0 and height > 0 for _, complete, width, height in images), images
            assert "declared_identity_unverified" in page.inner_text("main")
            if os.environ.get("KYC_UPDATE_SCREENSHOT") == "1":
                page.screenshot(path=str(tmp_path / "case.png"), full_page=True,
                                clip={"x": 0, "y": 0, "width": 1280, "height": 2000})
                shutil.copy(tmp_path / "case.png", SCREENSHOT)
            page.check("input[name=decision][value=approve]")
            page.fill("textarea[name=comment]", "Surname typed with two letters swapped; the document is hers")
            page.click("#decide-form button[type=submit]")
            page.wait_for_selector("#history tr.event-decision")
            entry = page.inner_text("#history tr.event-decision")
            assert "status=approved" in entry and "reviewer=alice" in entry, entry
        finally:
            browser.close()
    env.drain(lambda: any(r.event == "review.decided" for r in receiver.for_case(case_id)))
    decided = next(r for r in receiver.for_case(case_id) if r.event == "review.decided")
    assert decided.signature_ok and decided.body["status"] == "approved"
    assert decided.body["decision"]["reviewer"] == "alice"
    assert "swapped" in decided.body["decision"]["reason"]
