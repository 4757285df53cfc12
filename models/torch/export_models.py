#!/usr/bin/python3
"""Exports real architectures from Debian's torch/torchvision to ONNX for the parity test.

Usage: /usr/bin/python3 models/torch/export_models.py [OUTDIR] [--only NAME[,NAME...]]

For every model it writes
  OUTDIR/<name>/model.onnx                      (dynamic batch axis 'batch')
  OUTDIR/<name>/b<B>/inputs/<input name>.npy    for B in 1 and 4
  OUTDIR/<name>/b<B>/expected/<output name>.npy (PyTorch's float32 outputs)
Nothing is downloaded: weights are random with fixed seeds. BatchNorm statistics are calibrated
on random data so activations stay O(1) through deep stacks (with the default running stats of
mean 0 / var 1 a random-init net's activations explode or vanish, which would make a 1e-4
tolerance meaningless). The opsets are spread over 11..17 so each exporter version is covered.
"""
import argparse
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision.models.vision_transformer import VisionTransformer

BATCHES = (1, 4)


# ----------------------------------------------------------------------------- custom models
class BertSelfAttention(nn.Module):
    def __init__(self, hidden, heads):
        super().__init__()
        self.heads = heads
        self.head_dim = hidden // heads
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, hidden)

    def split(self, x):
        b, s = x.shape[0], x.shape[1]
        return x.view(b, s, self.heads, self.head_dim).transpose(1, 2)

    def forward(self, x, additive_mask):
        q, k, v = self.split(self.query(x)), self.split(self.key(x)), self.split(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim)
        probs = F.softmax(scores + additive_mask, dim=-1)
        ctx = torch.matmul(probs, v).transpose(1, 2)
        return self.out(ctx.reshape(x.shape[0], x.shape[1], -1))


class BertLayer(nn.Module):
    def __init__(self, hidden, heads, ffn):
        super().__init__()
        self.attention = BertSelfAttention(hidden, heads)
        self.attention_norm = nn.LayerNorm(hidden, eps=1e-12)
        self.intermediate = nn.Linear(hidden, ffn)
        self.output = nn.Linear(ffn, hidden)
        self.output_norm = nn.LayerNorm(hidden, eps=1e-12)

    def forward(self, x, additive_mask):
        x = self.attention_norm(x + self.attention(x, additive_mask))
        h = F.gelu(self.intermediate(x))  # erf form (approximate='none')
        return self.output_norm(x + self.output(h))


class BertEncoder(nn.Module):
    """BERT-base structure at a small size: embeddings, post-LN encoder layers, pooler."""

    def __init__(self, vocab=1000, hidden=128, heads=4, ffn=512, layers=3, max_pos=128):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab, hidden)
        self.position_embeddings = nn.Embedding(max_pos, hidden)
        self.token_type_embeddings = nn.Embedding(2, hidden)
        self.embedding_norm = nn.LayerNorm(hidden, eps=1e-12)
        self.register_buffer("position_ids", torch.arange(max_pos).unsqueeze(0), persistent=False)
        self.layers = nn.ModuleList(BertLayer(hidden, heads, ffn) for _ in range(layers))
        self.pooler = nn.Linear(hidden, hidden)

    def forward(self, input_ids, attention_mask):
        seq = input_ids.shape[1]
        token_types = torch.zeros_like(input_ids)
        x = (self.word_embeddings(input_ids) + self.position_embeddings(self.position_ids[:, :seq]) +
             self.token_type_embeddings(token_types))
        x = self.embedding_norm(x)
        # [batch, 1, 1, seq]: 0 where attended, -10000 on padding (the classic BERT mask).
        additive = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * -10000.0
        for layer in self.layers:
            x = layer(x, additive)
        pooled = torch.tanh(self.pooler(x[:, 0]))
        return x, pooled


class LstmTagger(nn.Module):
    def __init__(self, features=16, hidden=32, classes=10):
        super().__init__()
        self.lstm = nn.LSTM(features, hidden, num_layers=2, bidirectional=True, batch_first=True)
        self.head = nn.Linear(2 * hidden, classes)

    def forward(self, x):
        y, _ = self.lstm(x)
        return self.head(y)


class GruEncoder(nn.Module):
    def __init__(self, features=16, hidden=48, classes=5):
        super().__init__()
        self.gru = nn.GRU(features, hidden, num_layers=2, batch_first=True)
        self.head = nn.Linear(hidden, classes)

    def forward(self, x):
        y, h = self.gru(x)
        return self.head(y[:, -1]), h


# ----------------------------------------------------------------------------- model table
def tv(name, **kw):
    return lambda: getattr(torchvision.models, name)(weights=None, **kw)


def small_vit():
    # vit_b_16's structure (conv patchify, class token, pre-LN encoder, MLP head) at a small width.
    return VisionTransformer(image_size=224, patch_size=16, num_layers=4, num_heads=4,
                             hidden_dim=192, mlp_dim=768)


def image_case(size):
    """Smooth random images with per-image contrast and colour cast.

    Plain white noise would average out in the global pooling, giving nearly the same logits
    for every image; low-frequency structure keeps the samples of a batch distinguishable.
    """
    def make(batch, gen):
        coarse = torch.randn(batch, 3, 7, 7, generator=gen)
        img = F.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)
        contrast = 0.5 + torch.rand(batch, 1, 1, 1, generator=gen)
        cast = 0.5 * torch.randn(batch, 3, 1, 1, generator=gen)
        fine = 0.2 * torch.randn(batch, 3, size, size, generator=gen)
        return {"input": (img * contrast + cast + fine).contiguous()}
    return make


def sequence_case(seq, features):
    def make(batch, gen):
        return {"input": torch.randn(batch, seq, features, generator=gen)}
    return make


def bert_case(batch, gen):
    seq = 32
    ids = torch.randint(1, 1000, (batch, seq), generator=gen)
    lengths = [seq, 27, 19, 6][:batch] if batch > 1 else [29]
    mask = torch.zeros(batch, seq, dtype=torch.int64)
    for row, length in enumerate(lengths):
        mask[row, :length] = 1
        ids[row, length:] = 0  # [PAD]
    ids[:, 0] = 101  # [CLS]
    return {"input_ids": ids, "attention_mask": mask}


SEQ = {0: "batch", 1: "seq"}

# name: (constructor, opset, inputs maker, output names, dynamic axes of the inputs/outputs
# whose symbolic dims are not just {0: "batch"})
MODELS = {
    "resnet18": (tv("resnet18"), 11, image_case(224), ["logits"], {}),
    "squeezenet1_1": (tv("squeezenet1_1"), 12, image_case(224), ["logits"], {}),
    "mobilenet_v2": (tv("mobilenet_v2"), 13, image_case(224), ["logits"], {}),
    "densenet121": (tv("densenet121"), 13, image_case(128), ["logits"], {}),
    "mobilenet_v3_small": (tv("mobilenet_v3_small"), 14, image_case(224), ["logits"], {}),
    "efficientnet_b0": (tv("efficientnet_b0"), 15, image_case(160), ["logits"], {}),
    "shufflenet_v2_x1_0": (tv("shufflenet_v2_x1_0"), 16, image_case(224), ["logits"], {}),
    "vit_small_16": (small_vit, 17, image_case(224), ["logits"], {}),
    "bert_small": (BertEncoder, 12, bert_case, ["last_hidden_state", "pooler_output"],
                   {"input_ids": SEQ, "attention_mask": SEQ, "last_hidden_state": SEQ}),
    "lstm_bidir": (LstmTagger, 15, sequence_case(20, 16), ["logits"],
                   {"input": SEQ, "logits": SEQ}),
    "gru": (GruEncoder, 11, sequence_case(24, 16), ["logits", "hidden"],
            {"input": SEQ, "hidden": {1: "batch"}}),  # hidden is [layers, batch, hidden]
}

# Models whose last Linear directly produces their (first) output.
HEAD_IS_OUTPUT = set(MODELS) - {"bert_small"}


# ----------------------------------------------------------------------------- export
def randomise_norm_layers(model, calib_inputs, seed):
    """Non-trivial BN/LN affine params, then BN running stats measured on random data."""
    gen = torch.Generator().manual_seed(seed)
    bns = []
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm2d, nn.LayerNorm)) and getattr(m, "weight", None) is not None:
            with torch.no_grad():
                m.weight.copy_(0.75 + 0.5 * torch.rand(m.weight.shape, generator=gen))
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=gen))
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the calibration batches
            bns.append(m)
    if not bns:
        return
    model.train()
    with torch.no_grad():
        for inputs in calib_inputs:
            model(*inputs.values())
    model.eval()


def rescale_head(model, calib_inputs):
    """Default-init every Linear, then scale the head so the model's output has unit std.

    torchvision zero-initialises ViT's head and gives MobileNetV3's classifier std 0.01; logits
    of ~1e-2 would make the 1e-4 absolute tolerance of the parity test nearly vacuous.
    """
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    for m in linears:
        m.reset_parameters()
    # SqueezeNet's head is a 1x1 conv followed by ReLU and average pooling, which commute with a
    # positive gain.
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    head = linears[-1] if linears else convs[-1]
    with torch.no_grad():
        out = model(*calib_inputs[0].values())
        if isinstance(out, tuple):
            out = out[0]
        gain = 1.0 / float(out.std())
        head.weight.mul_(gain)
        head.bias.mul_(gain)


def symbolic_dims(name, axes):
    return axes.get(name, {0: "batch"})


def export_one(name, outdir):
    ctor, opset, make_inputs, output_names, extra_axes = MODELS[name]
    t0 = time.time()
    seed = sum(map(ord, name))
    torch.manual_seed(seed)
    model = ctor().eval()
    gen = torch.Generator().manual_seed(seed + 1)
    cases = {b: make_inputs(b, gen) for b in BATCHES}
    # Calibrate on the test inputs themselves plus a few more: BN statistics from a handful of
    # other random images do not carry over well and let activations blow up (EfficientNet).
    extra = make_inputs(3, gen)
    calib = [{k: torch.cat([cases[4][k], cases[1][k], extra[k]]) for k in extra}]
    randomise_norm_layers(model, calib, seed + 2)
    if name in HEAD_IS_OUTPUT:
        rescale_head(model, calib)
    input_names = list(cases[BATCHES[0]].keys())
    dynamic_axes = {n: symbolic_dims(n, extra_axes) for n in input_names + output_names}

    mdir = os.path.join(outdir, name)
    os.makedirs(mdir, exist_ok=True)
    path = os.path.join(mdir, "model.onnx")
    # Grad stays enabled: under no_grad nn.MultiheadAttention takes its fused fast path
    # (aten::_native_multi_head_attention), which the exporter cannot translate.
    torch.onnx.export(model, tuple(cases[4].values()), path, opset_version=opset,
                      input_names=input_names, output_names=output_names,
                      dynamic_axes=dynamic_axes, do_constant_folding=True)

    shapes = []
    for b, inputs in cases.items():
        outs = model(*inputs.values())  # same (non-fused) path as the export traced
        if isinstance(outs, torch.Tensor):
            outs = (outs,)
        assert len(outs) == len(output_names), name
        idir = os.path.join(mdir, f"b{b}", "inputs")
        edir = os.path.join(mdir, f"b{b}", "expected")
        os.makedirs(idir, exist_ok=True)
        os.makedirs(edir, exist_ok=True)
        for n, t in inputs.items():
            np.save(os.path.join(idir, n + ".npy"), t.numpy())
        for n, t in zip(output_names, outs):
            arr = t.detach().numpy().astype(np.float32)
            assert np.isfinite(arr).all(), f"{name}: non-finite output {n}"
            np.save(os.path.join(edir, n + ".npy"), arr)
        shapes.append(f"b{b}:" + ",".join("x".join(map(str, o.shape)) for o in outs))
    print(f"exported {name:20s} opset {opset}  {' '.join(shapes)}  ({time.time() - t0:.1f} s)",
          flush=True)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_out = os.path.normpath(os.path.join(here, "..", "..", "tests", "data", "torch"))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir", nargs="?", default=default_out)
    ap.add_argument("--only", help="comma-separated model names")
    args = ap.parse_args()
    names = args.only.split(",") if args.only else list(MODELS)
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        sys.exit(f"unknown model(s): {', '.join(unknown)}; known: {', '.join(MODELS)}")
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    import warnings
    warnings.simplefilter("ignore")  # the exporter's tracer warnings are expected and noisy
    t0 = time.time()
    for name in names:
        export_one(name, args.outdir)
    print(f"export_models: {len(names)} models in {args.outdir} ({time.time() - t0:.1f} s)")


if __name__ == "__main__":
    main()
