#!/usr/bin/python3
"""The image batch job done the way a PyTorch user would: a Dataset that opens each JPEG with
Pillow, converts to grayscale, resizes to 28x28 (bilinear) and normalises as the digits model's
pipeline.json says; a DataLoader with worker processes; the same network (DigitNet from
models/digits/train_digits.py) with the weights of the repository's ONNX file; labels and
probabilities written to CSV.

    digits_torch.py MODEL_DIR IMAGE_DIR OUTPUT.csv [BATCH] [WORKERS] [THREADS]
"""
import json
import os
import sys
import time

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "models", "digits"))
from train_digits import DigitNet  # noqa: E402


class Images(torch.utils.data.Dataset):
    def __init__(self, files, mean, std):
        self.files, self.mean, self.std = files, mean, std

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        im = Image.open(self.files[i]).convert("L").resize((28, 28), Image.BILINEAR)
        x = (np.asarray(im, dtype=np.float32) / 255.0 - self.mean) / self.std
        return torch.from_numpy(x[None])


def main():
    model_dir, image_dir, dst = sys.argv[1:4]
    batch = int(sys.argv[4]) if len(sys.argv) > 4 else 64
    workers = int(sys.argv[5]) if len(sys.argv) > 5 else 2
    torch.set_num_threads(int(sys.argv[6]) if len(sys.argv) > 6 else 2)
    cfg = json.load(open(os.path.join(model_dir, "pipeline.json")))["input"]
    net = DigitNet().eval()
    # The ONNX export kept the parameter names, so its initializers are the state dict.
    weights = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy())
               for t in onnx.load(os.path.join(model_dir, "1", "model.onnx")).graph.initializer}
    net.load_state_dict({k: weights[k] for k in net.state_dict()})
    files = sorted(os.path.join(image_dir, f) for f in os.listdir(image_dir))
    t0 = time.time()
    loader = torch.utils.data.DataLoader(Images(files, cfg["mean"][0], cfg["std"][0]),
                                         batch_size=batch, num_workers=workers)
    n = 0
    with open(dst, "w") as out, torch.no_grad():
        out.write("label,probability\n")
        for x in loader:
            p = torch.softmax(net(x), dim=1)
            top, idx = p.max(dim=1)
            out.write("".join(f"{int(i)},{float(s):.7g}\n" for i, s in zip(idx, top)))
            n += len(x)
    secs = time.time() - t0
    print(json.dumps({"rows": n, "seconds": secs, "rows_per_s": n / secs}))


if __name__ == "__main__":
    main()
