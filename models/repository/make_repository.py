#!/usr/bin/python3
"""Writes small ONNX models in Triton's repository layout.

    make_repository.py OUT_DIR [--test] [--pipelines [--reference DIR]]

Without --test: `mlp`, a 4-16-3 ReLU MLP with a symbolic batch dimension, config.pbtxt with
dynamic batching, and labels.txt.
With --pipelines: also the real models with pipelines, trained by their scripts (about a minute):
`digits` (models/digits), `breast_cancer_mlp` and `breast_cancer_gbt` (models/breast_cancer) and
`fraud` (models/fraud); --reference DIR makes the scripts write the Python-side answers and test
files the pipeline_models test compares against. The bundled repository (models/repository,
what `make serve` starts) is `make_repository.py models/repository --pipelines`.
With --test: the same plus the models the integration test needs (generated config, strings,
FP16, several versions, a slow model with a tiny queue, a broken model).
Weights are seeded so the files are reproducible.
"""
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def save(model, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    onnx.checker.check_model(model)
    onnx.save(model, path)


def mlp(seed, hidden=16, n_in=4, n_out=3, softmax=True):
    """INPUT0 [batch, n_in] -> Gemm -> Relu -> Gemm -> (Softmax) -> OUTPUT0 [batch, n_out]."""
    rng = np.random.default_rng(seed)
    w1 = rng.standard_normal((n_in, hidden)).astype(np.float32) * 0.5
    b1 = rng.standard_normal(hidden).astype(np.float32) * 0.1
    w2 = rng.standard_normal((hidden, n_out)).astype(np.float32) * 0.5
    b2 = rng.standard_normal(n_out).astype(np.float32) * 0.1
    nodes = [
        helper.make_node("Gemm", ["INPUT0", "W1", "B1"], ["H"]),
        helper.make_node("Relu", ["H"], ["A"]),
        helper.make_node("Gemm", ["A", "W2", "B2"], ["LOGITS" if softmax else "OUTPUT0"]),
    ]
    if softmax:
        nodes.append(helper.make_node("Softmax", ["LOGITS"], ["OUTPUT0"], axis=1))
    graph = helper.make_graph(
        nodes, "mlp",
        [helper.make_tensor_value_info("INPUT0", TensorProto.FLOAT, ["batch", n_in])],
        [helper.make_tensor_value_info("OUTPUT0", TensorProto.FLOAT, ["batch", n_out])],
        [numpy_helper.from_array(w1, "W1"), numpy_helper.from_array(b1, "B1"),
         numpy_helper.from_array(w2, "W2"), numpy_helper.from_array(b2, "B2")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def identity(elem_type, name):
    graph = helper.make_graph(
        [helper.make_node("Identity", ["IN"], ["OUT"])], name,
        [helper.make_tensor_value_info("IN", elem_type, ["batch", 2])],
        [helper.make_tensor_value_info("OUT", elem_type, ["batch", 2])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


MLP_CONFIG = """name: "mlp"
platform: "onnxruntime_onnx"
max_batch_size: 8
input [
  {
    name: "INPUT0"
    data_type: TYPE_FP32
    dims: [ 4 ]
  }
]
output [
  {
    name: "OUTPUT0"
    data_type: TYPE_FP32
    dims: [ 3 ]
    label_filename: "labels.txt"
  }
]
dynamic_batching {
  preferred_batch_size: [ 4, 8 ]
  max_queue_delay_microseconds: %d
}
instance_group [ { count: 1, kind: KIND_CPU } ]
model_warmup [
  {
    name: "zeros"
    batch_size: 8
    inputs { key: "INPUT0" value: { data_type: TYPE_FP32, dims: [ 4 ], zero_data: true } }
  },
  {
    name: "random"
    batch_size: 1
    inputs { key: "INPUT0" value: { data_type: TYPE_FP32, dims: [ 4 ], random_data: true } }
    count: 2
  }
]
"""


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


PIPELINE_SCRIPTS = ["digits/train_digits.py", "breast_cancer/train_breast_cancer.py",
                    "fraud/train_fraud.py"]


def make_pipeline_models(out, reference):
    models = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    for script in PIPELINE_SCRIPTS:
        cmd = [sys.executable, os.path.join(models, script), out]
        if reference:
            cmd += ["--reference", reference]
        subprocess.run(cmd, check=True)


def main():
    args = [a for i, a in enumerate(sys.argv[1:], 1)
            if not a.startswith("--") and sys.argv[i - 1] != "--reference"]
    if len(args) != 1:
        sys.exit(__doc__)
    out = args[0]
    test = "--test" in sys.argv[1:]
    if "--pipelines" in sys.argv[1:]:
        ref = sys.argv[sys.argv.index("--reference") + 1] if "--reference" in sys.argv else None
        make_pipeline_models(out, ref)
    save(mlp(0), f"{out}/mlp/1/model.onnx")
    write(f"{out}/mlp/config.pbtxt", MLP_CONFIG % (20000 if test else 500))
    write(f"{out}/mlp/labels.txt", "setosa\nversicolor\nvirginica\n")
    if not test:
        return
    # No config.pbtxt: generated from the model (max_batch_size from the symbolic dim).
    save(mlp(0), f"{out}/mlp_auto/1/model.onnx")
    # Three versions; the policy keeps the latest two. Unknown fields must only warn.
    for v in (1, 2, 3):
        save(mlp(v), f"{out}/versioned/{v}/model.onnx")
    write(f"{out}/versioned/config.pbtxt",
          'name: "versioned"\nbackend: "onnxruntime"\nmax_batch_size: 4\n'
          "version_policy: { latest: { num_versions: 2 } }\n"
          'optimization { execution_accelerators { cpu_execution_accelerator: [ { name: "openvino" } ] } }\n'
          "some_future_field: 3\n")
    save(identity(TensorProto.STRING, "strings"), f"{out}/strings/1/model.onnx")
    save(identity(TensorProto.FLOAT16, "halfs"), f"{out}/halfs/1/model.onnx")
    save(identity(TensorProto.BFLOAT16, "bhalfs"), f"{out}/bhalfs/1/model.onnx")
    # A model slow enough to queue up, with room for one waiting request.
    save(mlp(7, hidden=1024, n_in=1024, n_out=1024, softmax=False), f"{out}/slow/1/model.onnx")
    write(f"{out}/slow/config.pbtxt",
          'max_batch_size: 64\ndynamic_batching { default_queue_policy { max_queue_size: 1 } }\n')
    # A warmup whose data file does not fit the input: the load must fail.
    save(mlp(0), f"{out}/bad_warmup/1/model.onnx")
    write(f"{out}/bad_warmup/config.pbtxt",
          'max_batch_size: 2\nmodel_warmup [ { name: "w" batch_size: 1 inputs { key: "INPUT0" '
          'value: { data_type: TYPE_FP32 dims: [ 4 ] input_data_file: "x.bin" } } } ]\n')
    write(f"{out}/bad_warmup/warmup/x.bin", "123")
    # Not an ONNX file: the repository must report it and keep serving the rest.
    write(f"{out}/broken/1/model.onnx", "this is not a model")


if __name__ == "__main__":
    main()
