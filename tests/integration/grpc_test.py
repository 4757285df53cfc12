#!/usr/bin/python3
"""Integration test for the KServe v2 gRPC front-end of `nalar serve`: a real server on loopback
driven by a client generated (at test time, with grpc_tools.protoc) from our proto files.

    grpc_test.py NALAR_BINARY MAKE_REPOSITORY_SCRIPT PROTO_ROOT

PROTO_ROOT holds serving/grpc/grpc_service.proto and serving/model_config.proto. The test builds
the integration repository (make_repository.py --test) plus an identity model per datatype and a
deliberately slow model, starts the server on free ports and checks every RPC, raw and typed
tensor contents for every datatype, classification, the error table with its status codes,
batching under concurrency, streaming, explicit load/unload, a reload under load with no failed
call, statistics and metrics, queue-full rejection, a client that vanishes mid-stream, and SIGTERM draining in-flight calls.
"""
import concurrent.futures
import importlib.util
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import grpc
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from nalar_process import ServeProcess, free_port

NALAR, MAKE_REPO, PROTO_ROOT = sys.argv[1], sys.argv[2], sys.argv[3]
FAILURES = []
MAX_INPUT = 8 << 20  # the server's body limit in this test (--http-max-input-size)
pb = pbg = None  # generated modules, set in main()


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILURES.append(what)




def generate_stubs(out):
    os.makedirs(out)
    subprocess.check_call(
        ["/usr/bin/python3", "-m", "grpc_tools.protoc", "-I" + PROTO_ROOT, "--python_out=" + out,
         "--grpc_python_out=" + out, os.path.join(PROTO_ROOT, "serving/grpc/grpc_service.proto"),
         os.path.join(PROTO_ROOT, "serving/model_config.proto")])
    sys.path.insert(0, out)
    global pb, pbg
    from serving.grpc import grpc_service_pb2, grpc_service_pb2_grpc
    pb, pbg = grpc_service_pb2, grpc_service_pb2_grpc


class Server(ServeProcess):
    def __init__(self, repo, *extra):
        self.http_port, self.grpc_port, self.metrics_port = free_port(), free_port(), free_port()
        self.target = f"127.0.0.1:{self.grpc_port}"
        self.channel = grpc.insecure_channel(self.target, options=[
            ("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)])
        self.stub = pbg.GRPCInferenceServiceStub(self.channel)
        super().__init__(
            [NALAR, "serve", "--model-repository", repo, "--http-port", str(self.http_port),
             "--http-address", "127.0.0.1", "--grpc-port", str(self.grpc_port),
             "--grpc-address", "127.0.0.1", "--metrics-port", str(self.metrics_port),
             "--http-max-input-size", str(MAX_INPUT), *extra],
            ready=lambda: self.stub.ServerReady(pb.ServerReadyRequest(), timeout=2).ready,
            probe_errors=(grpc.RpcError,))


# ---- tensors <-> messages -------------------------------------------------------------------

NP = {"BOOL": np.bool_, "UINT8": np.uint8, "UINT16": np.uint16, "UINT32": np.uint32,
      "UINT64": np.uint64, "INT8": np.int8, "INT16": np.int16, "INT32": np.int32,
      "INT64": np.int64, "FP16": np.float16, "FP32": np.float32, "FP64": np.float64}
FIELD = {"BOOL": "bool_contents", "UINT8": "uint_contents", "UINT16": "uint_contents",
         "UINT32": "uint_contents", "UINT64": "uint64_contents", "INT8": "int_contents",
         "INT16": "int_contents", "INT32": "int_contents", "INT64": "int64_contents",
         "FP32": "fp32_contents", "FP64": "fp64_contents", "BYTES": "bytes_contents"}


def bytes_raw(items):
    return b"".join(struct.pack("<I", len(s)) + s for s in items)


def parse_bytes_raw(raw):
    out, pos = [], 0
    while pos < len(raw):
        (n,) = struct.unpack_from("<I", raw, pos)
        out.append(raw[pos + 4:pos + 4 + n])
        pos += 4 + n
    return out


def make_request(model, inputs, raw=True, version="", outputs=(), params=None, rid=""):
    """inputs: [(name, datatype, shape, values)]; values: np.ndarray, or a list of bytes for
    BYTES, or raw bytes (sent as they are) when `raw`."""
    req = pb.ModelInferRequest(model_name=model, model_version=version, id=rid)
    for name, dt, shape, values in inputs:
        t = req.inputs.add(name=name, datatype=dt, shape=list(shape))
        if raw:
            if isinstance(values, (bytes, bytearray)):
                req.raw_input_contents.append(bytes(values))
            elif dt == "BYTES":
                req.raw_input_contents.append(bytes_raw(values))
            else:
                req.raw_input_contents.append(np.ascontiguousarray(values).tobytes())
        else:
            flat = values if dt == "BYTES" else np.asarray(values).flatten().tolist()
            getattr(t.contents, FIELD[dt]).extend(flat)
    for o in outputs:
        name, k = (o, 0) if isinstance(o, str) else o
        ro = req.outputs.add(name=name)
        if k:
            ro.parameters["classification"].int64_param = k
    for key, value in (params or {}).items():
        if isinstance(value, bool):
            req.parameters[key].bool_param = value
        elif isinstance(value, int):
            req.parameters[key].int64_param = value
        else:
            req.parameters[key].string_param = value
    return req


def outputs_of(resp):
    """{name: (datatype, shape, np array or list of bytes)} from raw_output_contents."""
    out = {}
    for o, raw in zip(resp.outputs, resp.raw_output_contents):
        shape = list(o.shape)
        if o.datatype == "BYTES":
            out[o.name] = (o.datatype, shape, parse_bytes_raw(raw))
        elif o.datatype == "BF16":
            out[o.name] = (o.datatype, shape, raw)
        else:
            out[o.name] = (o.datatype, shape, np.frombuffer(raw, NP[o.datatype]).reshape(shape))
    return out


def call(fn, req, timeout=60):
    """(grpc code, response or error details)."""
    try:
        return grpc.StatusCode.OK, fn(req, timeout=timeout)
    except grpc.RpcError as e:
        return e.code(), e.details()


def mlp_reference(model_path, x):
    m = onnx.load(model_path)
    w = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    h = np.maximum(x @ w["W1"] + w["B1"], 0)
    logits = h @ w["W2"] + w["B2"]
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# ---- the repository -------------------------------------------------------------------------

ONNX_TYPES = {"BOOL": TensorProto.BOOL, "UINT8": TensorProto.UINT8, "UINT16": TensorProto.UINT16,
              "UINT32": TensorProto.UINT32, "UINT64": TensorProto.UINT64,
              "INT8": TensorProto.INT8, "INT16": TensorProto.INT16, "INT32": TensorProto.INT32,
              "INT64": TensorProto.INT64, "FP32": TensorProto.FLOAT, "FP64": TensorProto.DOUBLE}


def build_repository(repo):
    subprocess.check_call(["/usr/bin/python3", MAKE_REPO, repo, "--test"])
    spec = importlib.util.spec_from_file_location("make_repository", MAKE_REPO)
    mr = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mr)
    for dt, et in ONNX_TYPES.items():  # IN [batch, 2] -> OUT, generated config
        mr.save(mr.identity(et, "id_" + dt.lower()), f"{repo}/id_{dt.lower()}/1/model.onnx")
    # ~100 ms per batch-64 request (16 chained 1024x1024 MatMuls), one at a time: keeps calls
    # in flight long enough to watch the drain.
    w = (np.random.default_rng(11).standard_normal((1024, 1024)) / 32).astype(np.float32)
    nodes = [helper.make_node("MatMul", ["INPUT0" if i == 0 else f"h{i}", "W"],
                              [f"h{i + 1}" if i < 15 else "OUTPUT0"]) for i in range(16)]
    graph = helper.make_graph(
        nodes, "drain", [helper.make_tensor_value_info("INPUT0", TensorProto.FLOAT, ["b", 1024])],
        [helper.make_tensor_value_info("OUTPUT0", TensorProto.FLOAT, ["b", 1024])],
        [numpy_helper.from_array(w, "W")])
    mr.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]),
            f"{repo}/drain/1/model.onnx")
    mr.write(f"{repo}/drain/config.pbtxt", "max_batch_size: 64\n")


# ---- the checks -----------------------------------------------------------------------------

def server_rpcs(srv, repo):
    s = srv.stub
    check(s.ServerLive(pb.ServerLiveRequest()).live, "ServerLive")
    check(s.ServerReady(pb.ServerReadyRequest()).ready, "ServerReady")
    md = s.ServerMetadata(pb.ServerMetadataRequest())
    check(md.name == "nalar" and md.version and "classification" in md.extensions
          and "model_repository" in md.extensions and "statistics" in md.extensions,
          "ServerMetadata (name, version, extensions)")
    health = srv.channel.unary_unary("/grpc.health.v1.Health/Check",
                                     request_serializer=lambda b: b,
                                     response_deserializer=lambda b: b)
    check(health(b"") == b"\x08\x01", "grpc.health.v1 Check: SERVING")
    svc = b"\x0a" + bytes([len("inference.GRPCInferenceService")]) + \
        b"inference.GRPCInferenceService"
    check(health(svc) == b"\x08\x01", "grpc.health.v1 Check for inference.GRPCInferenceService")

    check(s.ModelReady(pb.ModelReadyRequest(name="mlp")).ready, "ModelReady mlp")
    check(s.ModelReady(pb.ModelReadyRequest(name="versioned", version="2")).ready,
          "ModelReady versioned version 2")
    code, r = call(s.ModelReady, pb.ModelReadyRequest(name="broken"))
    check(code == grpc.StatusCode.OK and not r.ready, "ModelReady of a model that failed: false")
    code, r = call(s.ModelReady, pb.ModelReadyRequest(name="nope"))
    check(code == grpc.StatusCode.NOT_FOUND and "nope" in r,
          f"ModelReady of an unknown model: NOT_FOUND ({code} {r})")
    code, r = call(s.ModelReady, pb.ModelReadyRequest(name="versioned", version="1"))
    check(code == grpc.StatusCode.NOT_FOUND, "ModelReady of a version outside the policy: NOT_FOUND")

    m = s.ModelMetadata(pb.ModelMetadataRequest(name="mlp"))
    check(m.name == "mlp" and list(m.versions) == ["1"] and m.platform == "onnxruntime_onnx"
          and [(t.name, t.datatype, list(t.shape)) for t in m.inputs] == [("INPUT0", "FP32", [-1, 4])]
          and [(t.name, t.datatype, list(t.shape)) for t in m.outputs]
          == [("OUTPUT0", "FP32", [-1, 3])], "ModelMetadata mlp")
    m = s.ModelMetadata(pb.ModelMetadataRequest(name="versioned"))
    check(list(m.versions) == ["2", "3"], "ModelMetadata: version policy latest{2} -> 2, 3")
    m = s.ModelMetadata(pb.ModelMetadataRequest(name="versioned", version="2"))
    check(list(m.versions) == ["2"], "ModelMetadata of one version")
    code, r = call(s.ModelMetadata, pb.ModelMetadataRequest(name="nope"))
    check(code == grpc.StatusCode.NOT_FOUND, "ModelMetadata unknown model: NOT_FOUND")

    c = s.ModelConfig(pb.ModelConfigRequest(name="mlp")).config
    check(c.name == "mlp" and c.max_batch_size == 8 and list(c.input[0].dims) == [4]
          and list(c.dynamic_batching.preferred_batch_size) == [4, 8]
          and c.output[0].label_filename == "labels.txt" and len(c.model_warmup) == 2,
          "ModelConfig returns the inference.ModelConfig")
    c = s.ModelConfig(pb.ModelConfigRequest(name="mlp_auto")).config
    check(c.max_batch_size == 8 and c.HasField("dynamic_batching")
          and c.input[0].name == "INPUT0" and c.input[0].data_type == 11,
          "ModelConfig of a generated config (TYPE_FP32, max_batch_size 8)")
    code, _ = call(s.ModelConfig, pb.ModelConfigRequest(name="mlp", version="7"))
    check(code == grpc.StatusCode.NOT_FOUND, "ModelConfig unknown version: NOT_FOUND")

    idx = s.RepositoryIndex(pb.RepositoryIndexRequest()).models
    states = {(e.name, e.version): e.state for e in idx}
    broken = [e for e in idx if e.name == "broken"]
    check(states.get(("mlp", "1")) == "READY" and states.get(("versioned", "3")) == "READY"
          and broken and broken[0].state == "UNAVAILABLE" and "not a valid ONNX" in broken[0].reason,
          "RepositoryIndex (READY models, the broken one UNAVAILABLE with its reason)")
    idx = s.RepositoryIndex(pb.RepositoryIndexRequest(ready=True)).models
    check(idx and all(e.state == "READY" for e in idx), "RepositoryIndex ready=true filters")

    st = s.ModelStatistics(pb.ModelStatisticsRequest(name="mlp")).model_stats
    check(len(st) == 1 and st[0].name == "mlp" and st[0].version == "1"
          and st[0].inference_count == 0, "ModelStatistics: warmup is not counted")
    st = s.ModelStatistics(pb.ModelStatisticsRequest()).model_stats
    check(len(st) >= 15 and {"mlp", "id_fp32", "strings"} <= {x.name for x in st},
          f"ModelStatistics of every model ({len(st)} versions)")
    st = s.ModelStatistics(pb.ModelStatisticsRequest(name="versioned", version="3")).model_stats
    check(len(st) == 1 and st[0].version == "3", "ModelStatistics of one version")
    code, _ = call(s.ModelStatistics, pb.ModelStatisticsRequest(name="nope"))
    check(code == grpc.StatusCode.NOT_FOUND, "ModelStatistics unknown model: NOT_FOUND")


def inference(srv, repo):
    s = srv.stub
    x = np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32)
    want = mlp_reference(f"{repo}/mlp/1/model.onnx", x)
    r = s.ModelInfer(make_request("mlp", [("INPUT0", "FP32", x.shape, x)], rid="req-7"))
    dt, shape, got = outputs_of(r)["OUTPUT0"]
    check(r.model_name == "mlp" and r.model_version == "1" and r.id == "req-7" and dt == "FP32"
          and shape == [3, 3] and np.allclose(got, want, atol=1e-5) and not r.outputs[0].contents.fp32_contents,
          "ModelInfer with raw_input_contents matches numpy; answer in raw_output_contents")
    r = s.ModelInfer(make_request("mlp", [("INPUT0", "FP32", x.shape, x)], raw=False, version="1"))
    check(np.allclose(outputs_of(r)["OUTPUT0"][2], want, atol=1e-5),
          "ModelInfer with typed fp32_contents, explicit version")
    r = s.ModelInfer(make_request("mlp", [("INPUT0", "FP32", x.shape, x)],
                                  outputs=[("OUTPUT0", 2)], params={"priority": 1, "timeout": 10**7}))
    labels = ["setosa", "versicolor", "virginica"]
    expect = [[f"{i}:{labels[i]}" for i in np.argsort(-row, kind="stable")[:2]] for row in want]
    dt, shape, strs = outputs_of(r)["OUTPUT0"]
    got = [[":".join(v.decode().split(":")[1:]) for v in strs[i * 2:i * 2 + 2]] for i in range(3)]
    values_ok = all(abs(float(strs[i * 2 + j].decode().split(":")[0]) - sorted(want[i])[::-1][j]) < 1e-5
                    for i in range(3) for j in range(2))
    check(dt == "BYTES" and shape == [3, 2] and got == expect and values_ok,
          "classification: top-2 'value:index:label' as BYTES (priority and timeout parameters)")

    # Every datatype through an identity model, raw and typed, bit-exact.
    samples = {
        "BOOL": np.array([[True, False], [False, True]]),
        "UINT8": np.array([[0, 255], [7, 128]], np.uint8),
        "UINT16": np.array([[0, 65535], [1, 40000]], np.uint16),
        "UINT32": np.array([[0, 2**32 - 1], [1, 3000000000]], np.uint32),
        "UINT64": np.array([[0, 2**64 - 1], [1, 2**63 + 5]], np.uint64),
        "INT8": np.array([[-128, 127], [0, -1]], np.int8),
        "INT16": np.array([[-32768, 32767], [0, -1]], np.int16),
        "INT32": np.array([[-2**31, 2**31 - 1], [0, -1]], np.int32),
        "INT64": np.array([[-2**63, 2**63 - 1], [0, -1]], np.int64),
        "FP32": np.array([[1.5, -0.0], [3.4e38, 1e-45]], np.float32),
        "FP64": np.array([[1.5, -0.0], [1.7e308, 5e-324]], np.float64),
    }
    for dt, v in samples.items():
        for raw in (True, False):
            code, r = call(s.ModelInfer, make_request("id_" + dt.lower(), [("IN", dt, v.shape, v)],
                                                      raw=raw))
            out = outputs_of(r).get("OUT") if code == grpc.StatusCode.OK else None
            check(out is not None and out[0] == dt and out[1] == [2, 2]
                  and out[2].tobytes() == v.tobytes(),
                  f"{dt} {'raw' if raw else 'typed ' + FIELD[dt]} round trip ({code})")
    strings = [b"abc", b"", "h\u00e9llo".encode(), b"\x00\xff"]
    for raw in (True, False):
        code, r = call(s.ModelInfer, make_request("strings", [("IN", "BYTES", [2, 2], strings)],
                                                  raw=raw))
        out = outputs_of(r).get("OUT") if code == grpc.StatusCode.OK else None
        check(out is not None and out[0] == "BYTES" and out[1] == [2, 2] and out[2] == strings,
              f"BYTES {'raw (length-prefixed)' if raw else 'typed bytes_contents'} round trip")
    h = np.array([[1.5, -2.25], [65504, 2**-24]], np.float16)
    code, r = call(s.ModelInfer, make_request("halfs", [("IN", "FP16", h.shape, h)]))
    out = outputs_of(r).get("OUT") if code == grpc.StatusCode.OK else None
    check(out is not None and out[0] == "FP16" and out[2].tobytes() == h.tobytes(),
          "FP16 raw, bit-exact round trip")
    bf = struct.pack("<4H", 0x3fc0, 0xc010, 0x7f7f, 0x0001)
    code, r = call(s.ModelInfer, make_request("bhalfs", [("IN", "BF16", [2, 2], bf)]))
    out = outputs_of(r).get("OUT") if code == grpc.StatusCode.OK else None
    check(out is not None and out[0] == "BF16" and out[2] == bf, "BF16 raw, bit-exact round trip")
    for model, dt in (("halfs", "FP16"), ("bhalfs", "BF16")):
        req = pb.ModelInferRequest(model_name=model)
        req.inputs.add(name="IN", datatype=dt, shape=[1, 2]).contents.fp32_contents.extend([1, 2])
        code, msg = call(s.ModelInfer, req)
        check(code == grpc.StatusCode.INVALID_ARGUMENT and "raw_input_contents" in msg,
              f"{dt} in typed contents: INVALID_ARGUMENT naming raw_input_contents ({msg})")
    # A message above gRPC's default 4 MiB limit but within the server's limit is accepted.
    big = np.zeros((8, 1024 * 200), np.float32)  # 6.25 MiB
    code, msg = call(s.ModelInfer, make_request("mlp", [("INPUT0", "FP32", big.shape, big)]))
    check(code == grpc.StatusCode.INVALID_ARGUMENT and "shape" in msg,
          f"6 MiB request reaches validation (the limit is the server's, not gRPC's 4 MiB) ({code})")


def errors(srv):
    s = srv.stub
    x = np.ones((1, 4), np.float32)
    good = ("INPUT0", "FP32", [1, 4], x)
    IA, NF = grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND
    two_raw = make_request("mlp", [good])
    two_raw.raw_input_contents.append(b"\0" * 16)
    both = make_request("mlp", [good])
    both.inputs[0].contents.fp32_contents.extend([1, 2, 3, 4])
    wrong_field = make_request("mlp", [good], raw=False)
    wrong_field.inputs[0].contents.int_contents.extend([1, 2, 3, 4])
    shm = make_request("mlp", [good])
    shm.inputs[0].parameters["shared_memory_region"].string_param = "r"
    cases = [
        ("unknown model", make_request("nope", [good]), NF, "nope"),
        ("unknown version", make_request("mlp", [good], version="9"), NF, "version 9"),
        ("non-numeric version", make_request("mlp", [good], version="abc"), NF, "abc"),
        ("wrong input name", make_request("mlp", [("NOPE", "FP32", [1, 4], x)]), IA, "NOPE"),
        ("wrong datatype", make_request("mlp", [("INPUT0", "FP64", [1, 4], x.astype(np.float64))]),
         IA, "FP64"),
        ("unknown datatype", make_request("mlp", [("INPUT0", "FP33", [1, 4], x)]), IA, "FP33"),
        ("wrong shape", make_request("mlp", [("INPUT0", "FP32", [1, 5], np.ones((1, 5), np.float32))]),
         IA, "[1,5]"),
        ("wrong rank", make_request("mlp", [("INPUT0", "FP32", [4], np.ones(4, np.float32))]),
         IA, "shape"),
        ("batch above max_batch_size",
         make_request("mlp", [("INPUT0", "FP32", [9, 4], np.ones((9, 4), np.float32))]), IA,
         "max_batch_size"),
        ("missing input", make_request("mlp", []), IA, "missing"),
        ("raw size mismatch", make_request("mlp", [("INPUT0", "FP32", [1, 4], b"\0" * 12)]), IA,
         "12 bytes"),
        ("raw entries != inputs", two_raw, IA, "raw_input_contents has 2 entries"),
        ("both raw and typed contents", both, IA, "typed contents"),
        ("typed count mismatch", make_request("mlp", [("INPUT0", "FP32", [1, 4], x[:, :3])], raw=False),
         IA, "fp32_contents has 3 elements"),
        ("typed data in the wrong field", wrong_field, IA, "int_contents"),
        ("overflowing shape", make_request("mlp", [("INPUT0", "FP32", [2**40, 2**40, 4], b"\0")]), IA,
         "overflows"),
        ("huge shape, little data", make_request("mlp", [("INPUT0", "FP32", [8, 2**30], b"\0" * 4)]),
         IA, "needs"),
        ("negative dim", make_request("mlp", [("INPUT0", "FP32", [-1, 4], x)]), IA, "non-negative"),
        ("INT8 value out of range",
         make_request("id_int8", [("IN", "INT8", [1, 2], np.array([[1, 300]]))], raw=False), IA,
         "out of range"),
        ("truncated BYTES raw", make_request("strings", [("IN", "BYTES", [1, 2],
                                                          struct.pack("<I", 9) + b"abc")]), IA,
         "BYTES"),
        ("BYTES raw with bytes left over", make_request("strings", [("IN", "BYTES", [1, 1],
                                                                     bytes_raw([b"a", b"b"]))]),
         IA, "beyond"),
        ("unknown output", make_request("mlp", [good], outputs=["NOPE"]), IA, "NOPE"),
        ("bad priority", make_request("mlp", [good], params={"priority": "high"}), IA, "priority"),
        ("negative timeout", make_request("mlp", [good], params={"timeout": -5}), IA, "timeout"),
        ("shared memory", shm, grpc.StatusCode.UNIMPLEMENTED, "shared memory"),
    ]
    before = s.ModelStatistics(pb.ModelStatisticsRequest(name="mlp")).model_stats[0]
    for what, req, want, needle in cases:
        code, msg = call(s.ModelInfer, req)
        check(code == want and isinstance(msg, str) and needle in msg,
              f"error: {what} -> {want.name} ({code.name}: {msg})")
    oversized = make_request("mlp", [("INPUT0", "FP32", [1, 4], b"\0" * (MAX_INPUT + 1024))])
    code, msg = call(s.ModelInfer, oversized)
    check(code == grpc.StatusCode.RESOURCE_EXHAUSTED,
          f"error: message above the server's limit -> RESOURCE_EXHAUSTED ({code.name})")
    after = s.ModelStatistics(pb.ModelStatisticsRequest(name="mlp")).model_stats[0]
    fails = after.inference_stats.fail.count - before.inference_stats.fail.count
    check(fails >= 6, f"validation failures count in the model's fail statistics (+{fails})")
    r = s.ModelInfer(make_request("mlp", [good]))
    check(outputs_of(r)["OUTPUT0"][1] == [1, 3], "still serving after bad requests")


def batching(srv, repo):
    """Many concurrent calls of batch 1-4 return exactly what one-at-a-time calls return."""
    s = srv.stub
    rng = np.random.default_rng(3)
    sizes = [1, 2, 3, 1, 1, 2, 1, 4] * 6
    xs = [rng.standard_normal((n, 4)).astype(np.float32) for n in sizes]
    reqs = [make_request("mlp", [("INPUT0", "FP32", x.shape, x)], raw=i % 2 == 0, rid=str(i))
            for i, x in enumerate(xs)]
    sequential = [outputs_of(s.ModelInfer(r))["OUTPUT0"][2] for r in reqs[:12]]
    before = s.ModelStatistics(pb.ModelStatisticsRequest(name="mlp")).model_stats[0]
    with concurrent.futures.ThreadPoolExecutor(len(reqs)) as pool:
        barrier = threading.Barrier(len(reqs))

        def one(r):
            barrier.wait()
            return s.ModelInfer(r, timeout=60)

        responses = list(pool.map(one, reqs))
    after = s.ModelStatistics(pb.ModelStatisticsRequest(name="mlp")).model_stats[0]
    got = [outputs_of(r)["OUTPUT0"][2] for r in responses]
    ids_ok = [r.id for r in responses] == [str(i) for i in range(len(reqs))]
    ok = ids_ok and all(g.shape == (len(x), 3) and np.allclose(
        g, mlp_reference(f"{repo}/mlp/1/model.onnx", x), atol=1e-5) for g, x in zip(got, xs))
    same = all(np.allclose(a, b, rtol=1e-6, atol=1e-7) for a, b in zip(sequential, got[:12]))
    exact = sum(a.tobytes() == b.tobytes() for a, b in zip(sequential, got[:12]))
    check(ok and same, f"{len(reqs)} concurrent calls equal the sequential ones and numpy "
          f"({exact} of 12 bit-identical)")
    runs = after.execution_count - before.execution_count
    rows = after.inference_count - before.inference_count
    joined = sorted({b.batch_size for b in after.batch_stats if b.batch_size > 4})
    check(rows == sum(sizes) and runs < len(reqs) and joined,
          f"dynamic batching joined gRPC calls: {len(reqs)} calls, {rows} rows in {runs} runs, "
          f"batch sizes > 4: {joined}")
    succ = after.inference_stats.success.count - before.inference_stats.success.count
    check(succ == len(reqs), f"statistics: success count moved by {succ} (want {len(reqs)})")
    with urllib.request.urlopen(f"http://127.0.0.1:{srv.metrics_port}/metrics", timeout=30) as m:
        text = m.read().decode()
    lines = {l.split(" ")[0]: l.split(" ")[1] for l in text.splitlines() if l and l[0] != "#"}
    now = s.ModelStatistics(pb.ModelStatisticsRequest(name="mlp")).model_stats[0]
    check(int(lines.get('nv_inference_request_success{model="mlp",version="1"}', -1))
          == now.inference_stats.success.count and
          int(lines.get('nv_inference_count{model="mlp",version="1"}', -1)) == now.inference_count,
          "Prometheus metrics count the gRPC requests (same numbers as ModelStatistics)")


def streaming(srv, repo):
    s = srv.stub
    rng = np.random.default_rng(6)
    xs = [rng.standard_normal((1 + i % 3, 4)).astype(np.float32) for i in range(12)]
    reqs = [make_request("mlp", [("INPUT0", "FP32", x.shape, x)], rid=f"s{i}")
            for i, x in enumerate(xs)]
    reqs.insert(5, make_request("mlp", [("NOPE", "FP32", [1, 4], xs[0])], rid="bad"))
    reqs.append(make_request("strings", [("IN", "BYTES", [1, 2], [b"x", b"yz"])], rid="str"))
    got = {}
    for resp in s.ModelStreamInfer(iter(reqs), timeout=60):
        got[resp.infer_response.id] = resp
    ok = all(not got[f"s{i}"].error_message and np.allclose(
        outputs_of(got[f"s{i}"].infer_response)["OUTPUT0"][2],
        mlp_reference(f"{repo}/mlp/1/model.onnx", x), atol=1e-5) for i, x in enumerate(xs)
        if f"s{i}" in got)
    check(len(got) == len(reqs) and ok, f"ModelStreamInfer: {len(got)} of {len(reqs)} answers, "
          "each matching numpy")
    check("bad" in got and "NOPE" in got["bad"].error_message
          and got["bad"].infer_response.model_name == "mlp",
          "stream: a bad request gets error_message (with its id) and the stream goes on")
    check("str" in got and outputs_of(got["str"].infer_response)["OUT"][2] == [b"x", b"yz"],
          "stream: BYTES answer")
    # A client that goes away mid-stream does not disturb the server.
    call_ = s.ModelStreamInfer(iter(reqs * 4), timeout=60)
    next(call_)
    call_.cancel()
    time.sleep(0.2)
    check(s.ServerLive(pb.ServerLiveRequest()).live
          and s.ModelInfer(reqs[0]).id == "s0", "a stream cancelled by its client: still serving")


def load_unload(srv):
    s = srv.stub
    x = np.ones((1, 4), np.float32)
    req = make_request("mlp_auto", [("INPUT0", "FP32", [1, 4], x)])
    code, _ = call(s.RepositoryModelUnload, pb.RepositoryModelUnloadRequest(model_name="mlp_auto"))
    check(code == grpc.StatusCode.OK, "RepositoryModelUnload mlp_auto")
    check(not s.ModelReady(pb.ModelReadyRequest(name="mlp_auto")).ready, "unloaded: not ready")
    code, msg = call(s.ModelInfer, req)
    check(code == grpc.StatusCode.NOT_FOUND, f"infer on an unloaded model: NOT_FOUND ({msg})")
    idx = s.RepositoryIndex(pb.RepositoryIndexRequest()).models
    check(any(e.name == "mlp_auto" and e.state == "UNAVAILABLE" for e in idx),
          "index shows the unloaded model UNAVAILABLE")
    code, _ = call(s.RepositoryModelLoad, pb.RepositoryModelLoadRequest(model_name="mlp_auto"))
    check(code == grpc.StatusCode.OK and s.ModelReady(pb.ModelReadyRequest(name="mlp_auto")).ready,
          "RepositoryModelLoad mlp_auto: ready again")
    check(call(s.ModelInfer, req)[0] == grpc.StatusCode.OK, "infer after the reload")
    cfg = json.dumps({"max_batch_size": 2, "input": [{"name": "INPUT0", "data_type": "TYPE_FP32",
                                                      "dims": [4]}]})
    load = pb.RepositoryModelLoadRequest(model_name="mlp_auto")
    load.parameters["config"].string_param = cfg
    code, _ = call(s.RepositoryModelLoad, load)
    c = s.ModelConfig(pb.ModelConfigRequest(name="mlp_auto")).config
    check(code == grpc.StatusCode.OK and c.max_batch_size == 2, "load with a config override")
    code, msg = call(s.ModelInfer, make_request("mlp_auto", [("INPUT0", "FP32", [3, 4],
                                                              np.ones((3, 4), np.float32))]))
    check(code == grpc.StatusCode.INVALID_ARGUMENT, "batch 3 above the override's max_batch_size 2")
    load.parameters["config"].string_param = "{not json"
    code, _ = call(s.RepositoryModelLoad, load)
    check(code == grpc.StatusCode.INVALID_ARGUMENT, "load with a malformed config: INVALID_ARGUMENT")
    code, _ = call(s.RepositoryModelLoad, pb.RepositoryModelLoadRequest(model_name="nope"))
    check(code == grpc.StatusCode.NOT_FOUND, "load of a model not in the repository: NOT_FOUND")
    f = pb.RepositoryModelLoadRequest(model_name="mlp_auto")
    f.parameters["file:1/model.onnx"].bytes_param = b"x"
    code, _ = call(s.RepositoryModelLoad, f)
    check(code == grpc.StatusCode.UNIMPLEMENTED, "load with file: parameters: UNIMPLEMENTED")


def reload_under_load(srv, repo):
    """Reloading a model while gRPC calls stream in: not one call fails (zero-downtime swap)."""
    s = srv.stub
    x = np.random.default_rng(12).standard_normal((2, 4)).astype(np.float32)
    want = mlp_reference(f"{repo}/mlp/1/model.onnx", x)
    req = make_request("mlp", [("INPUT0", "FP32", x.shape, x)])
    stop = threading.Event()
    results = []

    def client():
        while not stop.is_set():
            code, r = call(s.ModelInfer, req)
            results.append(code == grpc.StatusCode.OK
                           and np.allclose(outputs_of(r)["OUTPUT0"][2], want, atol=1e-5))

    threads = [threading.Thread(target=client) for _ in range(4)]
    for t in threads:
        t.start()
    loads = [call(s.RepositoryModelLoad, pb.RepositoryModelLoadRequest(model_name="mlp"))[0]
             for _ in range(3)]
    time.sleep(0.1)
    stop.set()
    for t in threads:
        t.join()
    check(all(c == grpc.StatusCode.OK for c in loads) and results and all(results),
          f"3 reloads of mlp during {len(results)} concurrent gRPC calls: "
          f"{results.count(False)} failed")


def client_deadline(srv):
    """A call whose gRPC deadline passes while it waits in the queue is dropped, not run."""
    s = srv.stub
    x = np.random.default_rng(13).standard_normal((64, 1024)).astype(np.float32)
    req = make_request("drain", [("INPUT0", "FP32", x.shape, x)])
    s.ModelInfer(req, timeout=60)  # first-shape setup
    t0 = time.time()
    s.ModelInfer(req, timeout=60)
    deadline = max(0.02, 2 * (time.time() - t0))  # the ten runs queued before take ~5x that
    stats = lambda: s.ModelStatistics(pb.ModelStatisticsRequest(name="drain")).model_stats[0]
    before = stats()
    busy = [s.ModelInfer.future(req, timeout=60) for _ in range(10)]
    time.sleep(deadline / 4)
    code, _ = call(s.ModelInfer, req, timeout=deadline)
    busy_ok = all(f.exception() is None for f in busy)
    time.sleep(0.1)
    after = stats()
    runs = after.execution_count - before.execution_count
    fails = after.inference_stats.fail.count - before.inference_stats.fail.count
    check(code == grpc.StatusCode.DEADLINE_EXCEEDED and busy_ok and runs == 10 and fails == 1,
          f"a call whose deadline ({deadline * 1000:.0f} ms) passed in the queue is dropped "
          f"before it runs ({code.name}; {runs} runs for 10 + 1 calls, {fails} failure)")


def queue_full(srv):
    """max_queue_size 1 on the slow model: concurrent calls beyond it get UNAVAILABLE."""
    s = srv.stub
    x = np.random.default_rng(4).standard_normal((64, 1024)).astype(np.float32)
    req = make_request("slow", [("INPUT0", "FP32", x.shape, x)])
    results = []
    for _ in range(3):
        futures = [s.ModelInfer.future(req, timeout=60) for _ in range(16)]
        for f in futures:
            try:
                f.result()
                results.append((grpc.StatusCode.OK, ""))
            except grpc.RpcError as e:
                results.append((e.code(), e.details()))
        if any(c == grpc.StatusCode.UNAVAILABLE for c, _ in results):
            break
    rejected = [m for c, m in results if c == grpc.StatusCode.UNAVAILABLE]
    check(rejected and all(c in (grpc.StatusCode.OK, grpc.StatusCode.UNAVAILABLE)
                           for c, _ in results) and "queue" in rejected[0],
          f"max_queue_size -> UNAVAILABLE naming the queue ({len(rejected)} of {len(results)})")


def drain(srv):
    """SIGTERM with calls in flight: they all finish, new calls are refused, exit status 0."""
    s = srv.stub
    x = np.random.default_rng(8).standard_normal((64, 1024)).astype(np.float32)
    req = make_request("drain", [("INPUT0", "FP32", x.shape, x)])
    want = outputs_of(s.ModelInfer(req, timeout=60))["OUTPUT0"][2]  # warm (first-shape setup)
    t0 = time.time()
    s.ModelInfer(req, timeout=60)
    one = time.time() - t0
    n_stream = min(40, max(3, int(1.0 / one)))  # about a second of queued work
    unary = [s.ModelInfer.future(req, timeout=120) for _ in range(2)]
    for f in unary:
        f.add_done_callback(lambda f: setattr(f, "done_at", time.time()))
    stream_reqs = [make_request("drain", [("INPUT0", "FP32", x.shape, x)], rid=f"d{i}")
                   for i in range(n_stream)]
    stream_done = threading.Event()

    def stream_requests():  # the client keeps its side open: the server ends the stream
        yield from stream_reqs
        stream_done.wait(120)

    stream = s.ModelStreamInfer(stream_requests(), timeout=120)
    stream_answers, stream_end = [], []  # (time, answer); final status

    def read_stream():
        try:
            for r in stream:
                stream_answers.append((time.time(), r))
            stream_end.append("OK")
        except grpc.RpcError as e:
            stream_end.append(f"{e.code().name}: {e.details()}")
        stream_done.set()

    reader = threading.Thread(target=read_stream)
    reader.start()
    # A stream whose client stays open and idle must not hold the exit up until the deadline.
    idle_release = threading.Event()

    def idle_requests():
        yield make_request("mlp", [("INPUT0", "FP32", [1, 4], np.ones((1, 4), np.float32))],
                           rid="idle")
        idle_release.wait(120)

    idle = s.ModelStreamInfer(idle_requests(), timeout=120)
    idle_first = next(idle).infer_response.id
    idle_end = []

    def read_idle():
        try:
            idle_end.append(("OK", len(list(idle))))
        except grpc.RpcError as e:
            idle_end.append((e.code().name, 0))

    idle_reader = threading.Thread(target=read_idle)
    idle_reader.start()
    time.sleep(min(0.1, one / 2))
    srv.proc.send_signal(signal.SIGTERM)
    t_sig = time.time()
    time.sleep(0.1)
    fresh = grpc.insecure_channel(srv.target)
    code, _ = call(pbg.GRPCInferenceServiceStub(fresh).ServerLive, pb.ServerLiveRequest(), timeout=5)
    refused_at = time.time()
    refused_while_draining = code == grpc.StatusCode.UNAVAILABLE
    results = []
    for f in unary:
        try:
            results.append(outputs_of(f.result())["OUTPUT0"][2])
        except grpc.RpcError as e:
            results.append(e.code())
    reader.join(120)
    last_answer = max([t for t, _ in stream_answers] + [f.done_at for f in unary])
    still_running = refused_at < last_answer
    rc = srv.proc.wait(timeout=60)
    exit_after = time.time() - t_sig
    idle_reader.join(30)
    idle_release.set()
    check(all(isinstance(r, np.ndarray) and np.array_equal(r, want) for r in results),
          f"SIGTERM: in-flight ModelInfer calls finished with their answers "
          f"({[r if not isinstance(r, np.ndarray) else 'OK' for r in results]})")
    answered = [a for _, a in stream_answers if not a.error_message]
    after_signal = [a for t, a in stream_answers if not a.error_message and t > t_sig]
    refused = [a for _, a in stream_answers if a.error_message]
    ids = [a.infer_response.id for _, a in stream_answers]
    check(after_signal and all(np.array_equal(outputs_of(a.infer_response)["OUTPUT0"][2], want)
                               for a in answered)
          and all("shutting down" in a.error_message for a in refused)
          and len(set(ids)) == len(ids) and set(ids) <= {f"d{i}" for i in range(n_stream)}
          and stream_end == ["UNAVAILABLE: the server is shutting down"],
          f"SIGTERM: an open stream gets the answers of the requests it had sent "
          f"({len(answered)} answered, {len(after_signal)} after the signal, {len(refused)} "
          f"refused as shutting down, of {n_stream}), then ends UNAVAILABLE ({stream_end})")
    check(refused_while_draining and still_running,
          f"SIGTERM: new calls refused while draining ({code.name} {refused_at - t_sig:.2f} s "
          f"after the signal, last answer after {last_answer - t_sig:.2f} s; one call takes "
          f"{one * 1000:.0f} ms)")
    check(idle_first == "idle" and idle_end == [("UNAVAILABLE", 0)] and exit_after < 10,
          f"SIGTERM: an idle open stream is ended at once (UNAVAILABLE) ({idle_end}, exit "
          f"{exit_after:.2f} s after the signal)")
    check(rc == 0, f"SIGTERM: exit status 0 (got {rc})")
    fresh.close()
    srv.channel.close()


def main():
    t_start = time.time()
    tmp = tempfile.mkdtemp(prefix="nalar-grpc-test-")
    try:
        generate_stubs(os.path.join(tmp, "stubs"))
        repo = os.path.join(tmp, "repo")
        build_repository(repo)
        srv = Server(repo, "--model-control-mode", "explicit", "--load-model", "*")
        try:
            server_rpcs(srv, repo)
            inference(srv, repo)
            errors(srv)
            batching(srv, repo)
            streaming(srv, repo)
            load_unload(srv)
            reload_under_load(srv, repo)
            client_deadline(srv)
            queue_full(srv)
            drain(srv)
        except Exception:
            srv.dump_log()
            raise
        finally:
            if srv.proc.poll() is None:
                srv.proc.kill()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if FAILURES:
        print(f"\n{len(FAILURES)} check(s) failed:")
        for f in FAILURES:
            print("  " + f)
        sys.exit(1)
    print(f"\nall gRPC checks passed in {time.time() - t_start:.1f} s")


if __name__ == "__main__":
    main()
