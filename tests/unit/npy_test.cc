#include <gtest/gtest.h>

#include "core/npy.h"

using namespace nalar;

TEST(Npy, RoundTripsEveryKind) {
  Tensor f = Tensor::from_vector<float>({1.5f, -2.0f, 3.0f, 4.25f, 5, 6}, {2, 3});
  auto back = parse_npy(serialize_npy(f), "f.npy");
  ASSERT_TRUE(back.is_ok()) << back.status().message();
  EXPECT_EQ(back->shape(), (Shape{2, 3}));
  EXPECT_EQ(back->data<float>()[3], 4.25f);

  Tensor scalar = Tensor::scalar<int64_t>(-7);
  auto s = parse_npy(serialize_npy(scalar), "s.npy");
  ASSERT_TRUE(s.is_ok());
  EXPECT_EQ(s->rank(), 0);
  EXPECT_EQ(s->data<int64_t>()[0], -7);

  Tensor str = Tensor::create(DataType::kString, {2});
  str.data<std::string>()[0] = "h\xc3\xa9llo";
  str.data<std::string>()[1] = "";
  auto st = parse_npy(serialize_npy(str), "str.npy");
  ASSERT_TRUE(st.is_ok()) << st.status().message();
  EXPECT_EQ(st->data<std::string>()[0], "h\xc3\xa9llo");

  Tensor b = Tensor::from_vector<bool>({true, false, true}, {3});
  auto bb = parse_npy(serialize_npy(b), "b.npy");
  ASSERT_TRUE(bb.is_ok());
  EXPECT_TRUE(bb->data<bool>()[2]);
}

TEST(Npy, MalformedFilesGetClearErrors) {
  std::string good = serialize_npy(Tensor::from_vector<float>({1, 2, 3, 4}, {4}));
  auto bad_magic = parse_npy("NOTNUMPY" + good.substr(8), "a.npy");
  ASSERT_FALSE(bad_magic.is_ok());
  EXPECT_NE(bad_magic.status().message().find("a.npy: not a .npy file"), std::string::npos);

  auto truncated = parse_npy(good.substr(0, good.size() - 3), "t.npy");
  ASSERT_FALSE(truncated.is_ok());
  EXPECT_NE(truncated.status().message().find("truncated data"), std::string::npos);

  auto trailing = parse_npy(good + "xx", "x.npy");
  ASSERT_FALSE(trailing.is_ok());
  EXPECT_NE(trailing.status().message().find("trailing"), std::string::npos);

  std::string big_endian = good;
  big_endian.replace(big_endian.find("<f4"), 3, ">f4");
  auto be = parse_npy(big_endian, "be.npy");
  ASSERT_FALSE(be.is_ok());
  EXPECT_NE(be.status().message().find("big-endian"), std::string::npos);

  std::string huge = good;
  huge.replace(huge.find("(4,)"), 4, "(9999999999999,)");
  EXPECT_FALSE(parse_npy(huge, "h.npy").is_ok());
  EXPECT_FALSE(parse_npy("", "e.npy").is_ok());
}

TEST(Npy, FortranOrderIsConvertedToC) {
  // numpy.asfortranarray(np.arange(6).reshape(2,3)) stores 0,3,1,4,2,5.
  Tensor t = Tensor::from_vector<int32_t>({0, 3, 1, 4, 2, 5}, {2, 3});
  std::string bytes = serialize_npy(t);
  bytes.replace(bytes.find("False"), 5, "True ");
  auto c = parse_npy(bytes, "f.npy");
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  for (int i = 0; i < 6; ++i) EXPECT_EQ(c->data<int32_t>()[i], i);
}
