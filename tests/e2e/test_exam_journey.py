"""Issue 5's browser journey (journey 1, step 6): the demo trainee starts the online exam, answers half,
loses the network (Playwright's offline mode) and answers more, comes back online, reloads and finds every
answer, then submits and sees the score."""
import re

from tests.e2e.conftest import e2e_login
from tests.e2e.test_journey_a11y import axe_violations


def _pending(page, attempt_id: str) -> int:
    return page.evaluate(
        "k => Object.keys(JSON.parse(localStorage.getItem(k) || '{}')).length", f"cqo-exam-attempt-{attempt_id}")


def test_trainee_sits_the_exam_through_a_tunnel(page, live_server):
    base = live_server
    e2e_login(page, base, "trainee")
    page.goto(f"{base}/exams/my")
    page.locator("button[id^='start-']").first.click()
    page.wait_for_url(re.compile(r".*/exams/attempts/\d+$"))
    attempt_id = page.url.rsplit("/", 1)[1]
    questions = page.locator("fieldset[data-question]")
    total = questions.count()
    assert total >= 20
    assert page.locator("#timer").inner_text().strip() != ""

    chosen: dict[int, str] = {}

    def answer(i: int) -> None:
        fs = questions.nth(i)
        box = fs.locator("input.form-check-input").first
        box.check()
        chosen[i] = box.get_attribute("id")

    half = total // 2
    for i in range(half):
        answer(i)
    page.wait_for_function("n => document.querySelectorAll('.save-state.saved').length >= n", arg=half)

    page.context.set_offline(True)
    for i in range(half, half + 4):
        answer(i)
    page.wait_for_function("() => document.querySelector('#net-status').classList.contains('text-danger')")
    assert _pending(page, attempt_id) == 4
    assert page.locator(".save-state.pending").count() == 4
    # Offline, with answers waiting: the page's states (待上传, the network warning) stay readable (WCAG AA).
    assert not axe_violations(page)

    page.context.set_offline(False)
    page.wait_for_function(
        "k => !localStorage.getItem(k)", arg=f"cqo-exam-attempt-{attempt_id}", timeout=20000)
    page.wait_for_function("n => document.querySelectorAll('.save-state.saved').length >= n", arg=half + 4)

    page.reload()
    questions = page.locator("fieldset[data-question]")
    assert questions.count() == total
    for i, input_id in chosen.items():
        assert page.locator(f"#{input_id}").is_checked(), f"answer {i + 1} lost"
    unanswered = questions.nth(total - 1).locator("input:checked").count()
    assert unanswered == 0

    page.once("dialog", lambda d: d.accept())
    page.click("#submit-exam")
    page.wait_for_url(re.compile(r".*/exams/attempts/\d+/result$"))
    score = page.locator("#result-score").inner_text()
    assert re.match(r"^\d+(\.\d+)?", score.strip())
    assert page.locator("#result-verdict").inner_text().strip() in ("合格", "不合格")

    # Coming back to the paper (an old tab) shows the same result: the attempt is closed and graded once.
    page.goto(f"{base}/exams/attempts/{attempt_id}")
    page.wait_for_url(re.compile(r".*/exams/attempts/\d+/result$"))
    assert page.locator("#result-score").inner_text() == score
