#include <gtest/gtest.h>

#include <thread>

#include "nalar/session.h"
#include "test_models.h"

using namespace nalar;

namespace {

// x -> Identity -> a -> Identity -> y, plus a graph output that is a graph input.
onnx::ModelProto identity_chain() {
  onnx::ModelProto m = testmodels::single_op_model("Identity", "", {-1, 4});
  auto* g = m.mutable_graph();
  g->mutable_node(0)->set_output(0, "a");
  auto* n = g->add_node();
  n->set_op_type("Identity");
  n->add_input("a");
  n->add_output("y");
  *g->add_output() = testmodels::value_info("x", onnx::TensorProto::FLOAT, {-1, 4});
  return m;
}

}  // namespace

TEST(Session, NodesOutOfOrderAreSorted) {
  onnx::ModelProto m = identity_chain();
  m.mutable_graph()->mutable_node()->SwapElements(0, 1);
  std::string bytes = testmodels::serialize(m);
  auto s = Session::load_from_bytes(bytes.data(), bytes.size());
  ASSERT_TRUE(s.is_ok()) << s.status().message();
  auto out = (*s)->run({{"x", Tensor::from_vector<float>({1, 2, 3, 4}, {1, 4})}});
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  EXPECT_EQ((*out)[0].second.data<float>()[3], 4.0f);
}

TEST(Session, CycleIsAnError) {
  onnx::ModelProto m = identity_chain();
  m.mutable_graph()->mutable_node(0)->set_input(0, "y");
  std::string bytes = testmodels::serialize(m);
  auto s = Session::load_from_bytes(bytes.data(), bytes.size());
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.status().message().find("cycle"), std::string::npos) << s.status().message();
}

TEST(Session, UndefinedValueIsAnError) {
  onnx::ModelProto m = identity_chain();
  m.mutable_graph()->mutable_node(1)->set_input(0, "nowhere");
  std::string bytes = testmodels::serialize(m);
  auto s = Session::load_from_bytes(bytes.data(), bytes.size());
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.status().message().find("'nowhere' is used but never defined"), std::string::npos)
      << s.status().message();
}

TEST(Session, ManyThreadsRunOneSession) {
  std::string bytes = testmodels::serialize(identity_chain());
  auto s = Session::load_from_bytes(bytes.data(), bytes.size());
  ASSERT_TRUE(s.is_ok()) << s.status().message();
  const Session& session = **s;
  std::vector<std::thread> threads;
  std::vector<int> failures(8, 0);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        float v = static_cast<float>(t * 1000 + i);
        auto out = session.run({{"x", Tensor::from_vector<float>({v, v, v, v}, {1, 4})}});
        if (!out.is_ok() || (*out)[0].second.data<float>()[2] != v ||
            (*out)[1].second.data<float>()[0] != v)
          ++failures[static_cast<size_t>(t)];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int f : failures) EXPECT_EQ(f, 0);
}

// x + x on a denormal: flushed to zero by default (FTZ/DAZ), kept when the option is off, and
// the caller's own floating-point mode is left as it was either way.
TEST(Session, FlushDenormalsOption) {
  onnx::ModelProto m = testmodels::single_op_model("Add", "", {4});
  m.mutable_graph()->mutable_node(0)->add_input("x");
  std::string bytes = testmodels::serialize(m);
  const float tiny = 1e-39f;  // below FLT_MIN: a denormal
  volatile float probe = tiny;
  for (bool flush : {true, false}) {
    SessionOptions options;
    options.flush_denormals = flush;
    auto s = Session::load_from_bytes(bytes.data(), bytes.size(), options);
    ASSERT_TRUE(s.is_ok()) << s.status().message();
    auto out = (*s)->run({{"x", Tensor::from_vector<float>({tiny, tiny, 1, tiny}, {4})}});
    ASSERT_TRUE(out.is_ok()) << out.status().message();
    const float* y = (*out)[0].second.data<float>();
    EXPECT_EQ(y[0], flush ? 0.0f : 2 * tiny) << "flush=" << flush;
    EXPECT_EQ(y[2], 2.0f);
    EXPECT_NE(probe + probe, 0.0f);  // this thread still computes denormals
  }
}
