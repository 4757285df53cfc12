#!/usr/bin/python3
"""Image stage parity with Pillow / torchvision, and refusal of bad input.

    image_parity.py NALAR_IMAGE_PREP

Generates JPEGs (CMYK, quality, 4:4:4 / 4:2:2 / 4:2:0, progressive, gray, EXIF orientations 1-8) and
PNGs (8/16-bit, palette, gray, gray+alpha, RGBA, 1/2/4-bit, Adam7 interlaced, eXIf) of odd, even,
tiny and extreme-aspect sizes, runs them through `nalar_image_prep` under several pipeline
settings and asserts that every output pixel is within 1/255 (after `scale`) of the reference:
PIL.Image.open -> ImageOps.exif_transpose -> convert('RGB'/'L') -> resize (Image.resize, or
torchvision Resize + CenterCrop for "shorter_side") -> (x * scale - mean) / std in float32.
Then corrupt, truncated, oversized and foreign files must fail with a clear message, no crash.

One documented difference: 16-bit gray PNGs open in Pillow as mode "I", whose convert() clips
values above 255 (so most of the image turns white); Nalar keeps the high byte like Pillow does
for every other 16-bit PNG, and the reference here is that high byte.
"""
import io
import os
import struct
import subprocess
import sys
import tempfile
import warnings
import zlib

import numpy as np
from PIL import Image, ImageOps
import torchvision.transforms as T
from torchvision.transforms import InterpolationMode

TOOL = sys.argv[1]
warnings.filterwarnings("ignore", "Palette images with Transparency")
RNG = np.random.default_rng(1234)
FAILURES = []


def pattern(w, h, seed=0):
    """Gradients, noise, saturated blocks (luma clipping) and sharp edges (ringing)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.stack([x * 255 / max(w - 1, 1), y * 255 / max(h - 1, 1),
                    128 + 100 * np.sin(x / 7.0 + y / 11.0)], -1)
    img += rng.normal(0, 18, img.shape)
    img[(x // 16 + y // 16) % 5 == 0] = [255, 0, 0]
    img[(x // 12 + y // 20) % 7 == 0] = [0, 255, 255]
    img[(x // 9 + y // 9) % 11 == 0] = [255, 255, 0]
    return np.clip(img, 0, 255).astype(np.uint8)


# ---- a small PNG writer for what Pillow cannot save (16-bit colour, low bit depths, Adam7) ----

ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
         (0, 1, 1, 2)]


def png_chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data +
            struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def png_rows(arr, bits):
    """Serialised scanlines (filter 0) of an (h, w[, c]) array."""
    h = arr.shape[0]
    if h == 0 or arr.shape[1] == 0:
        return b""
    out = bytearray()
    for r in range(h):
        row = arr[r]
        if bits == 16:
            data = row.astype(">u2").tobytes()
        elif bits == 8:
            data = row.astype(np.uint8).tobytes()
        else:
            per = 8 // bits
            v = row.reshape(-1).astype(np.uint8)
            v = np.concatenate([v, np.zeros((-len(v)) % per, np.uint8)]).reshape(-1, per)
            packed = np.zeros(len(v), np.uint8)
            for i in range(per):
                packed |= (v[:, i] << (8 - bits * (i + 1))).astype(np.uint8)
            data = packed.tobytes()
        out += b"\x00" + data
    return bytes(out)


def encode_png(arr, color_type, bits, interlace=False, palette=None, exif=None):
    h, w = arr.shape[:2]
    ihdr = struct.pack(">IIBBBBB", w, h, bits, color_type, 0, 0, 1 if interlace else 0)
    raw = b"".join(png_rows(arr[y0::dy, x0::dx], bits) for x0, y0, dx, dy in ADAM7) \
        if interlace else png_rows(arr, bits)
    out = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)
    if palette is not None:
        out += png_chunk(b"PLTE", palette.astype(np.uint8).tobytes())
    if exif is not None:
        out += png_chunk(b"eXIf", exif)
    return out + png_chunk(b"IDAT", zlib.compress(raw, 6)) + png_chunk(b"IEND", b"")


def exif_bytes(orientation, big_endian=False):
    """A TIFF block with IFD0 holding just the orientation tag."""
    if big_endian:
        return b"MM\x00\x2a" + struct.pack(">IHHHIHH", 8, 1, 0x0112, 3, 1, orientation, 0) + \
            b"\x00\x00\x00\x00"
    return b"II\x2a\x00" + struct.pack("<IHHHIHH", 8, 1, 0x0112, 3, 1, orientation, 0) + \
        b"\x00\x00\x00\x00"


def with_app1(jpeg, tiff):
    payload = b"Exif\x00\x00" + tiff
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def make_images(d):
    """{name: path}; names say what each file exercises."""
    files = {}

    def save_bytes(name, data):
        path = os.path.join(d, name)
        with open(path, "wb") as f:
            f.write(data)
        files[name] = path

    def jpeg(arr, **kw):
        b = io.BytesIO()
        Image.fromarray(arr).save(b, "JPEG", **kw)
        return b.getvalue()

    def jpeg_cmyk(img):
        b = io.BytesIO()
        img.save(b, "JPEG", quality=90)
        return b.getvalue()

    def png(img, **kw):
        b = io.BytesIO()
        img.save(b, "PNG", **kw)
        return b.getvalue()

    sizes = [(1, 1), (2, 3), (7, 5), (31, 17), (224, 224), (257, 199), (640, 480), (1000, 750),
             (40, 600), (900, 61)]
    for i, (w, h) in enumerate(sizes):
        arr = pattern(w, h, i)
        save_bytes(f"q90_420_{w}x{h}.jpg", jpeg(arr, quality=90, subsampling=2))
        save_bytes(f"rgb8_{w}x{h}.png", png(Image.fromarray(arr)))
    arr = pattern(333, 250, 50)
    for q in (20, 75, 95):
        for sub, tag in ((0, "444"), (1, "422"), (2, "420")):
            save_bytes(f"q{q}_{tag}_333x250.jpg", jpeg(arr, quality=q, subsampling=sub))
    save_bytes("progressive_333x250.jpg", jpeg(arr, quality=85, progressive=True))
    save_bytes("progressive_444_511x383.jpg",
               jpeg(pattern(511, 383, 51), quality=92, subsampling=0, progressive=True))
    cmyk = Image.fromarray(arr).convert("CMYK")
    cmyk_arr = np.asarray(cmyk).copy()
    cmyk_arr[..., 3] = pattern(333, 250, 52)[..., 0] // 2  # some black ink too
    save_bytes("cmyk_333x250.jpg", jpeg_cmyk(Image.fromarray(cmyk_arr, "CMYK")))
    gray = np.asarray(Image.fromarray(arr).convert("L"))
    save_bytes("gray_333x250.jpg", jpeg(gray, quality=85))
    for o in range(1, 9):
        exif = Image.Exif()
        exif[0x0112] = o
        save_bytes(f"exif{o}_301x200.jpg",
                   jpeg(pattern(301, 200, 60 + o), quality=88, exif=exif.tobytes()))
        save_bytes(f"exif{o}_97x64.png", png(Image.fromarray(pattern(97, 64, 70 + o)),
                                             exif=exif.tobytes()))
    save_bytes("exif6_motorola_301x200.jpg",
               with_app1(jpeg(pattern(301, 200, 80), quality=88), exif_bytes(6, True)))
    # PNG colour types and depths.
    a = pattern(123, 77, 90)
    alpha = RNG.integers(0, 256, (77, 123), dtype=np.uint8)
    save_bytes("rgba8_123x77.png", png(Image.fromarray(np.dstack([a, alpha]), "RGBA")))
    save_bytes("la8_123x77.png", png(Image.fromarray(np.dstack([a[..., 0], alpha]), "LA")))
    save_bytes("gray8_123x77.png", png(Image.fromarray(a[..., 1])))
    pal = Image.fromarray(a).quantize(200)
    save_bytes("palette8_123x77.png", png(pal))
    pal.info["transparency"] = bytes(range(0, 250, 5))[:200]
    save_bytes("palette8_trns_123x77.png", png(pal, transparency=pal.info["transparency"]))
    save_bytes("palette4_123x77.png", png(Image.fromarray(a).quantize(16), bits=4))
    save_bytes("gray1_123x77.png", png(Image.fromarray(a[..., 0] > 128)))
    a16 = (a.astype(np.uint16) * 257 + RNG.integers(0, 257, a.shape)).astype(np.uint16)
    save_bytes("rgb16_123x77.png", encode_png(a16, 2, 16))
    save_bytes("rgba16_123x77.png", encode_png(np.dstack([a16, a16[..., :1]]), 6, 16))
    save_bytes("gray16_123x77.png", encode_png(a16[..., 0], 0, 16))
    save_bytes("gray2_123x77.png", encode_png(a[..., 0] >> 6, 0, 2))
    save_bytes("gray4_123x77.png", encode_png(a[..., 0] >> 4, 0, 4))
    save_bytes("rgb8_adam7_123x77.png", encode_png(a, 2, 8, interlace=True))
    save_bytes("rgb16_adam7_61x45.png", encode_png(a16[:45, :61], 2, 16, interlace=True))
    save_bytes("gray8_adam7_5x3.png", encode_png(a[:3, :5, 0], 0, 8, interlace=True))
    palette = RNG.integers(0, 256, (16, 3))
    save_bytes("palette4_adam7_123x77.png",
               encode_png((a[..., 0] >> 4).astype(np.uint8), 3, 4, interlace=True, palette=palette))
    save_bytes("rgb8_exif8_raw_50x30.png", encode_png(a[:30, :50], 2, 8, exif=exif_bytes(8, True)))
    return files


# ---- settings: nalar_image_prep flags and the matching reference -----------------------------

MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
RESAMPLE = {"bilinear": (Image.BILINEAR, InterpolationMode.BILINEAR),
            "area": (Image.BOX, InterpolationMode.BOX),
            "nearest": (Image.NEAREST, InterpolationMode.NEAREST)}

SETTINGS = [
    dict(name="imagenet_crop", resize="shorter_side", shorter=256, h=224, w=224, mean=MEAN, std=STD),
    dict(name="crop_224_area", resize="shorter_side", h=224, w=224, interp="area"),
    dict(name="crop_nearest_nhwc", resize="shorter_side", h=160, w=96, interp="nearest",
         layout="NHWC"),
    dict(name="exact_bilinear", resize="exact", h=224, w=224),
    dict(name="exact_area_bgr", resize="exact", h=64, w=80, interp="area", color="bgr"),
    dict(name="exact_nearest", resize="exact", h=99, w=131, interp="nearest"),
    dict(name="exact_gray", resize="exact", h=112, w=112, color="gray", mean=[0.5], std=[0.5]),
    dict(name="letterbox_fp16", resize="letterbox", h=320, w=256, pad=114, dtype="float16",
         mean=MEAN, std=STD),
    dict(name="letterbox_uint8", resize="letterbox", h=128, w=128, pad=7, dtype="uint8",
         layout="NHWC"),
    dict(name="crop_larger_than_image", resize="shorter_side", shorter=20, h=32, w=24,
         color="gray", dtype="uint8"),
    dict(name="upscale_exact", resize="exact", h=500, w=700, interp="bilinear"),
]


def flags(s):
    f = ["--resize", s["resize"], "--height", str(s["h"]), "--width", str(s["w"]),
         "--interpolation", s.get("interp", "bilinear"), "--color", s.get("color", "rgb"),
         "--layout", s.get("layout", "NCHW"), "--dtype", s.get("dtype", "float32"),
         "--pad", str(s.get("pad", 0)), "--shorter-side", str(s.get("shorter", 0))]
    if "mean" in s:
        f += ["--mean", ",".join(map(str, s["mean"])), "--std", ",".join(map(str, s["std"]))]
    return f


def reference(path, s):
    im = ImageOps.exif_transpose(Image.open(path))
    gray = s.get("color", "rgb") == "gray"
    if im.mode in ("I", "I;16", "I;16B"):  # 16-bit gray: the high byte (see the docstring)
        im = Image.fromarray((np.asarray(im).astype(np.uint32) >> 8).astype(np.uint8), "L")
    im = im.convert("L" if gray else "RGB")
    H, W = s["h"], s["w"]
    pil_filter, tv_mode = RESAMPLE[s.get("interp", "bilinear")]
    if s["resize"] == "exact":
        im = im.resize((W, H), pil_filter)
    elif s["resize"] == "shorter_side":
        im = T.CenterCrop((H, W))(T.Resize(s.get("shorter") or min(H, W), tv_mode)(im))
    else:
        w, h = im.size
        r = min(W / w, H / h)
        nw, nh = min(W, max(1, round(w * r))), min(H, max(1, round(h * r)))
        canvas = Image.new(im.mode, (W, H), (s["pad"],) * (1 if gray else 3))
        canvas.paste(im.resize((nw, nh), pil_filter), ((W - nw) // 2, (H - nh) // 2))
        im = canvas
    arr = np.asarray(im)
    if gray:
        arr = arr[..., None]
    if s.get("color") == "bgr":
        arr = arr[..., ::-1]
    dtype = s.get("dtype", "float32")
    if dtype != "uint8":
        c = arr.shape[-1]
        mean = np.array(s.get("mean", [0.0] * c), np.float32)
        std = np.array(s.get("std", [1.0] * c), np.float32)
        arr = ((arr.astype(np.float32) * np.float32(1 / 255) - mean) / std).astype(dtype)
    if s.get("layout", "NCHW") == "NCHW":
        arr = arr.transpose(2, 0, 1)
    return np.ascontiguousarray(arr)


def pixel_diff(got, ref, s):
    """Largest difference in 8-bit pixel levels (1.0 = 1/255 after scale)."""
    d = np.abs(got.astype(np.float64) - ref.astype(np.float64))
    if s.get("dtype", "float32") == "uint8":
        return d.max()
    c = got.shape[0] if s.get("layout", "NCHW") == "NCHW" else got.shape[-1]
    std = np.array(s.get("std", [1.0] * c), np.float64)
    std = std.reshape((c, 1, 1) if s.get("layout", "NCHW") == "NCHW" else (1, 1, c))
    return (d * std * 255.0).max()


def check_parity(files, d):
    total = 0
    for s in SETTINGS:
        names = sorted(files)
        args = [TOOL] + flags(s)
        outs = {}
        for n in names:
            outs[n] = os.path.join(d, f"{s['name']}__{n}.npy")
            args += [files[n], outs[n]]
        r = subprocess.run(args, capture_output=True, text=True)
        if r.returncode != 0:
            FAILURES.append(f"{s['name']}: nalar_image_prep failed: {r.stdout}{r.stderr}")
            continue
        worst, worst_name = 0.0, ""
        for n in names:
            ref = reference(files[n], s)
            got = np.load(outs[n])
            total += 1
            if got.shape != ref.shape or got.dtype != ref.dtype:
                FAILURES.append(f"{s['name']} {n}: got {got.dtype}{got.shape}, "
                                f"expected {ref.dtype}{ref.shape}")
                continue
            diff = pixel_diff(got, ref, s)
            if diff > worst:
                worst, worst_name = diff, n
            if diff > 1.0 + 1e-3:
                FAILURES.append(f"{s['name']} {n}: max |diff| {diff:.3f}/255 > 1/255")
        print(f"parity {s['name']:24s} {len(names)} images, max |diff| {worst:.3f}/255"
              + (f" ({worst_name})" if worst else ""))
    return total


# ---- bad input -------------------------------------------------------------------------------

def patch_png_ihdr(data, width, height):
    ihdr = struct.pack(">II", width, height) + data[24:29]
    return data[:8] + png_chunk(b"IHDR", ihdr) + data[33:]


def patch_jpeg_sof(data, width, height):
    for marker in (b"\xff\xc0", b"\xff\xc2"):
        i = data.find(marker)
        if i >= 0:
            return data[:i + 5] + struct.pack(">HH", height, width) + data[i + 9:]
    raise AssertionError("no SOF marker")


def check_bad_input(files, d):
    jpg = open(files["q90_420_640x480.jpg"], "rb").read()
    pngb = open(files["rgb8_640x480.png"], "rb").read()
    idat = pngb.find(b"IDAT")
    corrupt_idat = bytearray(pngb)
    corrupt_idat[idat + 4:idat + 40] = b"\x00" * 36  # breaks the zlib stream header
    cases = [
        # name, bytes, expected message fragment, extra flags
        ("empty.jpg", b"", "empty image", []),
        ("gif.jpg", b"GIF89a" + b"\x00" * 100, "not a JPEG or PNG image", []),
        ("text.png", b"hello, world\n" * 20, "not a JPEG or PNG image", []),
        ("jpeg_truncated.jpg", jpg[:len(jpg) // 2], "truncated JPEG", []),
        ("jpeg_header_only.jpg", jpg[:200], "JPEG", []),
        ("jpeg_soi_only.jpg", b"\xff\xd8\xff", "corrupt JPEG", []),
        ("jpeg_garbage.jpg", b"\xff\xd8\xff" + bytes(RNG.integers(0, 256, 4000, dtype=np.uint8)),
         "corrupt JPEG", []),
        ("jpeg_zero_height.jpg", patch_jpeg_sof(jpg, 640, 0), "JPEG", []),
        ("jpeg_huge_dims.jpg", patch_jpeg_sof(jpg, 65000, 65000),
         "image is 65000x65000 pixels, more than max_pixels 50000000", []),
        ("jpeg_over_max_pixels.jpg", jpg, "image is 640x480 pixels, more than max_pixels 300000",
         ["--max-pixels", "300000"]),
        ("jpeg_over_max_bytes.jpg", jpg, f"image is {len(jpg)} bytes, more than max_bytes 1000",
         ["--max-bytes", "1000"]),
        ("png_truncated.png", pngb[:len(pngb) // 2], "truncated PNG", []),
        ("png_signature_only.png", pngb[:8], "truncated PNG", []),
        ("png_bad_ihdr_crc.png", pngb[:29] + b"\x00\x00\x00\x00" + pngb[33:], "corrupt PNG", []),
        ("png_corrupt_idat.png", bytes(corrupt_idat), "corrupt PNG", []),
        ("png_zero_width.png", patch_png_ihdr(pngb, 0, 480), "corrupt PNG", []),
        ("png_huge_dims.png", patch_png_ihdr(pngb, 100000, 100000),
         "more than max_pixels 50000000", []),
        ("png_extreme_aspect.png", encode_png(np.zeros((1, 200000), np.uint8), 0, 8),
         "makes the longer side 6000000000 pixels", ["--shorter-side", "30000"]),
        ("png_over_max_pixels.png", pngb, "image is 640x480 pixels, more than max_pixels 1000",
         ["--max-pixels", "1000"]),
    ]
    for name, data, expected, extra in cases:
        path = os.path.join(d, name)
        with open(path, "wb") as f:
            f.write(data)
        r = subprocess.run([TOOL, "--resize", "shorter_side"] + extra +
                           [path, os.path.join(d, name + ".npy")],
                           capture_output=True, text=True, timeout=60)
        line = r.stdout.strip()
        ok = r.returncode == 1 and line.startswith("ERROR") and expected in line
        print(f"bad input {name:28s} {'ok' if ok else 'FAIL'}: {line or r.stderr.strip()}")
        if not ok:
            FAILURES.append(f"bad input {name}: exit {r.returncode}, expected an error with "
                            f"'{expected}', got: {line} {r.stderr.strip()}")
    return len(cases)


def check_dct_scaling(files, d):
    """The opt-in DCT-scaled decode is not Pillow-exact; it must still be the same picture."""
    s = SETTINGS[0]
    names = sorted(n for n in files if n.endswith(".jpg"))
    args = [TOOL, "--dct-scaling"] + flags(s)
    for n in names:
        args += [files[n], os.path.join(d, f"dct__{n}.npy")]
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        FAILURES.append(f"dct scaling: nalar_image_prep failed: {r.stdout}{r.stderr}")
        return
    worst_mean = 0.0
    for n in names:
        ref = reference(files[n], s)
        got = np.load(os.path.join(d, f"dct__{n}.npy"))
        std = np.array(s["std"]).reshape(3, 1, 1)
        mean_diff = (np.abs(got.astype(np.float64) - ref) * std * 255).mean()
        worst_mean = max(worst_mean, mean_diff)
        if got.shape != ref.shape or mean_diff > 8.0:
            FAILURES.append(f"dct scaling {n}: mean |diff| {mean_diff:.2f}/255, expected < 8 (a wrong picture differs by tens)")
    print(f"dct scaling (opt-in, not exact) {len(names)} JPEGs, worst mean |diff| "
          f"{worst_mean:.2f}/255")


def main():
    with tempfile.TemporaryDirectory() as d:
        files = make_images(d)
        n = check_parity(files, d)
        check_dct_scaling(files, d)
        m = check_bad_input(files, d)
    if FAILURES:
        print(f"\n{len(FAILURES)} failures:")
        for f in FAILURES:
            print("  " + f)
        sys.exit(1)
    print(f"image parity: {n} comparisons within 1/255, {m} bad inputs refused cleanly")


if __name__ == "__main__":
    main()
