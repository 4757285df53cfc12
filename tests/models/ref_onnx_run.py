#!/usr/bin/python3
"""A tiny, slow reference ONNX interpreter (numpy + torch.nn.functional) for the ops in the
parity models, with the `nalar run` command line (DESIGN.md section 4):

  ref_onnx_run.py run MODEL [--input NAME=FILE.npy]... [--input-dir DIR] [--output-dir DIR]
                  [--dump-dir DIR]

It exists to check the test data independently of nalar: that models/torch/export_models.py
produced graphs whose ONNX semantics give PyTorch's outputs, so a parity failure points at the
engine (`tests/models/check_parity.py OUTDIR tests/models/ref_onnx_run.py` must pass). With
--dump-dir it writes every intermediate tensor, to bisect a divergence of nalar node by node.
It is not part of the product and supports only what the exported models use.
"""
import argparse
import os
import re
import sys

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper

ONNX_TO_NP = {
    onnx.TensorProto.FLOAT: np.float32, onnx.TensorProto.DOUBLE: np.float64,
    onnx.TensorProto.INT64: np.int64, onnx.TensorProto.INT32: np.int32,
    onnx.TensorProto.BOOL: np.bool_, onnx.TensorProto.FLOAT16: np.float16,
}


def attrs_of(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def pool_pads(x, pads, value):
    """ONNX pads [b1, b2, e1, e2] -> explicitly padded NCHW torch tensor."""
    if not any(pads):
        return x
    n = len(pads) // 2
    torch_pads = []
    for i in reversed(range(n)):
        torch_pads += [pads[i], pads[i + n]]
    return F.pad(x, torch_pads, value=value)


def rnn_common(ins, a):
    x = ins[0]  # [seq, batch, in]
    seq_lens = ins[4] if len(ins) > 4 else None
    assert seq_lens is None, "sequence_lens unsupported"
    direction = a.get("direction", b"forward")
    direction = direction.decode() if isinstance(direction, bytes) else direction
    dirs = ["forward", "reverse"] if direction == "bidirectional" else [direction]
    assert "activations" not in a and "clip" not in a and a.get("layout", 0) == 0
    return x, dirs


def sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def op_lstm(ins, a):
    x, dirs = rnn_common(ins, a)
    w, r = ins[1], ins[2]
    hidden = r.shape[-1]
    b = ins[3] if len(ins) > 3 and ins[3] is not None else np.zeros((len(dirs), 8 * hidden), x.dtype)
    h0 = ins[5] if len(ins) > 5 and ins[5] is not None else None
    c0 = ins[6] if len(ins) > 6 and ins[6] is not None else None
    assert len(ins) <= 7 or ins[7] is None, "peepholes unsupported"
    seq, batch = x.shape[0], x.shape[1]
    y = np.zeros((seq, len(dirs), batch, hidden), x.dtype)
    yh = np.zeros((len(dirs), batch, hidden), x.dtype)
    yc = np.zeros_like(yh)
    for d, name in enumerate(dirs):
        h = h0[d] if h0 is not None else np.zeros((batch, hidden), x.dtype)
        c = c0[d] if c0 is not None else np.zeros((batch, hidden), x.dtype)
        order = range(seq) if name == "forward" else reversed(range(seq))
        for t in order:
            g = x[t] @ w[d].T + h @ r[d].T + b[d, :4 * hidden] + b[d, 4 * hidden:]
            i, o, f, cc = np.split(g, 4, axis=1)  # ONNX gate order i, o, f, c
            c = sigmoid(f) * c + sigmoid(i) * np.tanh(cc)
            h = sigmoid(o) * np.tanh(c)
            y[t, d] = h
        yh[d], yc[d] = h, c
    return [y, yh, yc]


def op_gru(ins, a):
    x, dirs = rnn_common(ins, a)
    w, r = ins[1], ins[2]
    hidden = r.shape[-1]
    b = ins[3] if len(ins) > 3 and ins[3] is not None else np.zeros((len(dirs), 6 * hidden), x.dtype)
    h0 = ins[5] if len(ins) > 5 and ins[5] is not None else None
    lbr = a.get("linear_before_reset", 0)
    seq, batch = x.shape[0], x.shape[1]
    y = np.zeros((seq, len(dirs), batch, hidden), x.dtype)
    yh = np.zeros((len(dirs), batch, hidden), x.dtype)
    for d, name in enumerate(dirs):
        h = h0[d] if h0 is not None else np.zeros((batch, hidden), x.dtype)
        wz, wr, wh = np.split(w[d], 3)  # ONNX gate order z, r, h
        rz, rr, rh = np.split(r[d], 3)
        wbz, wbr, wbh, rbz, rbr, rbh = np.split(b[d], 6)
        order = range(seq) if name == "forward" else reversed(range(seq))
        for t in order:
            z = sigmoid(x[t] @ wz.T + h @ rz.T + wbz + rbz)
            rg = sigmoid(x[t] @ wr.T + h @ rr.T + wbr + rbr)
            if lbr:
                hh = np.tanh(x[t] @ wh.T + rg * (h @ rh.T + rbh) + wbh)
            else:
                hh = np.tanh(x[t] @ wh.T + (rg * h) @ rh.T + rbh + wbh)
            h = (1 - z) * hh + z * h
            y[t, d] = h
        yh[d] = h
    return [y, yh]


def axes_arg(ins, a, opset, since):
    """Axes moved from attribute to input at opset `since`."""
    if opset >= since:
        return [int(v) for v in ins[1]] if len(ins) > 1 and ins[1] is not None else None
    return a.get("axes")


def run_node(node, ins, opset):
    a = attrs_of(node)
    op = node.op_type
    t = lambda v: torch.from_numpy(np.ascontiguousarray(v))
    if op == "Constant":
        return [numpy_helper.to_array(a["value"])]
    if op == "Identity":
        return [ins[0]]
    if op in ("Add", "Sub", "Mul", "Div", "Pow", "Equal"):
        x, y = ins
        f = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Pow": np.power,
             "Equal": np.equal}.get(op)
        if op == "Div":
            out = x // y if np.issubdtype(x.dtype, np.integer) else x / y
        else:
            out = f(x, y)
        return [out if op == "Equal" else out.astype(x.dtype)]
    if op == "Where":
        return [np.where(ins[0], ins[1], ins[2])]
    if op in ("Relu", "Sigmoid", "Tanh", "Sqrt", "Erf"):
        x = ins[0]
        if op == "Relu":
            return [np.maximum(x, 0).astype(x.dtype)]
        if op == "Sigmoid":
            return [sigmoid(x).astype(x.dtype)]
        if op == "Tanh":
            return [np.tanh(x)]
        if op == "Sqrt":
            return [np.sqrt(x)]
        return [torch.erf(t(x)).numpy()]
    if op == "HardSigmoid":
        alpha, beta = a.get("alpha", 0.2), a.get("beta", 0.5)
        return [np.clip(alpha * ins[0] + beta, 0, 1).astype(ins[0].dtype)]
    if op == "HardSwish":
        x = ins[0]
        return [(x * np.clip(x / 6 + 0.5, 0, 1)).astype(x.dtype)]
    if op == "Clip":
        x = ins[0]
        if opset >= 11:
            lo = ins[1] if len(ins) > 1 and ins[1] is not None else None
            hi = ins[2] if len(ins) > 2 and ins[2] is not None else None
        else:
            lo, hi = a.get("min"), a.get("max")
        if lo is not None:
            x = np.maximum(x, lo)
        if hi is not None:
            x = np.minimum(x, hi)
        return [x.astype(ins[0].dtype)]
    if op == "Cast":
        return [ins[0].astype(ONNX_TO_NP[a["to"]])]
    if op == "Shape":
        return [np.array(ins[0].shape, np.int64)]
    if op == "ConstantOfShape":
        value = numpy_helper.to_array(a["value"]) if "value" in a else np.zeros(1, np.float32)
        return [np.full([int(v) for v in ins[0]], value.reshape(-1)[0], value.dtype)]
    if op == "Gather":
        axis = a.get("axis", 0)
        idx = ins[1].astype(np.int64)
        idx = np.where(idx < 0, idx + ins[0].shape[axis], idx)
        return [np.take(ins[0], idx, axis=axis)]
    if op == "Unsqueeze":
        axes = axes_arg(ins, a, opset, 13)
        rank = ins[0].ndim + len(axes)
        out = ins[0]
        for ax in sorted(v % rank for v in axes):
            out = np.expand_dims(out, ax)
        return [out]
    if op == "Squeeze":
        axes = axes_arg(ins, a, opset, 13)
        if axes is None:
            return [np.squeeze(ins[0])]
        return [np.squeeze(ins[0], axis=tuple(v % ins[0].ndim for v in axes))]
    if op == "Concat":
        return [np.concatenate(ins, axis=a["axis"])]
    if op == "Reshape":
        shape = [int(v) for v in ins[1]]
        assert not a.get("allowzero", 0)
        shape = [ins[0].shape[i] if v == 0 else v for i, v in enumerate(shape)]
        return [ins[0].reshape(shape)]
    if op == "Flatten":
        axis = a.get("axis", 1) % max(ins[0].ndim, 1)
        return [ins[0].reshape(int(np.prod(ins[0].shape[:axis])), -1)]
    if op == "Transpose":
        return [np.transpose(ins[0], a.get("perm"))]
    if op == "Expand":
        shape = np.broadcast_shapes(ins[0].shape, tuple(int(v) for v in ins[1]))
        return [np.broadcast_to(ins[0], shape).copy()]
    if op == "Slice":
        x = ins[0]
        starts, ends = [int(v) for v in ins[1]], [int(v) for v in ins[2]]
        axes = [int(v) for v in ins[3]] if len(ins) > 3 and ins[3] is not None else list(range(len(starts)))
        steps = [int(v) for v in ins[4]] if len(ins) > 4 and ins[4] is not None else [1] * len(starts)
        sl = [slice(None)] * x.ndim
        for s, e, ax, st in zip(starts, ends, axes, steps):
            dim = x.shape[ax]
            # Python slicing clamps like ONNX for the huge sentinels the exporter uses.
            sl[ax] = slice(max(min(s, dim), -dim - 1), max(min(e, dim), -dim - 1), st)
        return [x[tuple(sl)]]
    if op == "ReduceMean":
        axes = axes_arg(ins, a, opset, 18)
        axes = tuple(axes) if axes is not None else None
        return [np.mean(ins[0], axis=axes, keepdims=bool(a.get("keepdims", 1))).astype(ins[0].dtype)]
    if op == "Softmax":
        x = ins[0]
        axis = a.get("axis", -1 if opset >= 13 else 1) % x.ndim
        if opset < 13:  # coerced to 2-D at `axis`
            shape = x.shape
            x2 = x.reshape(int(np.prod(shape[:axis])), -1)
            return [F.softmax(t(x2), dim=1).numpy().reshape(shape)]
        return [F.softmax(t(x), dim=axis).numpy()]
    if op == "MatMul":
        return [np.matmul(ins[0], ins[1])]
    if op == "Gemm":
        x, w = ins[0], ins[1]
        if a.get("transA", 0):
            x = x.T
        if a.get("transB", 0):
            w = w.T
        out = a.get("alpha", 1.0) * (x @ w)
        if len(ins) > 2 and ins[2] is not None:
            out = out + a.get("beta", 1.0) * ins[2]
        return [out.astype(ins[0].dtype)]
    if op == "LayerNormalization":
        x = t(ins[0])
        axis = a.get("axis", -1) % x.ndim
        shape = x.shape[axis:]
        bias = t(ins[2]) if len(ins) > 2 and ins[2] is not None else None
        return [F.layer_norm(x, shape, t(ins[1]), bias, a.get("epsilon", 1e-5)).numpy()]
    if op == "BatchNormalization":
        x, scale, bias, mean, var = (t(v) for v in ins[:5])
        return [F.batch_norm(x, mean, var, scale, bias, False, 0.0, a.get("epsilon", 1e-5)).numpy()]
    if op == "Conv":
        assert a.get("auto_pad", b"NOTSET") in (b"NOTSET", "NOTSET")
        x = t(ins[0])
        nd = x.ndim - 2
        pads = a.get("pads", [0] * 2 * nd)
        x = pool_pads(x, pads, 0.0)
        bias = t(ins[2]) if len(ins) > 2 and ins[2] is not None else None
        out = F.conv2d(x, t(ins[1]), bias, a.get("strides", [1] * nd), 0,
                       a.get("dilations", [1] * nd), a.get("group", 1))
        return [out.numpy()]
    if op == "MaxPool":
        x = t(ins[0])
        k = a["kernel_shape"]
        pads = a.get("pads", [0] * 2 * len(k))
        x = pool_pads(x, pads, -np.inf)
        out = F.max_pool2d(x, k, a.get("strides", [1] * len(k)), 0, a.get("dilations", [1] * len(k)),
                           bool(a.get("ceil_mode", 0)))
        return [out.numpy()]
    if op == "AveragePool":
        x = t(ins[0])
        k = a["kernel_shape"]
        pads = a.get("pads", [0] * 2 * len(k))
        assert not any(pads) or a.get("count_include_pad", 0), "padded exclusive avg unsupported"
        x = pool_pads(x, pads, 0.0)
        out = F.avg_pool2d(x, k, a.get("strides", [1] * len(k)), 0, bool(a.get("ceil_mode", 0)))
        return [out.numpy()]
    if op == "GlobalAveragePool":
        return [ins[0].mean(axis=tuple(range(2, ins[0].ndim)), keepdims=True)]
    if op == "Pad":
        mode = a.get("mode", b"constant")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        pads = [int(v) for v in ins[1]] if opset >= 11 else a["pads"]
        value = float(ins[2]) if len(ins) > 2 and ins[2] is not None and ins[2].size else 0.0
        n = ins[0].ndim
        width = [(pads[i], pads[i + n]) for i in range(n)]
        if mode == "constant":
            return [np.pad(ins[0], width, constant_values=value)]
        return [np.pad(ins[0], width, mode={"reflect": "reflect", "edge": "edge"}[mode])]
    if op == "LSTM":
        return op_lstm(ins, a)
    if op == "GRU":
        return op_gru(ins, a)
    raise NotImplementedError(f"op {op} (node {node.name})")


def run_model(model, feeds, dump_dir=None):
    opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    env = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    env.update(feeds)
    for node in model.graph.node:
        ins = [env[n] if n else None for n in node.input]
        outs = run_node(node, ins, opset)
        for name, val in zip(node.output, outs):
            if name:
                env[name] = np.asarray(val)
                if dump_dir:
                    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
                    np.save(os.path.join(dump_dir, safe + ".npy"), env[name])
    return {o.name: env[o.name] for o in model.graph.output}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("command", choices=["run"])
    ap.add_argument("model")
    ap.add_argument("--input", action="append", default=[])
    ap.add_argument("--input-dir")
    ap.add_argument("--output-dir", default=".")
    ap.add_argument("--dump-dir")
    ap.add_argument("--threads", type=int)
    args = ap.parse_args()
    try:
        model = onnx.load(args.model)
        feeds = {}
        for spec in args.input:
            name, path = spec.split("=", 1)
            feeds[name] = np.load(path)
        init_names = {i.name for i in model.graph.initializer}
        for inp in model.graph.input:
            if inp.name in feeds or inp.name in init_names:
                continue
            if not args.input_dir:
                raise ValueError(f"no value for input '{inp.name}'")
            feeds[inp.name] = np.load(os.path.join(args.input_dir, inp.name + ".npy"))
        if args.dump_dir:
            os.makedirs(args.dump_dir, exist_ok=True)
        with torch.no_grad():
            outs = run_model(model, feeds, args.dump_dir)
        os.makedirs(args.output_dir, exist_ok=True)
        for name, val in outs.items():
            np.save(os.path.join(args.output_dir, name + ".npy"), val)
    except Exception as e:  # one-line reason, as the CLI contract asks
        print(f"ref_onnx_run: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
