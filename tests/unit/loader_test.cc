// Bad model files get one clear error naming the problem, never a crash.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "nalar/session.h"
#include "onnx/loader.h"
#include "test_models.h"

using namespace nalar;
namespace fs = std::filesystem;

namespace {

std::string write_temp(const std::string& name, const std::string& bytes) {
  fs::path dir = fs::temp_directory_path() / "nalar_loader_test";
  fs::create_directories(dir);
  fs::path p = dir / name;
  std::ofstream(p, std::ios::binary) << bytes;
  return p.string();
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST(Loader, EmptyFileNamesFileAndProblem) {
  std::string path = write_temp("empty.onnx", "");
  auto s = Session::load(path);
  ASSERT_FALSE(s.is_ok());
  EXPECT_TRUE(contains(s.status().message(), path)) << s.status().message();
  EXPECT_TRUE(contains(s.status().message(), "empty")) << s.status().message();
}

TEST(Loader, MissingFile) {
  auto s = Session::load("/nonexistent/model.onnx");
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(contains(s.status().message(), "/nonexistent/model.onnx"));
}

TEST(Loader, TruncatedModelIsRejected) {
  std::string bytes = testmodels::serialize(testmodels::single_op_model("Identity", "", {2, 3}));
  for (size_t cut : {bytes.size() / 2, bytes.size() - 1, size_t{3}}) {
    std::string path = write_temp("truncated.onnx", bytes.substr(0, cut));
    auto s = Session::load(path);
    EXPECT_FALSE(s.is_ok()) << "cut at " << cut;
    EXPECT_TRUE(contains(s.status().message(), path));
  }
}

TEST(Loader, RandomBytesAndTextAreRejected) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    std::string bytes(static_cast<size_t>(1 + rng() % 512), '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    auto s = Session::load_from_bytes(bytes.data(), bytes.size());
    EXPECT_FALSE(s.is_ok());
  }
  std::string text = "this is not an onnx model\n";
  auto s = Session::load_from_bytes(text.data(), text.size());
  ASSERT_FALSE(s.is_ok());
  EXPECT_TRUE(contains(s.status().message(), "not")) << s.status().message();
}

TEST(Loader, UnsupportedOperatorsAreAllListed) {
  onnx::ModelProto m = testmodels::single_op_model("FancyOp", "com.example", {2});
  auto* n = m.mutable_graph()->add_node();
  n->set_op_type("OtherOp");
  n->set_domain("com.example");
  n->add_input("y");
  n->add_output("z");
  // A graph output, so that dead code elimination keeps the node.
  *m.mutable_graph()->add_output() = testmodels::value_info("z", onnx::TensorProto::FLOAT, {2});
  std::string bytes = testmodels::serialize(m);
  auto s = Session::load_from_bytes(bytes.data(), bytes.size());
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.status().code(), StatusCode::kUnimplemented);
  EXPECT_TRUE(contains(s.status().message(), "(com.example, FancyOp, 1)")) << s.status().message();
  EXPECT_TRUE(contains(s.status().message(), "(com.example, OtherOp, 1)")) << s.status().message();
}

TEST(Loader, IrVersionOutOfRange) {
  onnx::ModelProto m = testmodels::single_op_model("Identity", "", {2});
  m.set_ir_version(99);
  std::string bytes = testmodels::serialize(m);
  auto s = Session::load_from_bytes(bytes.data(), bytes.size());
  ASSERT_FALSE(s.is_ok());
  EXPECT_TRUE(contains(s.status().message(), "IR version 99")) << s.status().message();
}

TEST(Loader, ExternalDataCannotEscapeModelFolder) {
  onnx::ModelProto m = testmodels::single_op_model("Identity", "", {2});
  auto* init = m.mutable_graph()->add_initializer();
  init->set_name("w");
  init->set_data_type(onnx::TensorProto::FLOAT);
  init->add_dims(2);
  init->set_data_location(onnx::TensorProto::EXTERNAL);
  auto* kv = init->add_external_data();
  kv->set_key("location");
  kv->set_value("../../../etc/passwd");
  std::string path = write_temp("escape.onnx", testmodels::serialize(m));
  auto s = Session::load(path);
  ASSERT_FALSE(s.is_ok());
  EXPECT_TRUE(contains(s.status().message(), "escapes the model's folder")) << s.status().message();
}

TEST(Loader, ExternalDataInsideFolderLoads) {
  onnx::ModelProto m = testmodels::single_op_model("Identity", "", {2});
  auto* init = m.mutable_graph()->add_initializer();
  init->set_name("w");
  init->set_data_type(onnx::TensorProto::FLOAT);
  init->add_dims(2);
  init->set_data_location(onnx::TensorProto::EXTERNAL);
  auto* kv = init->add_external_data();
  kv->set_key("location");
  kv->set_value("weights.bin");
  float w[2] = {1.5f, -2.0f};
  write_temp("weights.bin", std::string(reinterpret_cast<char*>(w), sizeof w));
  std::string path = write_temp("external.onnx", testmodels::serialize(m));
  auto model = load_model_file(path);
  ASSERT_TRUE(model.is_ok()) << model.status().message();
  const Tensor& t = model->graph.initializers.at("w");
  EXPECT_EQ(t.data<float>()[1], -2.0f);
}

TEST(Session, WrongInputsNameExpectedAndActual) {
  std::string bytes = testmodels::serialize(testmodels::single_op_model("Identity", "", {-1, 3}));
  auto s = Session::load_from_bytes(bytes.data(), bytes.size());
  ASSERT_TRUE(s.is_ok()) << s.status().message();
  auto run = [&](const std::string& name, Tensor t) {
    return (*s)->run({{name, std::move(t)}}).status().message();
  };
  EXPECT_TRUE(contains(run("nope", Tensor::create(DataType::kFloat, {1, 3})), "unknown input 'nope'"));
  EXPECT_TRUE(contains(run("x", Tensor::create(DataType::kInt64, {1, 3})),
                       "expected dtype float, got int64"));
  EXPECT_TRUE(contains(run("x", Tensor::create(DataType::kFloat, {3})), "expected rank 2"));
  EXPECT_TRUE(contains(run("x", Tensor::create(DataType::kFloat, {4, 2})), "dimension 1 must be 3"));
  auto missing = (*s)->run({});
  EXPECT_TRUE(contains(missing.status().message(), "missing input 'x'"));
  auto ok = (*s)->run({{"x", Tensor::create(DataType::kFloat, {5, 3})}});
  ASSERT_TRUE(ok.is_ok()) << ok.status().message();
  EXPECT_EQ((*ok)[0].second.shape(), (Shape{5, 3}));
}

TEST(Loader, ShapeInferenceTypesIntermediateValues) {
  onnx::ModelProto m = testmodels::single_op_model("Relu", "", {-1, 4});
  auto* g = m.mutable_graph();
  g->mutable_node(0)->set_output(0, "hidden");
  auto* n = g->add_node();
  n->set_op_type("Relu");
  n->add_input("hidden");
  n->add_output("y");
  std::string bytes = testmodels::serialize(m);
  auto plain = load_model_bytes(bytes.data(), bytes.size(), "");
  ASSERT_TRUE(plain.is_ok()) << plain.status().message();
  EXPECT_TRUE(plain->graph.value_infos.empty());
  auto model = load_model_bytes(bytes.data(), bytes.size(), "", "<bytes>", {.infer_shapes = true});
  ASSERT_TRUE(model.is_ok()) << model.status().message();
  ASSERT_EQ(model->graph.value_infos.size(), 1u);
  const TensorInfo& hidden = model->graph.value_infos[0];
  EXPECT_EQ(hidden.name, "hidden");
  EXPECT_EQ(hidden.dtype, DataType::kFloat);
  ASSERT_EQ(hidden.shape.size(), 2u);
  EXPECT_EQ(hidden.shape[0].param, "batch");
  EXPECT_EQ(hidden.shape[1].value, 4);
}
