// Recurrent and control-flow kernels, run through a real Session on models built in memory.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <string>
#include <vector>

#include "nalar/session.h"

using namespace nalar;

namespace {

void add_value(onnx::ValueInfoProto* v, const std::string& name, int elem_type,
               const std::vector<int64_t>& dims) {
  v->set_name(name);
  auto* tt = v->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(elem_type);
  auto* shape = tt->mutable_shape();
  for (int64_t d : dims) shape->add_dim()->set_dim_value(d);
}

std::unique_ptr<Session> load(const onnx::ModelProto& m) {
  std::string bytes = m.SerializeAsString();
  auto s = Session::load_from_bytes(bytes.data(), bytes.size());
  EXPECT_TRUE(s.is_ok()) << s.status().message();
  return s.is_ok() ? std::move(s).value() : nullptr;
}

onnx::ModelProto model_with_opset(int64_t opset) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(opset);
  return m;
}

float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

}  // namespace

// A reverse LSTM with sequence_lens: the short batch entry runs backwards from its own end, its
// padded Y rows stay zero, and Y_h/Y_c hold the state after time step 0.
TEST(Rnn, ReverseLstmWithSequenceLens) {
  const int64_t S = 3, B = 2, I = 1, H = 1;
  onnx::ModelProto m = model_with_opset(14);
  auto* g = m.mutable_graph();
  g->set_name("lstm");
  auto* n = g->add_node();
  n->set_op_type("LSTM");
  for (const char* in : {"X", "W", "R", "B", "L"}) n->add_input(in);
  for (const char* out : {"Y", "Y_h", "Y_c"}) n->add_output(out);
  auto* a = n->add_attribute();
  a->set_name("hidden_size");
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(H);
  a = n->add_attribute();
  a->set_name("direction");
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s("reverse");
  add_value(g->add_input(), "X", onnx::TensorProto::FLOAT, {S, B, I});
  add_value(g->add_input(), "W", onnx::TensorProto::FLOAT, {1, 4 * H, I});
  add_value(g->add_input(), "R", onnx::TensorProto::FLOAT, {1, 4 * H, H});
  add_value(g->add_input(), "B", onnx::TensorProto::FLOAT, {1, 8 * H});
  add_value(g->add_input(), "L", onnx::TensorProto::INT32, {B});
  for (const char* out : {"Y", "Y_h", "Y_c"}) g->add_output()->set_name(out);
  auto session = load(m);
  ASSERT_TRUE(session);

  const std::vector<float> x = {0.5f, -1.0f, 1.5f, 2.0f, -0.5f, 9.0f};  // [S, B, 1]
  const std::vector<float> w = {0.3f, -0.2f, 0.7f, 0.4f};               // i, o, f, c
  const std::vector<float> r = {0.1f, 0.5f, -0.3f, 0.2f};
  const std::vector<float> bias = {0.1f, 0.0f, 0.2f, -0.1f, 0.0f, 0.05f, 0.0f, 0.1f};
  auto run = session->run({{"X", Tensor::from_vector(x, {S, B, I})},
                           {"W", Tensor::from_vector(w, {1, 4, 1})},
                           {"R", Tensor::from_vector(r, {1, 4, 1})},
                           {"B", Tensor::from_vector(bias, {1, 8})},
                           {"L", Tensor::from_vector<int32_t>({3, 2}, {B})}});
  ASSERT_TRUE(run.is_ok()) << run.status().message();
  const Tensor& y = (*run)[0].second;
  const Tensor& yh = (*run)[1].second;
  ASSERT_EQ(y.shape(), (Shape{S, 1, B, H}));
  ASSERT_EQ(yh.shape(), (Shape{1, B, H}));

  const int lens[2] = {3, 2};
  for (int b = 0; b < B; ++b) {
    float h = 0, c = 0;
    for (int t = lens[b] - 1; t >= 0; --t) {
      const float xt = x[static_cast<size_t>(t * B + b)];
      float gate[4];
      for (int k = 0; k < 4; ++k) gate[k] = xt * w[k] + h * r[k] + bias[k] + bias[4 + k];
      const float i = sigmoid(gate[0]), o = sigmoid(gate[1]), f = sigmoid(gate[2]);
      c = f * c + i * std::tanh(gate[3]);
      h = o * std::tanh(c);
      EXPECT_NEAR(y.data<float>()[t * B + b], h, 1e-6) << "b=" << b << " t=" << t;
    }
    EXPECT_NEAR(yh.data<float>()[b], h, 1e-6);
    EXPECT_NEAR((*run)[2].second.data<float>()[b], c, 1e-6);
  }
  EXPECT_EQ(y.data<float>()[2 * B + 1], 0.0f);  // padded step of the short entry
}

// Loop: scan outputs are stacked along a new first axis; zero iterations give an empty [0, 3].
TEST(ControlFlow, LoopStacksScanOutputsAndHandlesZeroTrips) {
  onnx::ModelProto m = model_with_opset(13);
  auto* g = m.mutable_graph();
  g->set_name("loop");
  auto* n = g->add_node();
  n->set_op_type("Loop");
  n->add_input("M");
  n->add_input("");
  n->add_input("v0");
  n->add_output("vf");
  n->add_output("S");
  auto* a = n->add_attribute();
  a->set_name("body");
  a->set_type(onnx::AttributeProto::GRAPH);
  auto* body = a->mutable_g();
  body->set_name("body");
  add_value(body->add_input(), "i", onnx::TensorProto::INT64, {});
  add_value(body->add_input(), "c", onnx::TensorProto::BOOL, {});
  add_value(body->add_input(), "v", onnx::TensorProto::FLOAT, {3});
  for (auto [in, out] : {std::pair{"c", "co"}, std::pair{"v", "vo"}, std::pair{"v", "sc"}}) {
    auto* id = body->add_node();
    id->set_op_type("Identity");
    id->add_input(in);
    id->add_output(out);
  }
  add_value(body->add_output(), "co", onnx::TensorProto::BOOL, {});
  add_value(body->add_output(), "vo", onnx::TensorProto::FLOAT, {3});
  add_value(body->add_output(), "sc", onnx::TensorProto::FLOAT, {3});
  add_value(g->add_input(), "M", onnx::TensorProto::INT64, {});
  add_value(g->add_input(), "v0", onnx::TensorProto::FLOAT, {3});
  g->add_output()->set_name("vf");
  g->add_output()->set_name("S");
  auto session = load(m);
  ASSERT_TRUE(session);

  const Tensor v0 = Tensor::from_vector<float>({1, 2, 3}, {3});
  auto three = session->run({{"M", Tensor::scalar<int64_t>(3)}, {"v0", v0}});
  ASSERT_TRUE(three.is_ok()) << three.status().message();
  EXPECT_EQ((*three)[1].second.shape(), (Shape{3, 3}));
  EXPECT_EQ((*three)[1].second.data<float>()[7], 2.0f);

  auto zero = session->run({{"M", Tensor::scalar<int64_t>(0)}, {"v0", v0}});
  ASSERT_TRUE(zero.is_ok()) << zero.status().message();
  EXPECT_EQ((*zero)[0].second.data<float>()[2], 3.0f);
  EXPECT_EQ((*zero)[1].second.shape(), (Shape{0, 3}));
  EXPECT_EQ((*zero)[1].second.dtype(), DataType::kFloat);
}
