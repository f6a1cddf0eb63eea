"""A new rater in a real browser: qualification with feedback on a miss, then live work,
all by keyboard; skip with a reason, the shortcut panel and the word diff.

``WORKBENCH_SCREENSHOTS=1`` also saves ``docs/gold-feedback.png``.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import func, select

from tests.factories import make_item, make_project
from tests.web.browser import log_in
from workbench.domain import LeasePurpose
from workbench.models import Item, ItemFlag, Judgment, Lease
from workbench.services.users import create_user

try:
    from playwright.sync_api import expect
except ImportError:  # the ``browser`` fixture reports it
    expect = None

EMAIL, PASSWORD = "newcomer@example.org", "a long enough password"
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "gold-feedback.png"
PROMPTS = [
    (
        "Explain `git rebase` in one paragraph.",
        "Rebase **replays** your commits on top of another branch.",
        "It deletes history.\n\n```sh\ngit rebase main\n```",
    ),
    ("Name a prime number above 10.", "11 is prime.", "12 is prime."),
]


def _db(app):
    return app.extensions["workbench"].sessionmaker()


def _setup(app) -> int:
    with _db(app) as session:
        project = make_project(
            session, overlap_k=2, qualification_items=2, qualification_min_accuracy=0.5, name="newcomers"
        )
        for n, (prompt, good, bad) in enumerate(PROMPTS):
            item = make_item(
                session,
                project,
                prompt=prompt,
                is_gold=True,
                external_id=f"gold-{n}",
                gold_answer={"helpful": {"choice": "A"}},
                gold_rationale="The first answer is **correct**; the other one is wrong.",
            )
            item.responses[0].text, item.responses[1].text = good, bad
        for n in range(7):
            item = make_item(
                session,
                project,
                external_id=f"live-{n}",
                prompt=f"Live prompt {n}: summarise the plot of a film you like.",
            )
            item.responses[1].text = f"Live answer {n}, told with a different ending and more words than the first."
        create_user(session, EMAIL, "rater", PASSWORD, name="Newcomer")
        session.commit()
        return project.id


def _lease(page, app) -> Lease:
    lease_id = int(page.locator("#task form.judgment input[name=lease_id]").input_value())
    with _db(app) as session:
        return session.get(Lease, lease_id)


def _answer_keys(lease: Lease, canonical: str) -> list[str]:
    """Keys for helpful = ``canonical`` (strength 1), harmless = tie, as this screen shows it."""
    on_screen = canonical if lease.display_order == [0, 1] else {"A": "B", "B": "A"}[canonical]
    return ["1" if on_screen == "A" else "2", "1", "3"]


def _submit(page, keys: list[str]) -> None:
    before = page.locator("#task form.judgment input[name=lease_id]").input_value()
    for key in keys:
        page.keyboard.press(key)
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/rate")) as posted:
        page.keyboard.press("Enter")
    assert posted.value.status == 200
    expect(page.locator("#task form.judgment input[name=lease_id]").or_(page.locator("#task .done"))).not_to_have_value(
        before
    )


def test_browser_new_rater_qualifies_rates_by_keyboard_and_sees_gold_feedback(page, watch, live_server, app):
    project_id = _setup(app)
    log_in(page, live_server.url, EMAIL, PASSWORD, path=f"/projects/{project_id}/rate")
    done = page.locator("#progress [data-done]")
    expect(done).to_have_text("0")

    # Qualification item 1: answered against the gold answer.
    expect(page.locator("#task .qualification")).to_contain_text("item 1 of 2")
    lease = _lease(page, app)
    assert lease.purpose == LeasePurpose.QUALIFICATION
    _submit(page, _answer_keys(lease, "B"))
    feedback = page.locator("#task .feedback")
    expect(feedback).to_be_visible()
    expected_slot = "A (left)" if lease.display_order == [0, 1] else "B (right)"
    expect(feedback).to_contain_text(f"expected {expected_slot} is better")
    expect(feedback.locator("strong").last).to_have_text("correct")  # the rationale's Markdown, rendered
    expect(done).to_have_text("1")
    if os.environ.get("WORKBENCH_SCREENSHOTS") == "1":
        page.screenshot(path=str(SCREENSHOT))

    # Qualification item 2: right this time; 1 of 2 reaches the 50% bar.
    expect(page.locator("#task .qualification")).to_contain_text("item 2 of 2")
    lease = _lease(page, app)
    _submit(page, _answer_keys(lease, "A"))
    expect(page.locator("#task .feedback")).to_have_count(0)
    expect(page.locator("#flash .notice")).to_have_text("Saved.")
    expect(page.locator("#task .qualification")).to_have_count(0)

    # Five live items, keyboard only; the counter moves with each.
    for step in range(5):
        lease = _lease(page, app)
        assert lease.purpose == LeasePurpose.LIVE
        _submit(page, _answer_keys(lease, "A" if step % 2 else "B"))
        expect(done).to_have_text(str(3 + step))

    # "?" shows every shortcut; Escape hides it.
    page.keyboard.press("?")
    expect(page.locator("#shortcuts")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#shortcuts")).to_be_hidden()

    # "d" loads the word diff between A and B.
    page.keyboard.press("d")
    expect(page.locator("#task .diff-text ins").first).to_be_visible()

    # "s" then "2" skips with the second reason; the item does not count as judged.
    skipped = _lease(page, app)
    page.keyboard.press("s")
    expect(page.locator("#task details.skip")).to_have_attribute("open", "")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/skip")) as posted:
        page.keyboard.press("2")
    assert posted.value.status == 200
    expect(page.locator("#flash .notice")).to_have_text("Skipped.")
    expect(done).to_have_text("7")

    with _db(app) as session:
        judged = session.execute(
            select(Item.external_id, Item.is_gold).join(Judgment, Judgment.item_id == Item.id)
        ).all()
        assert sorted(g for _, g in judged) == [False] * 5 + [True] * 2
        flag = session.scalar(select(ItemFlag))
        assert (flag.lease_id, flag.reason, flag.kind.value) == (skipped.id, "Prompt is unclear", "skip")
        assert session.scalar(select(func.count()).select_from(Lease).where(Lease.completed_at.is_(None))) == 1
    assert watch.problems() == []
