// Image stage pieces that the Pillow parity test (tests/pipeline/image_parity.py) cannot reach
// directly: configuration errors, EXIF parsing of hostile bytes, crop geometry, orientation.
#include "pipeline/image/image_prep.h"

#include <gtest/gtest.h>
#include <turbojpeg.h>

#include <string>
#include <vector>

#include "pipeline/image/exif.h"
#include "pipeline/image/geometry.h"
#include "pipeline/image/orientation.h"
#include "pipeline/image_stage.h"

namespace nalar::pipeline {
namespace {

// A solid-colour JPEG made with TurboJPEG (quality 100, 4:4:4).
std::string solid_jpeg(int w, int h, uint8_t r, uint8_t g, uint8_t b) {
  std::vector<uint8_t> rgb(static_cast<size_t>(w) * h * 3);
  for (size_t i = 0; i < rgb.size(); i += 3) rgb[i] = r, rgb[i + 1] = g, rgb[i + 2] = b;
  tjhandle tj = tjInitCompress();
  unsigned char* jpeg = nullptr;
  unsigned long size = 0;
  EXPECT_EQ(tjCompress2(tj, rgb.data(), w, 0, h, TJPF_RGB, &jpeg, &size, TJSAMP_444, 100, 0), 0);
  std::string out(reinterpret_cast<char*>(jpeg), size);
  tjFree(jpeg);
  tjDestroy(tj);
  return out;
}

ImageConfig small_config() {
  ImageConfig c;
  c.height = 8;
  c.width = 8;
  return c;
}

TEST(ImagePrep, ConfigurationErrorsNameTheProblem) {
  const std::string jpeg = solid_jpeg(16, 16, 10, 20, 30);
  std::vector<float> out(3 * 64);
  ImageConfig c = small_config();
  c.height = 0;
  Status st = prepare_image(jpeg, c, out.data());
  EXPECT_NE(st.message().find("image size 0x8 is invalid"), std::string::npos) << st.message();
  c = small_config();
  c.mean = {0.5f, 0.5f};
  st = prepare_image(jpeg, c, out.data());
  EXPECT_NE(st.message().find("mean has 2 values; expected 1 or 3"), std::string::npos)
      << st.message();
  c = small_config();
  c.std = {1.0f, 0.0f, 1.0f};
  EXPECT_NE(prepare_image(jpeg, c, out.data()).message().find("zero"), std::string::npos);
  c = small_config();
  c.dtype = DataType::kInt32;
  EXPECT_NE(prepare_image(jpeg, c, out.data()).message().find("dtype int32 is not supported"),
            std::string::npos);
}

TEST(ImagePrep, SolidColourSurvivesEveryPath) {
  const std::string jpeg = solid_jpeg(37, 23, 200, 100, 50);
  for (ResizeMode mode : {ResizeMode::kExact, ResizeMode::kShorterSide}) {
    for (Interpolation interp :
         {Interpolation::kBilinear, Interpolation::kArea, Interpolation::kNearest}) {
      ImageConfig c = small_config();
      c.resize = mode;
      c.interpolation = interp;
      c.dtype = DataType::kUint8;
      c.layout = Layout::kNHWC;
      c.color = ColorMode::kBGR;
      std::vector<uint8_t> out(3 * 64);
      ASSERT_TRUE(prepare_image(jpeg, c, out.data()).is_ok());
      for (size_t i = 0; i < out.size(); i += 3) {
        EXPECT_NEAR(out[i], 50, 2);
        EXPECT_NEAR(out[i + 1], 100, 2);
        EXPECT_NEAR(out[i + 2], 200, 2);
      }
    }
  }
  ImageConfig c = small_config();
  c.color = ColorMode::kGray;
  c.mean = {0.5f};
  c.std = {0.25f};
  std::vector<float> gray(64);
  ASSERT_TRUE(prepare_image(jpeg, c, gray.data()).is_ok());
  const float luma = (200 * 0.299f + 100 * 0.587f + 50 * 0.114f) / 255.0f;
  for (float v : gray) EXPECT_NEAR(v, (luma - 0.5f) / 0.25f, 0.05f);
}

TEST(ImagePrep, LetterboxPadsWithPadValue) {
  const std::string jpeg = solid_jpeg(32, 16, 255, 255, 255);
  ImageConfig c = small_config();
  c.resize = ResizeMode::kLetterbox;
  c.pad_value = 9;
  c.dtype = DataType::kUint8;
  c.color = ColorMode::kGray;
  std::vector<uint8_t> out(64);
  ASSERT_TRUE(prepare_image(jpeg, c, out.data()).is_ok());
  // 32x16 fits 8x4, centred: rows 0-1 and 6-7 are padding.
  for (int y = 0; y < 8; ++y) {
    for (int x = 0; x < 8; ++x) {
      if (y < 2 || y >= 6) {
        EXPECT_EQ(out[y * 8 + x], 9);
      } else {
        EXPECT_GE(out[y * 8 + x], 253);
      }
    }
  }
}

TEST(Exif, HostileBlocksGiveOrientationOne) {
  const std::string ok("II*\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0\x06\0\0\0", 22);
  EXPECT_EQ(exif_orientation(ok), 6);
  const std::string motorola("MM\0*\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x03\0\0", 22);
  EXPECT_EQ(exif_orientation(motorola), 3);
  // Every cut before the end of the value field loses the tag.
  for (size_t cut = 0; cut < 20; ++cut) EXPECT_EQ(exif_orientation(ok.substr(0, cut)), 1);
  std::string far = ok;
  far[4] = '\xF0', far[7] = '\x7F';  // IFD0 offset beyond the block
  EXPECT_EQ(exif_orientation(far), 1);
  std::string many = ok;
  many[8] = '\xFF', many[9] = '\xFF';  // 65535 entries declared, one present
  EXPECT_EQ(exif_orientation(many), 6);
  std::string bad_value = ok;
  bad_value[18] = 9;
  EXPECT_EQ(exif_orientation(bad_value), 1);
  EXPECT_EQ(exif_orientation("garbage"), 1);
  // A JPEG segment whose length runs past the end.
  EXPECT_EQ(jpeg_exif_orientation(std::string("\xFF\xD8\xFF\xE1\xFF\xFF"
                                              "Exif",
                                              10)),
            1);
}

TEST(Geometry, TorchvisionResizeAndCentreCrop) {
  ImageConfig c;
  c.height = c.width = 224;
  c.resize = ResizeMode::kShorterSide;
  c.shorter_side = 256;
  const Placement p = place_image(500, 375, c);
  EXPECT_EQ(p.resized_width, 341);  // int(256 * 500 / 375)
  EXPECT_EQ(p.resized_height, 256);
  EXPECT_EQ(p.window.x, 58);  // round(117 / 2) = round(58.5) = 58 (half to even)
  EXPECT_EQ(p.window.y, 16);
  EXPECT_TRUE(p.covers_output);
  c.shorter_side = 227;  // 227 - 224 = 3: round(1.5) = 2
  EXPECT_EQ(place_image(300, 300, c).window.x, 2);
}

TEST(Orientation, RotationsMoveCornersLikePillow) {
  Image8 img = Image8::allocate(3, 2, 1);  // 0 1 2 / 3 4 5
  for (int i = 0; i < 6; ++i) img.pixels[i] = static_cast<uint8_t>(i);
  // 6 = Pillow ROTATE_270 (clockwise): 3 0 / 4 1 / 5 2.
  const Image8 cw = apply_orientation(std::move(img), 6);
  ASSERT_EQ(cw.width, 2);
  ASSERT_EQ(cw.height, 3);
  const std::vector<uint8_t> expected{3, 0, 4, 1, 5, 2};
  EXPECT_EQ(std::vector<uint8_t>(cw.pixels.get(), cw.pixels.get() + 6), expected);
}

// A batch decoded on several threads is the batch decoded on one, example for example, and a
// bad example is named the same way (the first one, whichever thread met it).
TEST(ImageBatch, ThreadsGiveTheSameTensorAndTheFirstError) {
  std::vector<std::string> jpegs;
  for (int i = 0; i < 9; ++i)
    jpegs.push_back(solid_jpeg(20 + 3 * i, 30 - i, static_cast<uint8_t>(25 * i), 100,
                               static_cast<uint8_t>(250 - 20 * i)));
  std::vector<Example> examples(jpegs.size());
  for (size_t i = 0; i < jpegs.size(); ++i) examples[i].bytes = jpegs[i];
  ImageConfig c = small_config();
  c.resize = ResizeMode::kShorterSide;
  c.shorter_side = 10;
  auto one = prepare_image_batch(examples, c, 1);
  auto four = prepare_image_batch(examples, c, 4);
  ASSERT_TRUE(one.is_ok()) << one.status().message();
  ASSERT_TRUE(four.is_ok()) << four.status().message();
  ASSERT_EQ(four->shape(), (Shape{9, 3, 8, 8}));
  EXPECT_EQ(std::vector<float>(one->data<float>(), one->data<float>() + one->size()),
            std::vector<float>(four->data<float>(), four->data<float>() + four->size()));
  // Example 2 is distinct from example 0 (different colours), so slices were not mixed up.
  EXPECT_NE(four->data<float>()[0], four->data<float>()[2 * 3 * 64]);

  const std::string bad = "not an image";
  examples[3].bytes = bad;
  examples[7].bytes = bad;
  for (int threads : {1, 2, 4, 16}) {
    auto r = prepare_image_batch(examples, c, threads);
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().message().rfind("example 3: ", 0), 0u) << r.status().message();
  }
}

}  // namespace
}  // namespace nalar::pipeline
