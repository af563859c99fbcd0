"""The explorer's JSON API, through Flask's test client, against ``strided.tools`` directly."""

from __future__ import annotations

import io
import re
import subprocess
import sys

import numpy as np
import pytest

from strided import kernels
from strided.cli._train import lecture_layer
from strided.datasets import mnist
from strided.explore import Network, create_app
from strided.tools import (
    explain,
    filter_image,
    format_number,
    parse_layer,
    receptive_field_counts,
    stack_steps,
)

LECTURE = "2,0,1,3;7,1,1,0;0,2,5,0;0,5,1,4"
HOMEWORK = "2,0,3,1;1,1,0,0;1,0,2,0;1,0,1,2"


def strings(matrix: np.ndarray) -> list[list[str]]:
    return [[format_number(v) for v in row] for row in np.asarray(matrix)]


def png(array: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def post(client, path: str, body: object):
    response = client.post(path, json=body)
    return response.status_code, response.get_json()


def test_catalogue_is_strided_kernels(client) -> None:
    answer = client.get("/api/catalogue").get_json()
    assert [k["name"] for k in answer["kernels"]] == kernels.names()
    sobel = next(k for k in answer["kernels"] if k["name"] == "sobel-x")
    assert sobel["cells"] == strings(kernels.SOBEL_X)
    assert sobel["description"] == kernels.describe("sobel-x")
    assert answer["padding_modes"] == ["zeros", "reflect", "replicate", "circular", "symmetric"]
    assert {i["kind"]: i["text"] for i in answer["images"]} == {"lecture": LECTURE,
                                                                "homework": HOMEWORK}


def test_lecture_example_output_and_formula(client) -> None:
    status, answer = post(client, "/api/convolve", {
        "image": {"kind": "lecture"}, "kernel": {"name": "horizontal-edge"}})
    assert status == 200
    assert answer["output"] == [["-4", "-3"], ["3", "-8"]]
    assert answer["formula"] == ("output V: 2x2   rows: (4 + 0 + 0 - 3) // 1 + 1 = 2   "
                                 "columns: (4 + 0 + 0 - 3) // 1 + 1 = 2")
    assert answer["steps"][0] == "  height: (4 + 0 + 0 - 3) // 1 + 1 = 1 // 1 + 1 = 2"
    e = explain(kernels.parse(LECTURE), kernels.HORIZONTAL_EDGE)
    assert answer["text"] == e.text()


CONFIGS = [
    {"image": {"kind": "lecture"}, "kernel": {"name": "horizontal-edge"}},
    {"image": {"kind": "homework"}, "kernel": {"name": "sobel-x"}, "padding": "same"},
    {"image": {"kind": "homework"}, "kernel": {"name": "sobel-x"}, "padding": "same",
     "stride": 2, "padding_mode": "reflect"},
    {"image": {"kind": "matrix", "text": "1,2,3,4,5;6,7,8,9,10;11,12,13,14,15;16,17,18,19,20"},
     "kernel": {"cells": [["1", "-1/2"], ["0.25", "3"]]}, "padding": [[1, 0], [2, 1]],
     "stride": [1, 2], "dilation": [2, 1], "padding_mode": "circular", "convolve": True},
    {"image": {"kind": "digit", "index": 3500}, "kernel": {"name": "gaussian", "size": 3,
                                                           "sigma": "0.8"},
     "padding": "same", "stride": 2, "padding_mode": "symmetric"},
]


def _explanation(config: dict) -> object:
    image = config["image"]
    if image["kind"] == "digit":
        matrix = mnist.load_bundled()[0][image["index"]]
    else:
        matrix = kernels.parse({"lecture": LECTURE, "homework": HOMEWORK}.get(
            image["kind"], image.get("text", "")))
    kernel = config["kernel"]
    if "cells" in kernel:
        weights = kernels.parse(";".join(",".join(row) for row in kernel["cells"]))
    else:
        weights = kernels.get(kernel["name"], size=kernel.get("size"),
                              sigma=float(kernel["sigma"]) if "sigma" in kernel else None)
    padding = config.get("padding", "valid")
    padding = tuple(map(tuple, padding)) if isinstance(padding, list) else padding
    return explain(matrix, weights, config.get("stride", 1), padding,
                   padding_mode=config.get("padding_mode", "zeros"),
                   convolve=config.get("convolve", False), dilation=config.get("dilation", 1))


@pytest.mark.parametrize("config", CONFIGS)
def test_every_position_is_strided_explain(client, config: dict) -> None:
    e = _explanation(config)
    status, answer = post(client, "/api/convolve", config)
    assert status == 200, answer
    assert answer["output_shape"] == list(e.output.shape)
    assert answer["formula"] == e.size_formula()
    oh, ow = e.output.shape
    positions = [(r, c) for r in range(oh) for c in range(ow)][:: max(1, oh * ow // 12)]
    for row, col in positions:
        status, p = post(client, "/api/position", {**config, "at": [row, col]})
        assert status == 200, p
        assert p["lines"] == e.explain_position(row, col)
        assert p["products"] == strings(e.products(row, col))
        assert p["field"] == strings(e.receptive_field(row, col))
        assert p["sum"] == format_number(e.products(row, col).sum())
        assert p["value"] == format_number(e.output[row, col])


def test_size_steps_are_describe_stacks(client) -> None:
    status, answer = post(client, "/api/convolve", {
        "image": {"kind": "digit", "index": 0}, "kernel": {"name": "gaussian"},
        "padding": "same", "stride": 2, "dilation": 2})
    assert status == 200
    step = stack_steps((28, 28, 1), [parse_layer("conv:1,5,2,same,2")])[0]
    assert answer["steps"] == step.lines[2:-2]
    assert answer["output_shape"] == [14, 14]


def test_photo_output_pixels_are_filter_images(client) -> None:
    from strided.explore._playground import _photo

    status, answer = post(client, "/api/convolve", {
        "image": {"kind": "photo"}, "kernel": {"name": "sharpen"}, "padding": "same",
        "stride": 2, "display": "clip"})
    assert status == 200
    grey = _photo().astype(np.uint8)
    assert grey.shape == (150, 226)
    pixels, stats = filter_image(grey, kernels.SHARPEN, 2, "same")
    assert answer["output_shape"] == [75, 113]
    np.testing.assert_array_equal(np.array(answer["output_pixels"]), pixels)
    assert answer["clipped"] == round(stats["clipped"] * pixels.size)
    assert "output" not in answer  # a large image is drawn as pixels, numbers on demand


def test_upload_is_used_as_the_image(client) -> None:
    rows, cols = np.mgrid[0:40, 0:60]
    image = ((rows * 5 + cols * 3) % 256).astype(np.uint8)
    response = client.post("/api/upload", data={"image": (io.BytesIO(png(image)), "ramp.png")},
                           content_type="multipart/form-data")
    assert response.status_code == 200
    upload = response.get_json()
    assert (upload["height"], upload["width"]) == (40, 60)
    assert upload["note"] == "ramp.png: 60x40 pixels, read as grey"
    config = {"image": {"kind": "upload", "id": upload["id"]}, "kernel": {"name": "sobel-y"},
              "stride": 3}
    e = explain(image, kernels.SOBEL_Y, 3)
    status, p = post(client, "/api/position", {**config, "at": [5, 7]})
    assert status == 200
    assert p["lines"] == e.explain_position(5, 7)


def test_a_large_upload_is_scaled_to_fit(client) -> None:
    image = np.zeros((500, 900), dtype=np.uint8)
    response = client.post("/api/upload", data={"image": (io.BytesIO(png(image)), "big.png")},
                           content_type="multipart/form-data")
    assert response.status_code == 200
    upload = response.get_json()
    assert (upload["height"], upload["width"]) == (167, 300)
    assert upload["note"] == ("big.png: 900x500 pixels, read as grey, scaled to 300x167 (at "
                              "most 300 a side)")


def test_uploads_keep_the_last_few_and_refuse_too_many_bytes() -> None:
    from strided.explore._playground import MAX_UPLOAD_BYTES, Uploads

    uploads = Uploads(keep=2)
    ids = [uploads.add(png(np.full((3, 4), value, np.uint8)), f"{value}.png")["id"]
           for value in (10, 20, 30)]
    assert uploads.get(ids[2])[0].tolist() == [[30] * 4] * 3
    with pytest.raises(ValueError, match=r"image: no uploaded image with id '\w+' \(the "
                                         r"explorer keeps the last 2\); upload it again"):
        uploads.get(ids[0])
    with pytest.raises(ValueError, match=r"upload: 'big.png' has 4,194,305 bytes, more than the "
                                         r"4,194,304 the explorer accepts"):
        uploads.add(b"\0" * (MAX_UPLOAD_BYTES + 1), "big.png")


@pytest.mark.parametrize(("data", "name", "status", "message"), [
    (b"", "empty.png", 400, r"upload: the file is empty"),
    (b"not an image at all", "notes.txt", 400,
     r"upload: cannot read image 'notes.txt': not an image Pillow can read"),
    (b"\0" * (4 * 1024 * 1024 + 1), "huge.png", 413,
     r"the upload is too large: the explorer accepts images of at most 4 MiB"),
])
def test_bad_uploads(client, data: bytes, name: str, status: int, message: str) -> None:
    response = client.post("/api/upload", data={"image": (io.BytesIO(data), name)},
                           content_type="multipart/form-data")
    assert response.status_code == status
    assert response.is_json
    assert re.match(message, response.get_json()["error"])


BASE = {"image": {"kind": "lecture"}, "kernel": {"name": "sobel-x"}}


@pytest.mark.parametrize(("change", "message"), [
    ({"stride": 5}, r"stride 5 is larger than the image's 4 rows: .* choose a stride from 1 to 4"),
    ({"stride": [1, 0]}, r"stride \(columns\) must be at least 1; got 0"),
    ({"stride": "two"}, r"stride must be a whole number; got 'two'"),
    ({"dilation": 3}, r"^the kernel is larger than the padded input in spatial dimension 0: "
                      r"effective kernel size 7 \(kernel size 3 with dilation 3\) > padded "
                      r"input size 4 \(input size 4, padding \(0, 0\)\); use a smaller kernel"),
    ({"kernel": {"cells": [["1", "x"], ["0", "1"]]}},
     r"kernel cell \(row 0, column 1\) is 'x', not a number"),
    ({"kernel": {"cells": [["1", "2"], ["3"]]}}, r"kernel rows must all have the same length"),
    ({"kernel": {"name": "sobel-z"}}, r"kernel: unknown kernel name 'sobel-z'; known names: "),
    ({"kernel": {"name": "gaussian", "sigma": "wide"}},
     r"kernel sigma must be a positive number; got 'wide'"),
    ({"kernel": {"name": "curve-detector"}}, r"^the kernel is larger than the padded input in "
                                             r"spatial dimension 0: effective kernel size 7 > "
                                             r"padded input size 4"),
    ({"padding": "full"}, r"padding must be valid, same or \[\[top, bottom\], \[left, right\]\]"),
    ({"padding": [[1, -1], [0, 0]]}, r"padding bottom must be from 0 to 300; got -1"),
    ({"padding_mode": "mirror"}, r"padding mode must be one of zeros, reflect, replicate, "),
    ({"image": {"kind": "video"}}, r"image kind must be one of lecture, homework, matrix, "),
    ({"image": {"kind": "matrix", "text": "1,2;3,a"}}, r"image '1,2;3,a' is not a matrix of "
                                                       r"numbers: 'a' is not a number"),
    ({"image": {"kind": "digit", "index": 5000}}, r"digit index must be from 0 to 4999; got 5000"),
    ({"image": {"kind": "upload", "id": "gone"}}, r"image: no uploaded image with id 'gone'"),
    ({"convolve": "yes"}, r"convolve must be true or false; got 'yes'"),
])
def test_bad_input_gets_400_and_one_line(client, change: dict, message: str) -> None:
    status, answer = post(client, "/api/convolve", {**BASE, **change})
    assert status == 400
    assert re.search(message, answer["error"]), answer["error"]
    assert "\n" not in answer["error"] and "Traceback" not in answer["error"]


@pytest.mark.parametrize(("body", "message"), [
    ({**BASE, "at": [2, 0]}, r"output row must be from 0 to 1; got 2"),
    ({**BASE, "at": "0,0"}, r"at must be \[row, column\] of an output pixel; got '0,0'"),
])
def test_bad_positions(client, body: dict, message: str) -> None:
    status, answer = post(client, "/api/position", body)
    assert status == 400
    assert re.match(message, answer["error"])


def test_a_body_that_is_not_json_and_an_unknown_path(client) -> None:
    response = client.post("/api/convolve", data="stride=2")
    assert response.status_code == 400
    assert response.get_json()["error"].startswith("the request body must be a JSON object")
    response = client.get("/api/nothing")
    assert response.status_code == 404 and response.get_json()["error"].startswith("Not Found")


def test_only_this_machine_is_answered(network: Network) -> None:
    app = create_app(network)
    remote = app.test_client().get("/api/catalogue", environ_base={"REMOTE_ADDR": "10.0.0.7"})
    assert remote.status_code == 403
    assert remote.get_json()["error"] == "the explorer answers only this machine"
    local = app.test_client().get("/", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert local.status_code == 200 and b"<title>strided explore</title>" in local.data


def test_the_page_loads_nothing_from_the_internet(client) -> None:
    for path in ("/", "/static/explore.js", "/static/explore.css"):
        text = client.get(path).get_data(as_text=True)
        assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", text), path


# -- the network view --------------------------------------------------------------------------

def test_network_summary_and_filters(client, network: Network) -> None:
    answer = client.get("/api/network").get_json()
    assert answer["available"] is True
    assert answer["parameters"] == 98_986
    # the fixture's network was trained by Network.train, what the page's button calls
    assert re.fullmatch(r"trained here: 1 epoch on 4,000 bundled digits in \d+\.\d s, "
                        r"\d+\.\d% on the other 1,000", answer["source"])
    kernel = lecture_layer(network.model).params["kernel"]
    assert answer["filters_layer"] == "conv2d"
    shown = np.array([f["values"] for f in answer["filters"]]).astype(np.float32)
    np.testing.assert_array_equal(shown, kernel[:, :, 0, :].transpose(2, 0, 1))
    assert [layer["shape"] for layer in answer["layers"] if layer["maps"]][:2] == [
        [14, 14, 16], [14, 14, 32]]


def test_feature_maps_and_probabilities_are_the_models(client, network: Network) -> None:
    status, answer = post(client, "/api/network/digit", {"index": 1234})
    assert status == 200
    images, labels = mnist.load_bundled()
    assert answer["label"] == int(labels[1234]) and answer["image"] == images[1234].tolist()
    x = (images[1234].astype(np.float32) / 255)[None, :, :, None]
    model = network.model
    expected = model.predict(x, verbose=0)[0]
    np.testing.assert_allclose(answer["probabilities"], expected, atol=1e-6)
    assert answer["predicted"] == int(np.argmax(expected))
    first = lecture_layer(model)(x)[0]
    maps = {layer["name"]: np.array(layer["maps"]) for layer in answer["layers"]}
    np.testing.assert_allclose(maps["conv2d"], first.transpose(2, 0, 1), atol=5e-5)
    assert list(maps) == ["conv2d", "conv2d_1", "batch_normalization", "re_lu", "max_pooling2d",
                          "conv2d_2", "batch_normalization_1", "re_lu_1", "max_pooling2d_1"]


def test_receptive_field_of_a_feature_map_pixel(client) -> None:
    status, answer = post(client, "/api/network/receptive-field",
                          {"layer": 7, "row": 3, "col": 4})  # max_pooling2d, 7x7
    assert status == 200
    layers = [parse_layer("conv:16,5,2,same"), parse_layer("conv:32,3,1,same,bias=false"),
              parse_layer("pool:2")]
    counts = receptive_field_counts((28, 28), layers, (3, 4))[0]
    np.testing.assert_array_equal(np.array(answer["counts"]), counts)
    rows, cols = np.nonzero(counts)
    assert answer["box"] == [rows.min(), cols.min(), rows.max(), cols.max()]
    # the two convolutions' weights and the first one's biases: 5*5*1*16 + 16 + 3*3*16*32
    assert answer["stack"][-1] == ("total: 28 x 28 x 1 (H x W x C) -> 7 x 7 x 32 (H x W x C), "
                                   "5,024 parameters")


@pytest.mark.parametrize(("body", "message"), [
    ({"layer": 14, "row": 0, "col": 0}, r"layer 14 \(dense\) has no feature maps; choose one of"),
    ({"layer": 3, "row": 14, "col": 0}, r"row must be from 0 to 13; got 14"),
])
def test_bad_feature_map_pixels(client, body: dict, message: str) -> None:
    status, answer = post(client, "/api/network/receptive-field", body)
    assert status == 400 and re.match(message, answer["error"])


def test_without_a_network_the_page_is_told_how_to_get_one(bare_client) -> None:
    answer = bare_client.get("/api/network").get_json()
    assert answer["available"] is False
    assert "strided explore --weights strided-mnist/lecture_mnist.npz" in answer["message"]
    status, error = post(bare_client, "/api/network/digit", {"index": 0})
    assert status == 409 and error["error"] == answer["message"]
    status, error = post(bare_client, "/api/network/train", {"epochs": 50})
    assert status == 400 and error["error"] == "epochs must be from 1 to 5; got 50"


def test_weights_saved_by_strided_train_load(network: Network, tmp_path) -> None:
    path = tmp_path / "lecture_mnist.npz"
    network.model.save_weights(path)
    loaded = Network.from_weights(path)
    x = np.random.default_rng(0).random((2, 28, 28, 1), dtype=np.float32)
    np.testing.assert_array_equal(loaded.model.predict(x, verbose=0),
                                  network.model.predict(x, verbose=0))
    assert loaded.source == f"weights from {path}"
    with pytest.raises(OSError, match=r"cannot read weights '.*missing.npz': no such file"):
        Network.from_weights(tmp_path / "missing.npz")
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match=r"cannot load weights '.*other.npz' into the lecture's "
                                         r"network"):
        Network.from_weights(tmp_path / "other.npz")


# -- the command -------------------------------------------------------------------------------

def test_import_strided_does_not_import_flask() -> None:
    code = "import sys, strided, strided.tools; print('flask' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.stdout == "False\n", result.stderr


def test_strided_explore_serves_the_page_with_strided_trains_weights(network: Network,
                                                                     tmp_path) -> None:
    import json
    import urllib.request

    (tmp_path / "strided-mnist").mkdir()
    network.model.save_weights(tmp_path / "strided-mnist" / "lecture_mnist.npz")
    process = subprocess.Popen([sys.executable, "-m", "strided", "explore", "--port", "0",
                                "--no-browser"], cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert line.startswith("strided explore: http://127.0.0.1:"), line
        assert line.endswith("(weights from strided-mnist/lecture_mnist.npz; Ctrl-C stops it)\n")
        url = line.split()[2]
        with urllib.request.urlopen(url, timeout=10) as page:
            assert b"<title>strided explore</title>" in page.read()
        with urllib.request.urlopen(url + "api/network", timeout=10) as answer:
            summary = json.load(answer)
        assert summary["source"] == "weights from strided-mnist/lecture_mnist.npz"
        assert summary["filters"] == network.summary()["filters"]
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_strided_explore_with_missing_weights_fails_in_one_line(tmp_path) -> None:
    result = subprocess.run([sys.executable, "-m", "strided", "explore", "--no-browser",
                             "--weights", "nowhere.npz"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr == ("strided: error: cannot read weights 'nowhere.npz': no such file "
                             "(`strided train` writes strided-mnist/lecture_mnist.npz)\n")


def test_auto_greys_are_the_values_only_when_they_are_pixels(client) -> None:
    _, blur = post(client, "/api/convolve", {"image": {"kind": "digit", "index": 10},
                                             "kernel": {"name": "box-blur"}, "padding": "same"})
    assert blur["output_display"] == "clip" and blur["clipped"] == 0
    digit = mnist.load_bundled()[0][10]
    np.testing.assert_array_equal(np.array(blur["output_pixels"]),
                                  filter_image(digit, kernels.BOX_BLUR, 1, "same")[0])
    _, edges = post(client, "/api/convolve", {"image": {"kind": "lecture"},
                                              "kernel": {"name": "horizontal-edge"}})
    assert edges["output_display"] == "rescale"  # -8..3: black is -8, white is 3
    assert edges["output_pixels"] == [[93, 116], [255, 0]]  # 255 * (v + 8) / 11, rounded


def test_strided_explore_on_a_port_in_use_fails_in_one_line(tmp_path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "strided", "explore", "--no-browser",
                                 "--port", str(port)], cwd=tmp_path, capture_output=True,
                                text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith(f"strided: error: cannot listen on 127.0.0.1:{port} (")
    assert result.stderr.endswith("); choose another --port, or 0 for any free one\n")
