"""ONNX out (strided -> onnxruntime gives strided's outputs) and in (graphs of each padding
rule, group and dilation, run by strided, give onnxruntime's outputs)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import strided
from strided import layers as L
from strided.formats import from_onnx, to_onnx

onnx = pytest.importorskip("onnx", reason="the onnx package (the onnx extra) builds graphs")
ort = pytest.importorskip("onnxruntime", reason="onnxruntime (the test extra) is the oracle")
helper = onnx.helper


def _run(proto, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(proto.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def _channels_last() -> strided.Sequential:
    strided.set_random_seed(0)
    return strided.Sequential([
        L.Input((13, 12, 3)), L.Rescaling(1 / 2, offset=-0.25),
        L.Conv2D(8, 3, strides=2, padding="same", activation="relu"),  # 13 -> 7, 12 -> 6
        L.BatchNormalization(), L.ZeroPadding2D(((1, 0), (0, 2))),
        L.Conv2D(8, 3, padding="same", groups=2, dilation_rate=2, activation="gelu"),
        L.DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2,
                          activation="hard_sigmoid"),
        L.MaxPooling2D(2, strides=1, padding="same"), L.AveragePooling2D(3, padding="same"),
        L.Conv2D(6, 1, activation="silu"), L.ReLU(max_value=6.0), L.LeakyReLU(0.1), L.ELU(0.5),
        L.Flatten(), L.Dropout(0.5), L.Dense(9, activation="tanh"), L.Reshape((3, 3)),
        L.Permute((2, 1)), L.Softmax(axis=1)])


def _with_statistics(model: strided.Sequential) -> strided.Sequential:
    rng = np.random.default_rng(1)
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            layer.params["moving_mean"][...] = rng.uniform(-1, 1, layer.params["gamma"].shape)
            layer.params["moving_variance"][...] = rng.uniform(0.5, 2, layer.params[
                "gamma"].shape)
            layer.params["gamma"][...] = rng.uniform(0.5, 2, layer.params["gamma"].shape)
    return model


def test_a_channels_last_model_runs_in_onnxruntime_and_comes_back(tmp_path: Path) -> None:
    model = _with_statistics(_channels_last())
    x = np.random.default_rng(2).standard_normal((5, 13, 12, 3)).astype(np.float32)
    expected = model.predict(x)
    proto = to_onnx(model, tmp_path / "m.onnx")
    ops = [n.op_type for n in proto.graph.node]
    assert ops.count("Transpose") == 3  # into NCHW once, out before Flatten, and Permute
    np.testing.assert_allclose(_run(proto, x), expected, rtol=1e-5, atol=1e-5)
    back = strided.load_model(tmp_path / "m.onnx")
    np.testing.assert_allclose(back.predict(x), expected, rtol=1e-5, atol=1e-5)
    convs = [layer for layer in back.layers if isinstance(layer, L.BaseConv)]
    assert [c.data_format for c in convs] == ["channels_last"] * 4
    assert convs[0].name == model.layers[1].name and convs[0].padding == "same"


def test_a_channels_first_model_with_global_pooling() -> None:
    strided.set_random_seed(3)
    model = _with_statistics(strided.Sequential([
        L.Input((2, 9, 8)), L.Conv2D(4, 2, strides=2, padding="same",
                                     data_format="channels_first"),
        L.BatchNormalization(axis=1), L.Activation("softplus"),
        L.GlobalAveragePooling2D(data_format="channels_first"), L.Dense(3, use_bias=False),
        L.Activation("log_softmax")]))
    x = np.random.default_rng(4).standard_normal((3, 2, 9, 8)).astype(np.float32)
    proto = to_onnx(model)
    assert "Transpose" not in [n.op_type for n in proto.graph.node]
    np.testing.assert_allclose(_run(proto, x), model.predict(x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(from_onnx(proto).predict(x), model.predict(x), rtol=1e-5,
                               atol=1e-6)


def _graph(nodes, initializers, shape, out="y"):
    x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["N", *shape])
    y = helper.make_tensor_value_info(out, onnx.TensorProto.FLOAT, None)
    graph = helper.make_graph(nodes, "g", [x], [y], initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _tensor(name: str, array: np.ndarray):
    return onnx.numpy_helper.from_array(array.astype(np.float32), name)


@pytest.mark.parametrize("auto_pad", ["SAME_UPPER", "SAME_LOWER", "VALID", "NOTSET"])
@pytest.mark.parametrize(("size", "stride", "dilation", "group"),
                         [(10, 2, 1, 1), (9, 2, 1, 2), (11, 3, 2, 1), (8, 1, 2, 4)])
def test_imported_convolutions_match_onnxruntime(auto_pad: str, size: int, stride: int,
                                                 dilation: int, group: int) -> None:
    rng = np.random.default_rng(size * stride + group)
    w = rng.standard_normal((8, 4 // group, 3, 2))
    attributes = {"strides": [stride, 1], "dilations": [dilation, 1], "group": group}
    if auto_pad == "NOTSET":
        attributes["pads"] = [2, 0, 1, 1]
    else:
        attributes["auto_pad"] = auto_pad
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", **attributes),
             helper.make_node("MaxPool", ["c"], ["p"], kernel_shape=[2, 2], strides=[1, 1]),
             helper.make_node("Relu", ["p"], ["y"])]
    weights = [_tensor("w", w), _tensor("b", rng.standard_normal(8))]
    proto = _graph(nodes, weights, [4, size, size - 1])
    oracle = proto
    if auto_pad.startswith("SAME") and dilation > 1:
        # onnxruntime runs no dilated auto_pad: give it the pads of the ONNX spec's rule
        pads = []
        for n, s, d, k in zip((size, size - 1), (stride, 1), (dilation, 1), (3, 2)):
            total = max((-(-n // s) - 1) * s + (k - 1) * d + 1 - n, 0)
            small = total // 2
            pads.append((small, total - small) if auto_pad == "SAME_UPPER"
                        else (total - small, small))
        explicit = {**attributes, "pads": [pads[0][0], pads[1][0], pads[0][1], pads[1][1]]}
        del explicit["auto_pad"]
        oracle = _graph([helper.make_node("Conv", ["x", "w", "b"], ["c"], **explicit),
                         *nodes[1:]], weights, [4, size, size - 1])
    x = rng.standard_normal((2, 4, size, size - 1)).astype(np.float32)
    np.testing.assert_allclose(from_onnx(proto).predict(x), _run(oracle, x), rtol=1e-5,
                               atol=1e-5)


def test_matmul_add_and_gemm_transposed_become_dense() -> None:
    rng = np.random.default_rng(5)
    nodes = [helper.make_node("Flatten", ["x"], ["f"]),
             helper.make_node("MatMul", ["f", "m"], ["h"]),
             helper.make_node("Add", ["h", "c"], ["a"]),
             helper.make_node("Gemm", ["a", "g"], ["z"], transB=1, alpha=0.5),
             helper.make_node("Clip", ["z", "lo", "hi"], ["y"])]
    proto = _graph(nodes, [_tensor("m", rng.standard_normal((6, 4))),
                           _tensor("c", rng.standard_normal(4)),
                           _tensor("g", rng.standard_normal((3, 4))),
                           _tensor("lo", np.array(0.0)), _tensor("hi", np.array(1.0))],
                   [2, 3])
    model = from_onnx(proto)
    assert [type(layer).__name__ for layer in model.layers] == ["Flatten", "Dense", "Dense",
                                                                 "ReLU"]
    x = rng.standard_normal((4, 2, 3)).astype(np.float32)
    np.testing.assert_allclose(model.predict(x), _run(proto, x), rtol=1e-5, atol=1e-6)


def test_operators_strided_cannot_run_are_named_before_any_work() -> None:
    nodes = [helper.make_node("Resize", ["x"], ["a"]), helper.make_node("Relu", ["a"], ["b"]),
             helper.make_node("LSTM", ["b"], ["c"]), helper.make_node("Resize", ["c"], ["y"])]
    with pytest.raises(NotImplementedError, match=r"uses operators strided cannot run: LSTM "
                                                  r"\(1\), Resize \(2\); it runs .*Conv"):
        from_onnx(_graph(nodes, [], [1, 4, 4]))
    pool = [helper.make_node("MaxPool", ["x"], ["y"], name="p", kernel_shape=[2, 2],
                             ceil_mode=1)]
    with pytest.raises(NotImplementedError, match=r"MaxPool node 'p' of the ONNX model has "
                                                  r"ceil_mode"):
        from_onnx(_graph(pool, [], [1, 5, 5]))
    odd = [helper.make_node("MaxPool", ["x"], ["y"], name="p", kernel_shape=[3, 3], strides=[2, 2],
                            pads=[1, 1, 1, 1])]
    with pytest.raises(NotImplementedError, match=r"pads by \(\(1, 1\), \(1, 1\)\), not as "
                                                  r"TensorFlow's SAME"):
        from_onnx(_graph(odd, [], [1, 6, 6]))
    branch = [helper.make_node("Relu", ["x"], ["a"]), helper.make_node("Add", ["a", "x"], ["y"])]
    with pytest.raises(NotImplementedError, match=r"reads its operand from tensor 'x', "
                                                  r"computed in the graph"):
        from_onnx(_graph(branch, [], [3]))


def test_the_exporter_names_every_layer_it_cannot_write() -> None:
    model = strided.Sequential([L.Input((8, 8, 2)), L.Conv2DTranspose(2, 3, name="up"),
                                L.SeparableConv2D(2, 3, name="sep"), L.Flatten()])
    with pytest.raises(NotImplementedError, match=r"cannot write the layers up "
                                                  r"\(Conv2DTranspose\), sep \(SeparableConv2D\)"):
        to_onnx(model)
    inputs = strided.Input((3,))
    functional = strided.Model(inputs, L.Dense(2)(inputs))
    with pytest.raises(NotImplementedError, match=r"exports a Sequential model"):
        to_onnx(functional)


def test_weights_in_external_files_are_not_opened(tmp_path: Path) -> None:
    nodes = [helper.make_node("MatMul", ["x", "m"], ["y"])]
    proto = _graph(nodes, [_tensor("m", np.ones((3, 2)))], [3])
    onnx.save_model(proto, str(tmp_path / "m.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="m.data", size_threshold=0)
    with pytest.raises(NotImplementedError, match=r"keeps the weights \['m'\] in external "
                                                  r"files"):
        strided.load_model(tmp_path / "m.onnx")


def test_a_damaged_onnx_file(tmp_path: Path) -> None:
    (tmp_path / "m.onnx").write_bytes(b"\x08\x07garbage\xff")
    with pytest.raises(ValueError, match=r"cannot read '.*m.onnx': not an ONNX model"):
        strided.load_model(tmp_path / "m.onnx")
