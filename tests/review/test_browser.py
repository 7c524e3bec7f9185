"""The review app end to end in a real headless browser (Debian chromium + chromedriver, Selenium).

1. On written masks, one on a permuted, flipped, oblique grid: niivue's drawing bitmap is the mask in the
   voxel order :mod:`lesionkit.review.voxel_order` predicts, and a voxel drawn through niivue's API lands on
   the right voxel of the mask's own grid.
2. On a synthetic cohort segmented by the shipped model: open the case QC flags first, draw a stroke and
   erase some voxels with real mouse events, save; on disk the corrected NIfTI differs from the automatic
   mask in exactly the voxels the page changed, on the input's affine and shape, with its provenance; a
   second tab that loaded the case before the save is refused. Screenshots are saved in the test folder
   (``docs/review_cases.png`` and ``docs/review_viewer.png`` come from this test).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("selenium")

from lesionkit.io import file_sha256
from lesionkit.review import ReviewFolder, from_niivue, niivue_order, to_niivue  # noqa: E402
from lesionkit.review.routes import create_review_app  # noqa: E402
from tests.challenge.conftest import LiveServer  # noqa: E402
from tests.challenge.test_browser import CHROMEDRIVER, CHROMIUM  # noqa: E402
from tests.review._folders import write_folder  # noqa: E402

needs_chromium = pytest.mark.skipif(not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
                                    reason="Debian chromium/chromium-driver missing")


def _driver(tmp_path: Path, size=(1400, 900)):  # noqa: ANN202
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    # WebGL2 on the CPU (SwiftShader): what niivue draws with on a machine without a GPU.
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={tmp_path / 'chromium-profile'}", f"--window-size={size[0]},{size[1]}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)


def _open_case(driver, url: str) -> dict:  # noqa: ANN001
    """Load a viewer page and wait until niivue holds the mask; returns the page's config."""
    driver.get(url)
    deadline = time.monotonic() + 90
    while True:
        state = driver.execute_script("const r = window.lesionkitReview; return r ? [r.state.ready, r.state.error] "
                                      ": null")
        if state and state[1]:
            raise AssertionError(f"viewer failed: {state[1]}; console: {_console(driver)}")
        if state and state[0]:
            return driver.execute_script("return window.lesionkitReview.config")
        assert time.monotonic() < deadline, f"viewer not ready; console: {_console(driver)}"
        time.sleep(0.2)


def _console(driver) -> list[str]:  # noqa: ANN001
    return [f"{e['level']} {e['message'][:300]}" for e in driver.get_log("browser") if "GPU stall" not in e["message"]]


def _bitmap(driver) -> np.ndarray:  # noqa: ANN001
    return np.array(driver.execute_script("return Array.from(window.lesionkitReview.nv.drawBitmap)"), np.uint8)


def _changes(driver) -> tuple[np.ndarray, np.ndarray, int, int]:  # noqa: ANN001
    """Flat indices (niivue's order) the page added and removed since loading, and the counts it shows."""
    added, removed, n_added, n_removed = driver.execute_script("""
        const r = window.lesionkitReview, now = r.nv.drawBitmap, was = r.state.loaded, a = [], d = [];
        for (let i = 0; i < now.length; i++) {
          if (now[i] && !was[i]) a.push(i); else if (was[i] && !now[i]) d.push(i);
        }
        return [a, d, r.state.added, r.state.removed];""")
    return np.array(added, int), np.array(removed, int), n_added, n_removed


def _on_grid(indices: np.ndarray, affine: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Flat indices of niivue's bitmap as a boolean mask on the grid's own voxel order."""
    order = niivue_order(affine, shape)
    flat = np.zeros(int(np.prod(order.shape)), bool)
    flat[indices] = True
    return from_niivue(flat.reshape(order.shape, order="F"), affine, shape)


def _wait_message(driver, start: str, timeout: float = 30) -> str:  # noqa: ANN001
    from selenium.webdriver.common.by import By

    deadline = time.monotonic() + timeout
    while not (text := driver.find_element(By.ID, "message").text).startswith(start):
        assert time.monotonic() < deadline, f"message {text!r}, expected {start!r}…; console: {_console(driver)}"
        time.sleep(0.2)
    return text


@pytest.mark.slow
@pytest.mark.ci_slow
@needs_chromium
def test_niivue_voxel_order_on_an_oblique_grid_and_a_voxel_drawn_there(tmp_path):
    from selenium.webdriver.common.by import By

    folder = ReviewFolder(write_folder(tmp_path / "deriv"), reviewer="ada")
    case = folder.case("sub-r001s003_ses-1")
    mask = np.asanyarray(nib.load(case.mask).dataobj)
    driver = _driver(tmp_path)
    try:
        with LiveServer(create_review_app(folder), log_level="warning") as server:
            config = _open_case(driver, f"{server.url}/cases/{case.id}")
            reported = driver.execute_script("const b = window.lesionkitReview.nv.back; "
                                             "return [Array.from(b.permRAS), Array.from(b.dimsRAS)]")
            assert reported == [[-3, 1, -2], [3, *niivue_order(case.affine, case.shape).shape]]
            assert config["grid"]["perm_ras"] == reported[0]
            # niivue's own reorientation of the mask is exactly lesionkit's prediction of it
            assert np.array_equal(_bitmap(driver), to_niivue(mask, case.affine).ravel(order="F"))
            # one voxel drawn in niivue's order, one erased: they land on the mask's own voxels
            ras = to_niivue(mask, case.affine)
            drawn = tuple(int(v) for v in np.argwhere(ras == 0)[7])
            erased = tuple(int(v) for v in np.argwhere(ras == 1)[3])
            driver.execute_script("""const nv = window.lesionkitReview.nv;
                nv.drawPt(...arguments[0], 1); nv.drawPt(...arguments[1], 0);
                nv.drawAddUndoBitmap(); nv.refreshDrawing(true); nv.onDrawingChanged('draw');""",
                                  list(drawn), list(erased))
            driver.find_element(By.ID, "save").click()
            _wait_message(driver, "Saved")
    finally:
        driver.quit()
    corrected = np.asanyarray(nib.load(case.corrected).dataobj)
    expected = mask.copy()
    one = np.zeros(ras.shape, bool)
    one[drawn] = True
    expected[from_niivue(one, case.affine, case.shape)] = 1
    one[:] = False
    one[erased] = True
    expected[from_niivue(one, case.affine, case.shape)] = 0
    assert np.array_equal(corrected, expected) and np.count_nonzero(corrected != mask) == 2
    assert np.array_equal(nib.load(case.corrected).affine, nib.load(case.mask).affine)


def _segmented_cohort(tmp_path: Path) -> tuple[Path, Path, str]:
    """Three synthetic subjects at 2 mm segmented by the shipped model, and a qc.tsv flagging the one whose
    mask agrees least with the synthetic truth (what lesionkit qc estimates without the truth)."""
    from lesionkit.cli import main
    from lesionkit.core import dice
    from lesionkit.io import load_cohort

    data, deriv = tmp_path / "data", tmp_path / "deriv"
    assert main(["synth", str(data), "--subjects", "3", "--seed", "3", "--resolution", "2", "--quiet"]) == 0
    assert main(["segment", str(data), "-o", str(deriv)]) == 0
    truths = {c.id: c.mask for c in load_cohort(data, truth=True)}
    scores = {}
    for case in load_cohort(deriv, default_role="mask"):
        pred = np.asanyarray(nib.load(case.mask).dataobj) != 0
        scores[case.id] = float(dice(pred, np.asanyarray(nib.load(truths[case.id]).dataobj) != 0))
    worst = min(scores, key=scores.get)
    rows = ["case_id\tsubject\tsession\tqc_score\tqc_flag\tqc_reasons"]
    for case_id, value in sorted(scores.items()):
        subject, session = case_id.split("_")
        flag, reason = ("check", f"least agreement with the truth in this test (Dice {value:.2f})") if (
            case_id == worst) else ("ok", "n/a")
        rows.append(f"{case_id}\t{subject[4:]}\t{session[4:]}\t{1 - value:.3f}\t{flag}\t{reason}")
    (deriv / "qc.tsv").write_text("\n".join(rows) + "\n")
    return data, deriv, worst


def _stroke(driver, canvas, start: tuple[float, float], step: tuple[float, float], n: int) -> None:  # noqa: ANN001
    """Press at ``start`` (CSS px from the canvas's top left), move ``n`` times by ``step``, release."""
    from selenium.webdriver.common.action_chains import ActionChains

    width, height = driver.execute_script("return [arguments[0].clientWidth, arguments[0].clientHeight]", canvas)
    actions = ActionChains(driver, duration=20)
    actions.move_to_element_with_offset(canvas, int(start[0] - width / 2), int(start[1] - height / 2))
    actions.click_and_hold()
    for _ in range(n):
        actions.move_by_offset(int(step[0]), int(step[1]))
    actions.release().perform()
    time.sleep(0.3)


def _crosshair_css(driver) -> tuple[float, float]:  # noqa: ANN001
    return tuple(driver.execute_script("""const nv = window.lesionkitReview.nv, c = nv.canvas;
        const p = nv.frac2canvasPos(nv.scene.crosshairPos), s = c.width / c.clientWidth;
        return [p[0] / s, p[1] / s];"""))


@pytest.mark.slow
@pytest.mark.ci_slow
@needs_chromium
def test_browser_correct_the_flagged_case_of_a_segmented_cohort(tmp_path):
    from selenium.webdriver.common.by import By

    data, deriv, flagged = _segmented_cohort(tmp_path)
    folder = ReviewFolder(deriv, t1=data, reviewer="ada")
    case = folder.case(flagged)
    automatic = nib.load(case.mask)
    before = np.asanyarray(automatic.dataobj) != 0
    automatic_hash = file_sha256(case.mask)
    driver = _driver(tmp_path)
    try:
        with LiveServer(create_review_app(folder), log_level="warning") as server:
            driver.get(server.url + "/")
            first = driver.find_element(By.CSS_SELECTOR, "#cases tbody tr")
            assert first.get_attribute("data-case") == flagged and "flagged" in first.get_attribute("class")
            driver.save_screenshot(str(tmp_path / "review_cases.png"))
            first.find_element(By.TAG_NAME, "a").click()
            config = _open_case(driver, driver.current_url)
            assert config["id"] == flagged and config["background_kind"] == "T1w"
            # a second tab opens the same case before the first one saves
            first_tab = driver.current_window_handle
            driver.switch_to.new_window("tab")
            _open_case(driver, f"{server.url}/cases/{flagged}")
            second_tab = driver.current_window_handle
            driver.switch_to.window(first_tab)

            canvas = driver.find_element(By.ID, "gl")
            driver.find_element(By.CSS_SELECTOR, '#views [data-view="axial"]').click()
            driver.find_element(By.CSS_SELECTOR, '#lesions .go[data-lesion="0"]').click()  # the largest lesion
            time.sleep(0.3)
            x, y = _crosshair_css(driver)
            driver.find_element(By.CSS_SELECTOR, '#tools [data-tool="pen"]').click()
            _stroke(driver, canvas, (x + 25, y - 40), (8, 4), 6)  # beside the lesion
            driver.find_element(By.CSS_SELECTOR, '#tools [data-tool="eraser"]').click()
            _stroke(driver, canvas, (x - 12, y), (4, 0), 6)  # through it
            added, removed, n_added, n_removed = _changes(driver)
            assert len(added) == n_added > 0 and len(removed) == n_removed > 0
            shown = driver.find_element(By.ID, "changes").text
            assert f"+{n_added:,}" in shown and f"−{n_removed:,}" in shown
            driver.find_element(By.ID, "save").click()
            saved_text = _wait_message(driver, "Saved")
            saved = driver.execute_script("return window.lesionkitReview.state.saved")
            driver.find_element(By.CSS_SELECTOR, '#views [data-view="multiplanar"]').click()
            driver.find_element(By.ID, "accept").click()
            _wait_message(driver, "accepted by ada")
            driver.execute_script("window.scrollTo(0, 0); document.querySelector('.panel').scrollTop = 0")
            time.sleep(0.5)
            driver.save_screenshot(str(tmp_path / "review_viewer.png"))

            driver.switch_to.window(second_tab)  # loaded before the save: refused, nothing written
            corrected_hash = file_sha256(case.corrected)
            driver.execute_script("""const nv = window.lesionkitReview.nv;
                nv.drawPt(1, 1, 1, 1); nv.drawAddUndoBitmap(); nv.onDrawingChanged('draw');""")
            driver.find_element(By.ID, "save").click()
            refused = _wait_message(driver, "Not saved")
            assert "409" in refused and "saved by ada" in refused
            assert file_sha256(case.corrected) == corrected_hash
            console = _console(driver)
    finally:
        driver.quit()
    # nothing refused by the page's CSP, no script error; the one failed resource is the refused save (409)
    assert not [line for line in console if "Refused" in line or ("SEVERE" in line and "409" not in line)], console

    corrected = nib.load(case.corrected)
    after = np.asanyarray(corrected.dataobj) != 0
    assert corrected.shape == automatic.shape and np.array_equal(corrected.affine, automatic.affine)
    assert corrected.get_data_dtype() == np.uint8
    # exactly the voxels the page changed, mapped back from niivue's order onto the mask's grid
    assert np.array_equal(after & ~before, _on_grid(added, case.affine, case.shape))
    assert np.array_equal(before & ~after, _on_grid(removed, case.affine, case.shape))
    assert file_sha256(case.mask) == automatic_hash  # the automatic mask is never written
    sidecar = json.loads(Path(str(case.corrected).replace(".nii.gz", ".json")).read_text())
    correction = sidecar["Correction"]
    assert (correction["voxels_added"], correction["voxels_removed"]) == (n_added, n_removed)
    assert (saved["voxels_added"], saved["voxels_removed"]) == (n_added, n_removed)
    assert f"+{n_added:,}" in saved_text and f"−{n_removed:,}" in saved_text
    assert correction["source_mask"] == case.mask.relative_to(deriv).as_posix()
    assert correction["source_sha256"] == automatic_hash and correction["reviewer"] == "ada"
    assert correction["sha256"] == file_sha256(case.corrected) and sidecar["LesionVoxels"] == int(after.sum())
    decisions = (deriv / "review.tsv").read_text().splitlines()
    assert decisions[1].startswith(f"{flagged}\taccepted\tada\t") and decisions[1].endswith(correction["sha256"])
    for name in ("review_cases.png", "review_viewer.png"):
        assert (tmp_path / name).stat().st_size > 20_000


def _outline(driver, canvas, corner: tuple[float, float], size: tuple[float, float]) -> None:  # noqa: ANN001
    """One closed rectangular stroke from ``corner`` (CSS px from the canvas's top left), in small steps."""
    from selenium.webdriver.common.action_chains import ActionChains

    width, height = driver.execute_script("return [arguments[0].clientWidth, arguments[0].clientHeight]", canvas)
    chain = ActionChains(driver, duration=20).move_to_element_with_offset(
        canvas, int(corner[0] - width / 2), int(corner[1] - height / 2)).click_and_hold()
    dx, dy = int(size[0] / 4), int(size[1] / 4)
    for step in [(dx, 0)] * 4 + [(0, dy)] * 4 + [(-dx, 0)] * 4 + [(0, -dy)] * 4:
        chain.move_by_offset(*step)
    chain.release().perform()
    time.sleep(0.3)


def _voxel_css(driver, voxel) -> tuple[float, float]:  # noqa: ANN001
    """Where a voxel (niivue's order) of the current slice is on the canvas, in CSS px."""
    return tuple(driver.execute_script("""const nv = window.lesionkitReview.nv, c = nv.canvas;
        const p = nv.frac2canvasPos(nv.vox2frac(arguments[0])), s = c.width / c.clientWidth;
        return [p[0] / s, p[1] / s];""", list(voxel)))


def _page(driver, expression: str):  # noqa: ANN001, ANN202
    """The value of a JavaScript expression over the page's ``nv`` (niivue) and ``state``."""
    return driver.execute_script(f"const {{ nv, state }} = window.lesionkitReview; return {expression};")


def _key(driver, key: str) -> None:  # noqa: ANN001
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).send_keys(key).perform()
    time.sleep(0.1)


@pytest.mark.slow
@pytest.mark.ci_slow
@needs_chromium
def test_tools_shortcuts_fill_erase_lesion_undo_and_back_to_automatic(tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    folder = ReviewFolder(write_folder(tmp_path / "deriv"), reviewer="ada")
    case = folder.case("sub-r001s001_ses-1")
    driver = _driver(tmp_path)
    try:
        with LiveServer(create_review_app(folder), log_level="warning") as server:
            _open_case(driver, f"{server.url}/cases/{case.id}")
            driver.find_element(By.TAG_NAME, "h1").click()  # focus the page, not the canvas
            _key(driver, "1")
            assert _page(driver, "nv.opts.sliceType") == 0
            _key(driver, "4")
            assert _page(driver, "nv.opts.sliceType") == 3
            for key, tool, pen in (("d", "pen", 1), ("e", "eraser", 0), ("f", "fill", 1)):
                _key(driver, key)
                assert _page(driver, "[state.tool, nv.opts.penValue, nv.opts.drawingEnabled]") == [
                    tool, pen, True]
            assert _page(driver, "nv.opts.isFilledPen")
            _key(driver, "x")
            assert _page(driver, "[state.tool, Object.is(nv.opts.penValue, -0)]") == ["erase-lesion", True]
            _key(driver, Keys.ESCAPE)
            assert _page(driver, "nv.opts.drawingEnabled") is False
            _key(driver, "]")
            _key(driver, "]")
            assert _page(driver, "nv.opts.penSize") == 7
            _key(driver, "[")
            assert _page(driver, "nv.opts.penSize") == 5
            _key(driver, "o")
            assert _page(driver, "nv.drawOpacity") == 0
            _key(driver, "o")
            assert _page(driver, "nv.drawOpacity") == 0.6
            driver.execute_script("const s = document.getElementById('contrast-min'); s.value = 500; "
                                  "s.dispatchEvent(new Event('input'))")
            low, high = _page(driver, "[nv.volumes[0].cal_min, nv.volumes[0].global_min + "
                                              "(nv.volumes[0].global_max - nv.volumes[0].global_min) / 2]")
            assert abs(low - high) < 1e-3 * abs(high)

            canvas = driver.find_element(By.ID, "gl")
            _key(driver, "1")
            _key(driver, "x")
            # the page opens on lesion 1 (the 6×7×5 box); N goes to lesion 2 (2×2×2), B back to lesion 1
            for key, size in (("n", 8), ("b", 6 * 7 * 5)):
                _key(driver, key)
                time.sleep(0.3)
                x, y = _crosshair_css(driver)
                _stroke(driver, canvas, (x, y), (0, 0), 0)  # one click on a lesion erases all of it, in 3-D
                assert _page(driver, "[state.added, state.removed]") == [0, size]
                _key(driver, "z")
                assert _page(driver, "[state.added, state.removed]") == [0, 0]
            # the same closed outline with a 1-voxel pen and with fill: fill adds the inside too
            _key(driver, "[")
            _key(driver, "[")
            assert _page(driver, "nv.opts.penSize") == 1
            k = _page(driver, "nv.frac2vox(nv.scene.crosshairPos)[2]")
            corner, far = _voxel_css(driver, (11, 14, k)), _voxel_css(driver, (17, 19, k))  # clear of both lesions
            added = {}
            for key in ("d", "f"):
                _key(driver, key)
                _outline(driver, canvas, corner, (far[0] - corner[0], far[1] - corner[1]))
                added[key] = _page(driver, "state.added")
                _key(driver, "z")
                assert _page(driver, "state.added") == 0
            assert 0 < added["d"] < added["f"], added
            # erase the lesion, save, then back to the automatic mask and save again: the two saves undo each other
            _key(driver, "x")
            _stroke(driver, canvas, (x, y), (0, 0), 0)
            _key(driver, "s")
            _wait_message(driver, "Saved")
            assert np.count_nonzero(np.asanyarray(nib.load(case.corrected).dataobj)) == 8  # the small lesion
            driver.find_element(By.ID, "revert").click()
            _wait_message(driver, "The automatic mask is back")
            assert _page(driver, "[state.added, state.removed]") == [6 * 7 * 5, 0]
            driver.find_element(By.ID, "save").click()
            _wait_message(driver, "Saved")
            assert np.array_equal(np.asanyarray(nib.load(case.corrected).dataobj),
                                  np.asanyarray(nib.load(case.mask).dataobj))
            # a decision is about the saved mask: with unsaved changes it is refused by the page
            _key(driver, "e")
            _stroke(driver, canvas, (x, y), (3, 0), 3)
            _key(driver, "a")
            assert "Save (or undo) the changes first" in _wait_message(driver, "Save (or undo)")
            assert not (folder.root / "review.tsv").exists()
    finally:
        driver.quit()
