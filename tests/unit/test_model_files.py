"""inspect_model and golden on small flatbuffers written here with the schema's own builder."""

import flatbuffers
import numpy as np
import pytest
import tflite

from tinybench.errors import ConfigError
from tinybench.models.inspect import check_runnable, format_model, inspect_model
from tinybench.models.reference import golden

INT8, FLOAT32 = tflite.TensorType.INT8, tflite.TensorType.FLOAT32


def _vector(b: flatbuffers.Builder, offsets: list[int]) -> int:
    b.StartVector(4, len(offsets), 4)
    for offset in reversed(offsets):
        b.PrependUOffsetTRelative(offset)
    return b.EndVector()


def _tensor(b, name, shape, dtype=INT8, buffer=0, signature=None, variable=False):
    name = b.CreateString(name) if name else None
    shape = b.CreateNumpyVector(np.array(shape, dtype=np.int32))
    signature = b.CreateNumpyVector(np.array(signature, dtype=np.int32)) if signature else None
    scale = b.CreateNumpyVector(np.array([0.5], dtype=np.float32))
    zero = b.CreateNumpyVector(np.array([-3], dtype=np.int64))
    tflite.QuantizationParametersStart(b)
    tflite.QuantizationParametersAddScale(b, scale)
    tflite.QuantizationParametersAddZeroPoint(b, zero)
    quant = tflite.QuantizationParametersEnd(b)
    tflite.TensorStart(b)
    if name:
        tflite.TensorAddName(b, name)
    if signature:
        tflite.TensorAddShapeSignature(b, signature)
    tflite.TensorAddShape(b, shape)
    tflite.TensorAddType(b, dtype)
    tflite.TensorAddBuffer(b, buffer)
    tflite.TensorAddQuantization(b, quant)
    tflite.TensorAddIsVariable(b, variable)
    return tflite.TensorEnd(b)


def _op_code(b, builtin, custom=None):
    name = b.CreateString(custom) if custom else None
    tflite.OperatorCodeStart(b)
    tflite.OperatorCodeAddBuiltinCode(b, builtin)
    tflite.OperatorCodeAddDeprecatedBuiltinCode(b, min(builtin, 127))
    if name:
        tflite.OperatorCodeAddCustomCode(b, name)
    return tflite.OperatorCodeEnd(b)


def _operator(b, opcode, inputs, outputs):
    inputs = b.CreateNumpyVector(np.array(inputs, dtype=np.int32))
    outputs = b.CreateNumpyVector(np.array(outputs, dtype=np.int32))
    tflite.OperatorStart(b)
    tflite.OperatorAddOpcodeIndex(b, opcode)
    tflite.OperatorAddInputs(b, inputs)
    tflite.OperatorAddOutputs(b, outputs)
    return tflite.OperatorEnd(b)


def _buffer(b, data=b""):
    payload = b.CreateNumpyVector(np.frombuffer(data, dtype=np.uint8)) if data else None
    tflite.BufferStart(b)
    if payload:
        tflite.BufferAddData(b, payload)
    return tflite.BufferEnd(b)


def model_bytes(input_type=INT8, custom=False, names=True, signature=None,
                variable=False) -> bytes:
    """Fully connected 4 -> 3 with int8 weights, then optionally a custom op; `names` False
    leaves the tensors' optional name out, `signature` is the input's shape signature,
    `variable` adds a variable (state) tensor."""
    b = flatbuffers.Builder(1024)
    tensors = [
        _tensor(b, "in" if names else None, [1, 4], input_type, signature=signature),
        _tensor(b, "weights", [3, 4], buffer=1),
        _tensor(b, "fc", [1, 3]),
        _tensor(b, "out", [1, 3]),
        *([_tensor(b, "state", [1, 3], variable=True)] if variable else []),
    ]
    operators = [_operator(b, 0, [0, 1, -1], [2])]
    codes = [_op_code(b, tflite.BuiltinOperator.FULLY_CONNECTED)]
    if custom:
        operators.append(_operator(b, 1, [2], [3]))
        codes.append(_op_code(b, tflite.BuiltinOperator.CUSTOM, "MyOp"))
    tensors, operators = _vector(b, tensors), _vector(b, operators)
    graph_inputs = b.CreateNumpyVector(np.array([0], dtype=np.int32))
    graph_outputs = b.CreateNumpyVector(np.array([3 if custom else 2], dtype=np.int32))
    tflite.SubGraphStart(b)
    tflite.SubGraphAddTensors(b, tensors)
    tflite.SubGraphAddOperators(b, operators)
    tflite.SubGraphAddInputs(b, graph_inputs)
    tflite.SubGraphAddOutputs(b, graph_outputs)
    graphs = _vector(b, [tflite.SubGraphEnd(b)])
    codes = _vector(b, codes)
    buffers = _vector(b, [_buffer(b), _buffer(b, bytes(range(12)))])
    tflite.ModelStart(b)
    tflite.ModelAddVersion(b, 3)
    tflite.ModelAddOperatorCodes(b, codes)
    tflite.ModelAddSubgraphs(b, graphs)
    tflite.ModelAddBuffers(b, buffers)
    b.Finish(tflite.ModelEnd(b), file_identifier=b"TFL3")
    return bytes(b.Output())


@pytest.fixture
def write(tmp_path):
    def write(data: bytes, name="m.tflite"):
        path = tmp_path / name
        path.write_bytes(data)
        return path

    return write


def test_reads_ops_tensors_macs_and_weights(write):
    info = inspect_model(write(model_bytes()))
    assert info.ops == {"FULLY_CONNECTED": 1}
    assert [(t.name, t.shape, t.dtype) for t in info.inputs] == [("in", (1, 4), "int8")]
    assert (info.inputs[0].scale, info.inputs[0].zero_point) == (0.5, -3)
    assert info.outputs[0].shape == (1, 3)
    assert [(layer.op, layer.macs, layer.weight_bytes) for layer in info.layers] == [
        ("FULLY_CONNECTED", 12, 12)
    ]
    assert (info.macs, info.weight_bytes) == (12, 12)
    assert "total MACs    12" in format_model(info)


def test_custom_ops_are_reported_by_name(write):
    info = inspect_model(write(model_bytes(custom=True)))
    assert info.ops == {"FULLY_CONNECTED": 1, "CUSTOM:MyOp": 1}
    assert "CUSTOM:MyOp" in format_model(info)


def test_float_inputs_are_read_and_runnable(write):
    info = inspect_model(write(model_bytes(input_type=FLOAT32)))
    assert info.inputs[0].dtype == "float32"
    check_runnable(info)


def test_the_types_of_all_tensors_are_read(write):
    assert inspect_model(write(model_bytes())).dtypes == {"int8"}
    info = inspect_model(write(model_bytes(input_type=tflite.TensorType.INT16)))
    assert info.dtypes == {"int8", "int16"}
    check_runnable(info)


def test_variable_tensors_make_a_model_stateful(write):
    assert not inspect_model(write(model_bytes())).stateful
    assert inspect_model(write(model_bytes(variable=True))).stateful


def test_tensors_without_names_are_named_by_index(write):
    info = inspect_model(write(model_bytes(names=False)))
    assert info.inputs[0].name == "tensor 0"
    assert "tensor 0" in format_model(info)


def test_an_input_type_no_backend_runs_is_named(write):
    info = inspect_model(write(model_bytes(input_type=tflite.TensorType.STRING)))
    with pytest.raises(ConfigError, match=r"m.tflite: input 'in' is string, which no backend"):
        check_runnable(info)


def test_a_dynamic_dimension_is_named(write):
    info = inspect_model(write(model_bytes(signature=[1, -1])))
    assert info.inputs[0].shape == (1, 4)
    with pytest.raises(ConfigError, match=r"input 'in' has a dynamic \(-1\) dimension"):
        check_runnable(info)


def test_a_dynamic_batch_stored_as_one_runs_as_a_batch_of_one(write):
    """Keras marks the batch of every export -1 (the official MLPerf Tiny models too)."""
    info = inspect_model(write(model_bytes(signature=[-1, 4])))
    assert not info.inputs[0].dynamic
    check_runnable(info)


def test_a_file_that_is_not_a_flatbuffer_is_refused(write):
    with pytest.raises(ConfigError, match="not a TFLite flatbuffer"):
        inspect_model(write(b"PK\x03\x04 a zip file, not a model"))


def test_a_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read model"):
        inspect_model(tmp_path / "absent.tflite")


def test_every_truncation_is_refused(write):
    data = model_bytes()
    for size in range(len(data)):
        with pytest.raises(ConfigError):
            inspect_model(write(data[:size]))


def test_golden_runs_the_reference_kernels_and_caches(write, tmp_path, monkeypatch):
    monkeypatch.setenv("TINYBENCH_CACHE", str(tmp_path / "cache"))
    model = write(model_bytes())
    first = golden(model, count=3, seed=7)
    assert len(first.inputs) == len(first.outputs) == 3
    assert {(x.dtype, x.shape) for (x,) in first.inputs} == {(np.dtype("int8"), (1, 4))}
    assert {(y.dtype, y.shape) for (y,) in first.outputs} == {(np.dtype("int8"), (1, 3))}
    assert len(list((tmp_path / "cache" / "golden").glob("*.npz"))) == 1
    again = golden(model, count=3, seed=7)
    assert all(np.array_equal(a, b) for a, b in zip(first.inputs, again.inputs, strict=True))
    assert all(np.array_equal(a, b) for a, b in zip(first.outputs, again.outputs, strict=True))
    other = golden(model, count=3, seed=8)
    assert not np.array_equal(first.inputs[0][0], other.inputs[0][0])


def test_golden_names_an_op_the_host_cannot_run(write, tmp_path, monkeypatch):
    monkeypatch.setenv("TINYBENCH_CACHE", str(tmp_path / "cache"))
    with pytest.raises(ConfigError, match="MyOp"):
        golden(write(model_bytes(custom=True)))


def test_golden_runs_each_reference_engine_and_keeps_them_apart(write, tmp_path, monkeypatch):
    monkeypatch.setenv("TINYBENCH_CACHE", str(tmp_path / "cache"))
    model = write(model_bytes())
    litert = golden(model, count=2, engine="litert")
    tflm = golden(model, count=2, engine="tflm")
    assert all(np.array_equal(a, b) for a, b in zip(litert.inputs, tflm.inputs, strict=True))
    assert {(y.dtype, y.shape) for (y,) in tflm.outputs} == {(np.dtype("int8"), (1, 3))}
    assert len(list((tmp_path / "cache" / "golden").glob("*-tflm-*.npz"))) == 1
    with pytest.raises(ConfigError, match="unknown reference engine 'tvm'"):
        golden(model, engine="tvm")
