// Triton's `reshape`: config checks (client dims vs the model's shape) and the zero-copy views.
#include <gtest/gtest.h>

#include "serving/model_config.h"
#include "serving/reshape.h"
#include "test_models.h"

namespace nalar::serving {
namespace {

std::unique_ptr<Session> identity_session(const std::vector<int64_t>& dims) {
  std::string bytes = testmodels::serialize(testmodels::single_op_model("Identity", "", dims));
  auto s = Session::load_from_bytes(bytes.data(), bytes.size());
  EXPECT_TRUE(s.is_ok()) << s.status().message();
  return std::move(s).value();
}

Status complete(const std::string& text) {
  auto s = identity_session({-1, 2, 2});
  std::vector<std::string> w;
  auto c = parse_model_config(text, &w);
  if (!c.is_ok()) return c.status();
  return complete_model_config(*s, false, &*c, &w);
}

TEST(ServingReshape, ConfigChecksReshapeAgainstTheModel) {
  const std::string io = "output [ { name: \"y\" dims: [ 4 ] reshape: { shape: [ 2, 2 ] } } ]\n";
  EXPECT_TRUE(complete("max_batch_size: 4\ninput [ { name: \"x\" dims: [ 4 ] reshape: { shape: "
                       "[ 2, 2 ] } } ]\n" +
                       io)
                  .is_ok());
  EXPECT_TRUE(complete("max_batch_size: 4\ninput [ { name: \"x\" dims: [ -1 ] reshape: { shape: "
                       "[ 2, -1 ] } } ]\n" +
                       io)
                  .is_ok());
  auto expect_error = [&](const std::string& input, const std::string& needle) {
    Status st = complete("max_batch_size: 4\ninput [ { name: \"x\" " + input + " } ]\n" + io);
    ASSERT_FALSE(st.is_ok()) << input;
    EXPECT_NE(st.message().find(needle), std::string::npos) << st.message();
  };
  expect_error("dims: [ 5 ] reshape: { shape: [ 2, 2 ] }", "cannot be reshaped");
  expect_error("dims: [ 4 ] reshape: { shape: [ 4 ] }", "rank");
  expect_error("dims: [ 4 ] reshape: { shape: [ 1, 4 ] }", "disagrees");
  expect_error("reshape: { shape: [ 2, 2 ] }", "reshape needs dims");
  expect_error("dims: [ -1, -1 ] reshape: { shape: [ 2, 2 ] }", "at most one -1");
}

TEST(ServingReshape, ViewsKeepTheBatchAndInferOneDimension) {
  Tensor t = Tensor::from_vector<float>({0, 1, 2, 3, 4, 5, 6, 7}, {2, 4});
  auto r = reshape_to("x", t, {2, 2}, true);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->shape(), (Shape{2, 2, 2}));
  EXPECT_TRUE(r->shares_storage_with(t));  // zero-copy
  auto inferred = reshape_to("x", t, {-1, 2}, true);
  ASSERT_TRUE(inferred.is_ok());
  EXPECT_EQ(inferred->shape(), (Shape{2, 2, 2}));
  auto flat = reshape_to("x", t, {8}, false);
  ASSERT_TRUE(flat.is_ok());
  EXPECT_EQ(flat->shape(), (Shape{8}));
  EXPECT_FALSE(reshape_to("x", t, {3}, true).is_ok());
  EXPECT_FALSE(reshape_to("x", t, {-1, 3}, true).is_ok());

  NamedTensors in{{"a", t}, {"b", t}};
  auto out = apply_reshapes(in, {{"b", {2, 2}}}, true);
  ASSERT_TRUE(out.is_ok());
  EXPECT_EQ((*out)[0].second.shape(), (Shape{2, 4}));  // not listed: unchanged
  EXPECT_EQ((*out)[1].second.shape(), (Shape{2, 2, 2}));
}

}  // namespace
}  // namespace nalar::serving
