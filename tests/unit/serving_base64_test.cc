// Base64 BYTES in KServe JSON ({"parameters": {"content_type": "base64"}}), for raw images.
#include <gtest/gtest.h>

#include "serving/http/kserve_codec.h"

namespace nalar::serving {
namespace {

TEST(ServingBase64, DecodesStandardUrlSafeAndUnpadded) {
  EXPECT_EQ(kserve::decode_base64("").value(), "");
  EXPECT_EQ(kserve::decode_base64("Zg==").value(), "f");
  EXPECT_EQ(kserve::decode_base64("Zm8=").value(), "fo");
  EXPECT_EQ(kserve::decode_base64("Zm9v").value(), "foo");
  EXPECT_EQ(kserve::decode_base64("Zm9vYg").value(), "foob");
  EXPECT_EQ(kserve::decode_base64("Zm9v\r\nYmFy").value(), "foobar");
  EXPECT_EQ(kserve::decode_base64("__8=").value(), std::string("\xff\xff", 2));
  EXPECT_EQ(kserve::decode_base64("//8=").value(), std::string("\xff\xff", 2));
  EXPECT_FALSE(kserve::decode_base64("Zm9v!").is_ok());
  EXPECT_FALSE(kserve::decode_base64("Z").is_ok());      // 6 bits cannot end a byte
  EXPECT_FALSE(kserve::decode_base64("Zg==Zg").is_ok());  // data after padding
}

TEST(ServingBase64, JsonBytesInputWithBase64ContentType) {
  auto r = kserve::parse_infer_request(
      R"({"inputs": [{"name": "image", "datatype": "BYTES", "shape": [2],
          "parameters": {"content_type": "base64"}, "data": ["iVBORw==", "AAE="]}]})",
      std::nullopt);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  const Tensor& t = r->inputs[0].second;
  EXPECT_EQ(t.data<std::string>()[0], std::string("\x89PNG", 4));
  EXPECT_EQ(t.data<std::string>()[1], std::string("\x00\x01", 2));

  auto bad = kserve::parse_infer_request(
      R"({"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1],
          "parameters": {"content_type": "base64"}, "data": ["a b"]}]})",
      std::nullopt);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("input 'image': element 0: invalid base64"),
            std::string::npos)
      << bad.status().message();
  bad = kserve::parse_infer_request(
      R"({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1],
          "parameters": {"content_type": "base64"}, "data": [1]}]})",
      std::nullopt);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("needs datatype BYTES"), std::string::npos);
  // "str" is the plain form: strings stay as they are.
  auto plain = kserve::parse_infer_request(
      R"({"inputs": [{"name": "t", "datatype": "BYTES", "shape": [1],
          "parameters": {"content_type": "str"}, "data": ["Zm9v"]}]})",
      std::nullopt);
  ASSERT_TRUE(plain.is_ok());
  EXPECT_EQ(plain->inputs[0].second.data<std::string>()[0], "Zm9v");
}

}  // namespace
}  // namespace nalar::serving
