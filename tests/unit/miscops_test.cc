#include <gtest/gtest.h>

#include "kernels/einsum_parse.h"
#include "kernels/resize_util.h"

using namespace nalar;

TEST(EinsumParse, ExplicitOutputWithSpaces) {
  auto r = parse_einsum("bij, bjk -> bik", {3, 3, 3});
  ASSERT_FALSE(r.is_ok());  // two terms, three operands
  auto eq = parse_einsum("bij, bjk -> bik", {3, 3});
  ASSERT_TRUE(eq.is_ok()) << eq.status().message();
  EXPECT_EQ(eq->inputs[0], (std::vector<int>{1, 8, 9}));
  EXPECT_EQ(eq->inputs[1], (std::vector<int>{1, 9, 10}));
  EXPECT_EQ(eq->output, (std::vector<int>{1, 8, 10}));
}

TEST(EinsumParse, ImplicitOutputIsSortedSingleUseLabels) {
  auto eq = parse_einsum("ji,jk", {2, 2});
  ASSERT_TRUE(eq.is_ok());
  EXPECT_EQ(eq->output, (std::vector<int>{8, 10}));  // i, k; j is summed
  auto up = parse_einsum("Ba,aB", {2, 2});           // every label used twice: scalar
  ASSERT_TRUE(up.is_ok());
  EXPECT_TRUE(up->output.empty());
  auto mixed = parse_einsum("ab,A", {2, 1});  // ASCII order puts 'A' first
  ASSERT_TRUE(mixed.is_ok());
  EXPECT_EQ(mixed->output, (std::vector<int>{26, 0, 1}));
}

TEST(EinsumParse, EllipsisBroadcastsRightAligned) {
  auto eq = parse_einsum("...ij,...jk", {4, 2});
  ASSERT_TRUE(eq.is_ok()) << eq.status().message();
  EXPECT_EQ(eq->ellipsis_rank, 2);
  EXPECT_EQ(eq->inputs[0], (std::vector<int>{kEinsumEllipsisBase, kEinsumEllipsisBase + 1, 8, 9}));
  EXPECT_EQ(eq->inputs[1], (std::vector<int>{9, 10}));
  EXPECT_EQ(eq->output, (std::vector<int>{kEinsumEllipsisBase, kEinsumEllipsisBase + 1, 8, 10}));
  auto diag = parse_einsum("...ii->...i", {3});
  ASSERT_TRUE(diag.is_ok());
  EXPECT_EQ(diag->inputs[0], (std::vector<int>{kEinsumEllipsisBase, 8, 8}));
}

TEST(EinsumParse, RejectsMalformedEquations) {
  EXPECT_FALSE(parse_einsum("ij->ik", {2}).is_ok());  // k not in any input
  EXPECT_FALSE(parse_einsum("ij", {3}).is_ok());      // rank mismatch
  EXPECT_FALSE(parse_einsum("i.j", {2}).is_ok());     // broken ellipsis
  EXPECT_FALSE(parse_einsum("i1", {2}).is_ok());      // not a letter
  EXPECT_FALSE(parse_einsum("ij->ii", {2}).is_ok());  // repeated output label
}

TEST(ResizeCoord, TransformsFollowTheSpec) {
  // 4 -> 8 (scale 2)
  EXPECT_DOUBLE_EQ(resize_source_coord(ResizeCoord::kHalfPixel, 0, 2.0, 4, 8, 0, 1), -0.25);
  EXPECT_DOUBLE_EQ(resize_source_coord(ResizeCoord::kAsymmetric, 3, 2.0, 4, 8, 0, 1), 1.5);
  EXPECT_DOUBLE_EQ(resize_source_coord(ResizeCoord::kAlignCorners, 7, 2.0, 4, 8, 0, 1), 3.0);
  EXPECT_DOUBLE_EQ(resize_source_coord(ResizeCoord::kTfHalfPixelForNn, 0, 2.0, 4, 8, 0, 1), 0.25);
  EXPECT_DOUBLE_EQ(resize_source_coord(ResizeCoord::kPytorchHalfPixel, 0, 0.25, 4, 1, 0, 1), -0.5);
  EXPECT_DOUBLE_EQ(resize_source_coord(ResizeCoord::kTfCropAndResize, 2, 1.0, 5, 5, 0.5, 1.0), 3.0);
}

TEST(ResizeTaps, LinearHalfPixelUpsampleClampsAtEdges) {
  ResizeOptions opt;
  opt.mode = ResizeMode::kLinear;
  AxisTaps t = compute_axis_taps(opt, 2, 4, 2.0, 4.0, 0, 1);
  ASSERT_EQ(t.taps, 2);
  // output 0 -> x = -0.25: both taps read index 0
  EXPECT_EQ(t.index[0], 0);
  EXPECT_EQ(t.index[1], 0);
  // output 1 -> x = 0.25: 0.75 * in[0] + 0.25 * in[1]
  EXPECT_EQ(t.index[2], 0);
  EXPECT_EQ(t.index[3], 1);
  EXPECT_DOUBLE_EQ(t.weight[2], 0.75);
  EXPECT_DOUBLE_EQ(t.weight[3], 0.25);
  EXPECT_FALSE(t.identity);
}

TEST(ResizeTaps, NearestRoundingModesAndIdentity) {
  ResizeOptions opt;  // nearest, half_pixel, round_prefer_floor
  AxisTaps same = compute_axis_taps(opt, 5, 5, 1.0, 5.0, 0, 1);
  EXPECT_TRUE(same.identity);
  opt.coord = ResizeCoord::kAsymmetric;
  AxisTaps floor_half = compute_axis_taps(opt, 4, 8, 2.0, 8.0, 0, 1);
  EXPECT_EQ(floor_half.index[1], 0);  // x = 0.5 rounds down
  opt.nearest = NearestRounding::kRoundPreferCeil;
  AxisTaps ceil_half = compute_axis_taps(opt, 4, 8, 2.0, 8.0, 0, 1);
  EXPECT_EQ(ceil_half.index[1], 1);
  EXPECT_EQ(ceil_half.index[7], 3);  // x = 3.5 -> 4, clamped to 3
}

TEST(ResizeTaps, CubicExcludeOutsideRenormalises) {
  ResizeOptions opt;
  opt.mode = ResizeMode::kCubic;
  opt.exclude_outside = true;
  opt.cubic_a = -0.5;
  AxisTaps t = compute_axis_taps(opt, 4, 8, 2.0, 8.0, 0, 1);
  ASSERT_EQ(t.taps, 4);
  double sum = 0;
  for (int k = 0; k < 4; ++k) sum += t.weight[k];
  EXPECT_NEAR(sum, 1.0, 1e-12);
  EXPECT_EQ(t.weight[0], 0.0);  // tap at index -2 lies outside
}

TEST(ResizeTaps, CropAndResizeMarksOutsideSamples) {
  ResizeOptions opt;
  opt.mode = ResizeMode::kLinear;
  opt.coord = ResizeCoord::kTfCropAndResize;
  AxisTaps t = compute_axis_taps(opt, 4, 3, 0.75, 3.0, -0.5, 0.5);
  EXPECT_EQ(t.outside[0], 1);  // x = -1.5
  EXPECT_EQ(t.outside[1], 0);  // x = 0.0
  EXPECT_EQ(t.outside[2], 0);  // x = 1.5
  EXPECT_EQ(t.index[4], 1);
  EXPECT_DOUBLE_EQ(t.weight[5], 0.5);
}
