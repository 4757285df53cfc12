#!/usr/bin/python3
"""N JPEGs of handwritten digits for the image batch benchmark: sklearn's 8x8 digits upscaled
to SIZE x SIZE with a little noise, so that every file differs.   make_digit_jpegs.py DIR N [SIZE]"""
import os
import sys

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits

out, n = sys.argv[1], int(sys.argv[2])
size = int(sys.argv[3]) if len(sys.argv) > 3 else 64
os.makedirs(out, exist_ok=True)
digits = load_digits()
rng = np.random.default_rng(0)
for i in range(n):
    img = digits.images[i % len(digits.images)] * (255.0 / 16.0)
    big = np.asarray(Image.fromarray(img.astype(np.uint8)).resize((size, size), Image.BILINEAR),
                     dtype=np.float32)
    big = np.clip(big + rng.normal(0, 6, big.shape), 0, 255).astype(np.uint8)
    Image.fromarray(big, mode="L").save(os.path.join(out, f"{i:05d}.jpg"), quality=90)
