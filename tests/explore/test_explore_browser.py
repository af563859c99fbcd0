"""The explorer's page in a real headless browser (Debian's chromium and chromium-driver,
driven by selenium): what it shows must be what ``strided.tools`` computes.

Screenshots of each state are saved under pytest's temporary directory
(``.../explore-screenshots0/``); with ``STRIDED_README_IMAGES=docs/images`` the two that the
README shows are copied there too.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from strided import kernels
from strided.datasets import mnist
from strided.explore import Network, create_app, make_server
from strided.tools import explain, format_number

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None or DRIVER is None,
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium "
           "chromium-driver; .ci/run installs them): "
           f"chromium {'found' if CHROMIUM else 'missing'}, "
           f"chromedriver {'found' if DRIVER else 'missing'}")
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is in the test extra")

from selenium.webdriver.common.actions.action_builder import ActionBuilder  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

HOMEWORK = kernels.parse("2,0,3,1;1,1,0,0;1,0,2,0;1,0,1,2")
README_SHOTS = {"kernel-and-click.png": "explore_playground.png",
                "network.png": "explore_network.png"}


@pytest.fixture(scope="module")
def url(network: Network):
    server = make_server(create_app(network), 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.port}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1400,1200",
                     "--force-device-scale-factor=1"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(20)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("explore-screenshots")


def screenshot(driver, shots: Path, name: str) -> Path:
    path = shots / name
    driver.save_screenshot(str(path))
    readme = os.environ.get("STRIDED_README_IMAGES")
    if readme and name in README_SHOTS:
        shutil.copyfile(path, Path(readme) / README_SHOTS[name])
    return path


def wait(driver, condition, message: str, timeout: float = 15):
    return WebDriverWait(driver, timeout).until(lambda d: condition(d), message)


def text(driver, element_id: str) -> str:
    return driver.find_element(By.ID, element_id).text


def wait_text(driver, element_id: str, expected: str) -> None:
    wait(driver, lambda d: text(d, element_id) == expected,
         f"#{element_id} never showed {expected!r} (it shows {text(driver, element_id)!r}; "
         f"error banner: {text(driver, 'error')!r})")


def choose(driver, element_id: str, value: str) -> None:
    Select(driver.find_element(By.ID, element_id)).select_by_value(value)


def type_into(driver, element_id: str, value: str) -> None:
    field = driver.find_element(By.ID, element_id)
    field.clear()
    field.send_keys(value)


def open_page(driver, url: str) -> None:
    driver.get(url)
    wait_text(driver, "formula", explain(kernels.parse("2,0,1,3;7,1,1,0;0,2,5,0;0,5,1,4"),
                                         kernels.HORIZONTAL_EDGE).size_formula())


def click_canvas(driver, canvas, row: int, col: int, scale: float) -> None:
    """Click the middle of cell (row, col) of a canvas drawn ``scale`` pixels a cell, at
    whole viewport coordinates (a cell of the photograph is less than two pixels wide)."""
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", canvas)
    left, top = driver.execute_script(
        "const r = arguments[0].getBoundingClientRect(); return [r.left, r.top];", canvas)
    x, y = int(left + (col + 0.5) * scale), int(top + (row + 0.5) * scale)
    actions = ActionBuilder(driver)
    actions.pointer_action.move_to_location(x, y).click()
    actions.perform()


def click_output(driver, row: int, col: int) -> None:
    scale = driver.execute_script("return state.scale.output")
    click_canvas(driver, driver.find_element(By.ID, "output-canvas"), row, col, scale)
    wait(driver, lambda d: text(d, "position-title").startswith(f"V({row}, {col}) = "),
         f"clicking output ({row}, {col}) did not explain it")


def shown_position(driver) -> dict[str, object]:
    """The products table, the sum and the explanation, read at one moment."""
    return driver.execute_script("""
        return {products: Array.from(document.querySelectorAll("#products td[data-product]"))
                                .map((td) => td.dataset.product),
                sum: document.getElementById("sum").innerText,
                text: document.getElementById("explain-text").innerText};""")


def check_position(driver, e, row: int, col: int) -> None:
    """The products, the sum and the text on the page are ``strided explain``'s."""
    products = e.products(row, col)
    expected = {"products": [format_number(v) for v in products.ravel()],
                "sum": f"V({row}, {col}) = {format_number(products.sum())}",
                "text": "\n".join(e.explain_position(row, col))}
    wait(driver, lambda d: shown_position(d) == expected,
         f"the page does not show strided explain's V({row}, {col}): "
         f"{shown_position(driver)} != {expected}")


def test_choose_a_kernel_and_click_an_output_pixel(browser, url, shots) -> None:
    open_page(browser, url)
    choose(browser, "image-kind", "homework")
    choose(browser, "kernel-name", "sobel-x")
    choose(browser, "padding", "same")
    e = explain(HOMEWORK, kernels.SOBEL_X, 1, "same")
    wait_text(browser, "formula", e.size_formula())
    click_output(browser, 1, 2)
    check_position(browser, e, 1, 2)
    assert text(browser, "position-title").startswith(
        f"V(1, 2) = {format_number(e.output[1, 2])} (kept")
    screenshot(browser, shots, "kernel-and-click.png")


def test_hover_explains_without_keeping(browser, url) -> None:
    open_page(browser, url)
    e = explain(kernels.parse("2,0,1,3;7,1,1,0;0,2,5,0;0,5,1,4"), kernels.HORIZONTAL_EDGE)
    canvas = browser.find_element(By.ID, "output-canvas")
    scale = browser.execute_script("return state.scale.output")
    left, top = browser.execute_script(
        "const r = arguments[0].getBoundingClientRect(); return [r.left, r.top];", canvas)
    for row, col in ((1, 0), (0, 1)):
        actions = ActionBuilder(browser)
        actions.pointer_action.move_to_location(int(left + (col + 0.5) * scale),
                                                int(top + (row + 0.5) * scale))
        actions.perform()
        wait_text(browser, "position-title", f"V({row}, {col}) = "
                                             f"{format_number(e.output[row, col])}")
        check_position(browser, e, row, col)


def test_change_the_stride(browser, url, shots) -> None:
    open_page(browser, url)
    choose(browser, "image-kind", "homework")
    choose(browser, "kernel-name", "sobel-x")
    choose(browser, "padding", "same")
    type_into(browser, "stride-rows", "2")
    type_into(browser, "stride-cols", "2")
    e = explain(HOMEWORK, kernels.SOBEL_X, 2, "same")
    assert e.size_formula() == ("output V: 2x2   rows: (4 + 0 + 1 - 3) // 2 + 1 = 2   columns: "
                                "(4 + 0 + 1 - 3) // 2 + 1 = 2")
    wait_text(browser, "formula", e.size_formula())
    assert text(browser, "output-caption") == "output V: 2x2"
    assert "height: SAME -> output = ceil(4 / 2) = 2" in text(browser, "steps")
    click_output(browser, 1, 1)
    check_position(browser, e, 1, 1)
    screenshot(browser, shots, "stride-2.png")
    type_into(browser, "stride-rows", "9")
    wait(browser, lambda d: text(d, "error").startswith(
        "stride 9 is larger than the image's 4 rows"), "no message for a stride of 9")
    assert text(browser, "formula") == e.size_formula()  # the last good state stays
    screenshot(browser, shots, "stride-too-large.png")


def test_upload_an_image(browser, url, shots, tmp_path: Path) -> None:
    from PIL import Image

    rows, cols = np.mgrid[0:40, 0:60]
    image = np.where((rows - 20) ** 2 + (cols - 30) ** 2 < 150, 230, (cols * 3) % 256)
    image = image.astype(np.uint8)
    path = tmp_path / "ramp.png"
    Image.fromarray(image).save(path)
    open_page(browser, url)
    choose(browser, "kernel-name", "outline")
    choose(browser, "image-kind", "upload")
    browser.find_element(By.ID, "upload-file").send_keys(str(path))
    e = explain(image, kernels.OUTLINE)
    wait_text(browser, "output-caption", "output V: 38x58")
    assert text(browser, "image-note") == "ramp.png: 60x40 pixels, read as grey"
    wait_text(browser, "formula", e.size_formula())
    click_output(browser, 12, 17)
    check_position(browser, e, 12, 17)
    screenshot(browser, shots, "upload.png")
    bad = tmp_path / "bad.png"
    bad.write_text("this is not a picture")
    browser.find_element(By.ID, "upload-file").send_keys(str(bad))
    wait(browser, lambda d: text(d, "error").startswith(
        "upload: cannot read image 'bad.png': not an image Pillow can read"),
        "no message for an unreadable upload")
    screenshot(browser, shots, "upload-unreadable.png")


def test_a_kernel_cell_that_is_not_a_number(browser, url, shots) -> None:
    open_page(browser, url)
    cell = browser.find_element(By.CSS_SELECTOR, ".kcell[data-r='1'][data-c='2']")
    cell.clear()
    cell.send_keys("abc")
    wait(browser, lambda d: text(d, "error").startswith(
        "kernel cell (row 1, column 2) is 'abc', not a number"), "no message for 'abc'")
    assert "bad" in cell.get_attribute("class").split()
    assert Select(browser.find_element(By.ID, "kernel-name")).first_selected_option.text == (
        "custom (edit the cells)")
    screenshot(browser, shots, "kernel-cell-not-a-number.png")
    cell.clear()
    cell.send_keys("2")
    edited = np.array(kernels.HORIZONTAL_EDGE)
    edited[1, 2] = 2
    e = explain(kernels.parse("2,0,1,3;7,1,1,0;0,2,5,0;0,5,1,4"), edited)
    wait(browser, lambda d: text(d, "error") == "", "the message did not go away")
    click_output(browser, 0, 1)
    check_position(browser, e, 0, 1)


def test_the_photograph(browser, url, shots) -> None:
    from strided.explore._playground import _photo

    open_page(browser, url)
    choose(browser, "image-kind", "photo")
    choose(browser, "kernel-name", "sobel-y")
    choose(browser, "padding", "same")
    e = explain(_photo(), kernels.SOBEL_Y, 1, "same")
    wait_text(browser, "formula", e.size_formula())
    click_output(browser, 60, 100)
    check_position(browser, e, 60, 100)
    screenshot(browser, shots, "photograph.png")


def test_the_network_view(browser, url, shots, network: Network) -> None:
    open_page(browser, url)
    browser.find_element(By.ID, "tab-network").click()
    images, labels = mnist.load_bundled()
    answer = network.digit(3500)
    wait_text(browser, "net-digit-caption",
              f"#3500 (a {labels[3500]}), predicted {answer['predicted']}")
    maps = browser.find_elements(By.CSS_SELECTOR, ".maps canvas")
    assert len(maps) == 16 + 3 * 32 + 32 + 3 * 64 + 64
    bars = browser.find_elements(By.CSS_SELECTOR, "#probabilities .bar")
    assert [bar.text.split()[-1] for bar in bars] == [f"{100 * p:.2f}%"
                                                      for p in answer["probabilities"]]
    pool = browser.find_element(By.CSS_SELECTOR, ".maps canvas[data-layer='7'][data-map='3']")
    click_canvas(browser, pool, 3, 4, 8)  # a 7x7 map drawn 8 pixels a cell
    field = network.receptive_field(7, 3, 4)
    (r0, c0, r1, c1), (h, w) = field["box"], field["size"]
    wait(browser, lambda d: f"rows {r0}..{r1}, columns {c0}..{c1} ({h}x{w} pixels"
         in text(d, "field-info"), "the receptive field was not shown")
    info = text(browser, "field-info")
    assert info.startswith("max_pooling2d map 3, pixel (3, 4) = ")
    shown = float(info.split(" = ")[1].split(":")[0])
    assert shown == answer["layers"][4]["maps"][3][3][4]  # rounded to 4 decimals by the server
    browser.execute_script("window.scrollTo(0, 0)")  # the digit with the field, the filters
    screenshot(browser, shots, "network.png")
    browser.find_elements(By.CSS_SELECTOR, "#filters canvas")[5].click()
    kernel = kernels.parse(";".join(",".join(row) for row in
                                    network.summary()["filters"][5]["values"]))
    e = explain(images[3500], kernel, 2, "same")
    wait_text(browser, "formula", e.size_formula())
    assert text(browser, "output-caption") == "output V: 14x14"
    click_output(browser, 7, 6)
    check_position(browser, e, 7, 6)
    screenshot(browser, shots, "filter-in-playground.png")
