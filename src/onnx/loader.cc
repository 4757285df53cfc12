#include "onnx/loader.h"

#include <fcntl.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <new>

namespace nalar {

namespace fs = std::filesystem;

namespace {

constexpr int64_t kMinIrVersion = 3;
constexpr int64_t kMaxIrVersion = 8;

Result<std::string> read_file(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return not_found(path + ": no such file");
  if (fs::is_directory(path, ec)) return invalid_argument(path + ": is a directory, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found(path + ": cannot open for reading");
  // One read into a buffer of the file's size: a stringstream would grow by copies and hand
  // back yet another copy, tripling the peak memory of loading a large model.
  const auto size = fs::file_size(path, ec);
  if (ec) return invalid_argument(path + ": cannot read its size");
  std::string bytes(static_cast<size_t>(size), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  if (in.bad() || static_cast<uintmax_t>(in.gcount()) != size)
    return invalid_argument(path + ": read error");
  return bytes;
}

// Reads `length` bytes at `offset` from an external data file, refusing paths that leave the
// model's folder (a model file must not be able to read arbitrary files).
Result<std::string> read_external(const onnx::TensorProto& proto, const std::string& base_dir) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto& kv : proto.external_data()) {
    try {
      if (kv.key() == "location") location = kv.value();
      else if (kv.key() == "offset") offset = std::stoll(kv.value());
      else if (kv.key() == "length") length = std::stoll(kv.value());
    } catch (const std::exception&) {
      return invalid_argument("tensor '" + proto.name() + "': external_data '" + kv.key() +
                              "' is not a number: '" + kv.value() + "'");
    }
  }
  if (location.empty())
    return invalid_argument("tensor '" + proto.name() + "': external data without a location");
  if (base_dir.empty())
    return invalid_argument("tensor '" + proto.name() +
                            "': external data needs a model loaded from a file");
  fs::path base = fs::weakly_canonical(fs::path(base_dir));
  fs::path rel(location);
  if (rel.is_absolute())
    return invalid_argument("tensor '" + proto.name() + "': external data location '" + location +
                            "' is absolute; it must be relative to the model's folder");
  fs::path full = fs::weakly_canonical(base / rel);
  auto [b, f] = std::mismatch(base.begin(), base.end(), full.begin(), full.end());
  if (b != base.end())
    return invalid_argument("tensor '" + proto.name() + "': external data location '" + location +
                            "' escapes the model's folder");
  if (offset < 0) return invalid_argument("tensor '" + proto.name() + "': negative offset");
  std::ifstream in(full, std::ios::binary);
  if (!in) return not_found("tensor '" + proto.name() + "': external data file '" + full.string() +
                            "' cannot be opened");
  in.seekg(0, std::ios::end);
  int64_t file_size = in.tellg();
  if (length < 0) length = file_size - offset;
  if (offset + length > file_size)
    return invalid_argument("tensor '" + proto.name() + "': external data range [" +
                            std::to_string(offset) + ", " + std::to_string(offset + length) +
                            ") is past the end of '" + full.string() + "' (" +
                            std::to_string(file_size) + " bytes)");
  std::string bytes(static_cast<size_t>(length), '\0');
  in.seekg(offset);
  in.read(bytes.data(), length);
  return bytes;
}

template <class Dst, class Field>
void copy_field(const Field& field, Tensor& t) {
  Dst* dst = t.data<Dst>();
  for (int i = 0; i < field.size(); ++i) dst[i] = static_cast<Dst>(field.Get(i));
}

// Element types packed as 16-bit patterns in int32_data (float16, bfloat16).
template <class Dst, class Field>
void copy_bits16(const Field& field, Tensor& t) {
  Dst* dst = t.data<Dst>();
  for (int i = 0; i < field.size(); ++i) dst[i].bits = static_cast<uint16_t>(field.Get(i));
}

Result<Tensor> tensor_from_proto(const onnx::TensorProto& proto, const std::string& base_dir) {
  const std::string what = "tensor '" + proto.name() + "'";
  auto dtype = static_cast<DataType>(proto.data_type());
  if (proto.data_type() <= 0 || proto.data_type() > 16)
    return invalid_argument(what + ": unknown data_type " + std::to_string(proto.data_type()));
  Shape shape;
  int64_t count = 1, nonzero = 1;
  for (int64_t d : proto.dims()) {
    if (d < 0) return invalid_argument(what + ": negative dimension " + std::to_string(d));
    // Zero dims still must not hide an overflowing product of the others.
    if (d > 0 && nonzero > std::numeric_limits<int64_t>::max() / d / 16)
      return invalid_argument(what + ": element count overflows");
    if (d > 0) nonzero *= d;
    count *= d;
    shape.push_back(d);
  }
  if (proto.segment().begin() != 0 || proto.segment().end() != 0)
    return unimplemented(what + ": segmented tensors are not supported");

  const bool external = proto.data_location() == onnx::TensorProto::EXTERNAL;
  std::string external_bytes;
  if (external) {
    NALAR_ASSIGN_OR_RETURN(external_bytes, read_external(proto, base_dir));
  }
  const std::string& raw = external ? external_bytes : proto.raw_data();
  if (dtype == DataType::kString) {
    if (proto.string_data_size() != count)
      return invalid_argument(what + ": has " + std::to_string(proto.string_data_size()) +
                              " strings, shape needs " + std::to_string(count));
    Tensor t = Tensor::create(dtype, shape);
    auto* dst = t.data<std::string>();
    for (int64_t i = 0; i < count; ++i) dst[i] = proto.string_data(static_cast<int>(i));
    return t;
  }
  const size_t expected_bytes = static_cast<size_t>(count) * dtype_size(dtype);
  if (external || proto.has_raw_data()) {
    if (raw.size() != expected_bytes)
      return invalid_argument(what + ": raw data has " + std::to_string(raw.size()) +
                              " bytes, shape " + shape_to_string(shape) + " of " +
                              dtype_name(dtype) + " needs " + std::to_string(expected_bytes));
    Tensor t = Tensor::empty(dtype, shape);  // overwritten just below
    if (expected_bytes) std::memcpy(t.raw(), raw.data(), expected_bytes);
    return t;
  }

  // Typed fields. Each type lives in the field the ONNX spec assigns to it.
  int64_t have = 0;
  switch (dtype) {
    case DataType::kFloat: have = proto.float_data_size(); break;
    case DataType::kComplex64: have = proto.float_data_size() / 2; break;
    case DataType::kDouble: have = proto.double_data_size(); break;
    case DataType::kComplex128: have = proto.double_data_size() / 2; break;
    case DataType::kInt64: have = proto.int64_data_size(); break;
    case DataType::kUint32:
    case DataType::kUint64: have = proto.uint64_data_size(); break;
    default: have = proto.int32_data_size(); break;
  }
  if (have != count)
    return invalid_argument(what + ": has " + std::to_string(have) + " values, shape " +
                            shape_to_string(shape) + " needs " + std::to_string(count));
  Tensor t = Tensor::empty(dtype, shape);  // every element is written below
  switch (dtype) {
    case DataType::kFloat: copy_field<float>(proto.float_data(), t); break;
    case DataType::kComplex64:
      std::memcpy(t.raw(), proto.float_data().data(), t.nbytes());
      break;
    case DataType::kDouble: copy_field<double>(proto.double_data(), t); break;
    case DataType::kComplex128:
      std::memcpy(t.raw(), proto.double_data().data(), t.nbytes());
      break;
    case DataType::kInt64: copy_field<int64_t>(proto.int64_data(), t); break;
    case DataType::kUint32: copy_field<uint32_t>(proto.uint64_data(), t); break;
    case DataType::kUint64: copy_field<uint64_t>(proto.uint64_data(), t); break;
    case DataType::kInt32: copy_field<int32_t>(proto.int32_data(), t); break;
    case DataType::kInt16: copy_field<int16_t>(proto.int32_data(), t); break;
    case DataType::kUint16: copy_field<uint16_t>(proto.int32_data(), t); break;
    case DataType::kInt8: copy_field<int8_t>(proto.int32_data(), t); break;
    case DataType::kUint8: copy_field<uint8_t>(proto.int32_data(), t); break;
    case DataType::kBool: {
      bool* dst = t.data<bool>();
      for (int64_t i = 0; i < count; ++i) dst[i] = proto.int32_data(static_cast<int>(i)) != 0;
      break;
    }
    case DataType::kFloat16: copy_bits16<Float16>(proto.int32_data(), t); break;
    case DataType::kBFloat16: copy_bits16<BFloat16>(proto.int32_data(), t); break;
    default: return invalid_argument(what + ": unsupported data_type");
  }
  return t;
}

// Sparse tensors (Constant's sparse_value, sparse initializers) are densified at load.
Result<Tensor> tensor_from_sparse(const onnx::SparseTensorProto& sp, const std::string& base_dir) {
  NALAR_ASSIGN_OR_RETURN(Tensor values, tensor_from_proto(sp.values(), base_dir));
  NALAR_ASSIGN_OR_RETURN(Tensor indices, tensor_from_proto(sp.indices(), base_dir));
  Shape shape(sp.dims().begin(), sp.dims().end());
  int64_t nonzero = 1;
  for (int64_t d : shape) {
    if (d < 0) return invalid_argument("sparse tensor: negative dimension");
    if (d > 0 && nonzero > (int64_t{1} << 40) / d)
      return invalid_argument("sparse tensor: dense shape is too large");
    if (d > 0) nonzero *= d;
  }
  if (dtype_size(values.dtype()) == 0 || values.dtype() == DataType::kString)
    return unimplemented("sparse tensor of " + std::string(dtype_name(values.dtype())));
  if (indices.dtype() != DataType::kInt64)
    return invalid_argument("sparse tensor: indices must be int64");
  Tensor dense = Tensor::create(values.dtype(), shape);
  const int64_t total = dense.size();
  const int64_t nnz = values.size();
  const int64_t rank = static_cast<int64_t>(shape.size());
  const int64_t* idx = indices.data<int64_t>();
  const size_t esize = dtype_size(values.dtype());
  const bool linear = indices.rank() == 1;
  if ((linear && indices.size() != nnz) || (!linear && indices.size() != nnz * rank))
    return invalid_argument("sparse tensor: indices do not match the number of values");
  for (int64_t k = 0; k < nnz; ++k) {
    int64_t pos = 0;
    if (linear) {
      pos = idx[k];
    } else {
      for (int64_t r = 0; r < rank; ++r) pos = pos * shape[r] + idx[k * rank + r];
    }
    if (pos < 0 || pos >= total) return invalid_argument("sparse tensor: index out of range");
    std::memcpy(static_cast<char*>(dense.raw()) + pos * esize,
                static_cast<const char*>(values.raw()) + k * esize, esize);
  }
  return dense;
}

TensorInfo info_from_proto(const onnx::ValueInfoProto& vi) {
  TensorInfo info;
  info.name = vi.name();
  if (!vi.type().has_tensor_type()) return info;  // sequences/maps/optionals: dtype stays undefined
  const auto& tt = vi.type().tensor_type();
  info.dtype = static_cast<DataType>(tt.elem_type());
  info.has_shape = tt.has_shape();
  for (const auto& d : tt.shape().dim()) {
    Dim dim;
    if (d.has_dim_value()) dim.value = d.dim_value();
    else if (d.has_dim_param()) dim.param = d.dim_param();
    info.shape.push_back(dim);
  }
  return info;
}

Result<Graph> graph_from_proto(const onnx::GraphProto& g, const std::string& base_dir,
                               onnx::GraphProto* owned = nullptr);

Result<Attribute> attribute_from_proto(const onnx::AttributeProto& a, const std::string& base_dir) {
  Attribute attr;
  attr.name = a.name();
  attr.type = static_cast<AttrType>(a.type());
  attr.f = a.f();
  attr.i = a.i();
  attr.s = a.s();
  attr.floats.assign(a.floats().begin(), a.floats().end());
  attr.ints.assign(a.ints().begin(), a.ints().end());
  attr.strings.assign(a.strings().begin(), a.strings().end());
  if (a.has_t()) {
    NALAR_ASSIGN_OR_RETURN(attr.t, tensor_from_proto(a.t(), base_dir));
  }
  if (a.has_sparse_tensor()) {
    NALAR_ASSIGN_OR_RETURN(attr.t, tensor_from_sparse(a.sparse_tensor(), base_dir));
  }
  for (const auto& t : a.tensors()) {
    NALAR_ASSIGN_OR_RETURN(Tensor tensor, tensor_from_proto(t, base_dir));
    attr.tensors.push_back(tensor);
  }
  if (a.has_g()) {
    NALAR_ASSIGN_OR_RETURN(Graph sub, graph_from_proto(a.g(), base_dir));
    attr.g = std::make_shared<Graph>(std::move(sub));
  }
  for (const auto& g : a.graphs()) {
    NALAR_ASSIGN_OR_RETURN(Graph sub, graph_from_proto(g, base_dir));
    attr.graphs.push_back(std::make_shared<Graph>(std::move(sub)));
  }
  if (!a.ref_attr_name().empty())
    return unimplemented("attribute '" + a.name() + "' refers to a function attribute");
  return attr;
}

// `owned`, when given, is `g` itself, writable: each initializer's bytes are freed as soon as
// they are converted, so the weights are not held twice while loading.
Result<Graph> graph_from_proto(const onnx::GraphProto& g, const std::string& base_dir,
                               onnx::GraphProto* owned) {
  Graph graph;
  graph.name = g.name();
  for (int i = 0; i < g.initializer_size(); ++i) {
    const auto& t = g.initializer(i);
    auto tensor = tensor_from_proto(t, base_dir);
    if (!tensor.is_ok()) return tensor.status().with_context("initializer");
    graph.initializers[t.name()] = std::move(tensor).value();
    if (owned) std::string().swap(*owned->mutable_initializer(i)->mutable_raw_data());
  }
  for (const auto& sp : g.sparse_initializer()) {
    auto tensor = tensor_from_sparse(sp, base_dir);
    if (!tensor.is_ok()) return tensor.status().with_context("sparse initializer");
    graph.initializers[sp.values().name()] = std::move(tensor).value();
  }
  for (const auto& vi : g.input()) graph.inputs.push_back(info_from_proto(vi));
  for (const auto& vi : g.output()) graph.outputs.push_back(info_from_proto(vi));
  for (const auto& vi : g.value_info()) graph.value_infos.push_back(info_from_proto(vi));
  graph.nodes.reserve(static_cast<size_t>(g.node_size()));
  for (const auto& n : g.node()) {
    Node node;
    node.name = n.name();
    node.op_type = n.op_type();
    node.domain = canonical_domain(n.domain());
    node.inputs.assign(n.input().begin(), n.input().end());
    node.outputs.assign(n.output().begin(), n.output().end());
    for (const auto& a : n.attribute()) {
      auto attr = attribute_from_proto(a, base_dir);
      if (!attr.is_ok()) return attr.status().with_context(node.describe());
      node.attributes[a.name()] = std::move(attr).value();
    }
    graph.nodes.push_back(std::move(node));
  }
  return graph;
}

Result<Model> convert_model(onnx::ModelProto& proto, const std::string& base_dir,
                            const std::string& source, const LoadOptions& options);

Status parse_model(const void* data, size_t size, const std::string& source,
                   onnx::ModelProto& proto) {
  if (size == 0) return invalid_argument(source + ": the model file is empty");
  if (size > static_cast<size_t>(std::numeric_limits<int>::max()))
    return invalid_argument(source + ": larger than 2 GiB; keep weights in external data files");
  if (!proto.ParseFromArray(data, static_cast<int>(size)))
    return invalid_argument(source +
                            ": not a valid ONNX model (the protobuf could not be parsed; the file "
                            "is truncated, corrupt, or not an ONNX model)");
  return Status::ok();
}

}  // namespace

Result<Model> load_model_bytes(const void* data, size_t size, const std::string& base_dir,
                               const std::string& source, const LoadOptions& options) {
  try {
    onnx::ModelProto proto;
    NALAR_RETURN_IF_ERROR(parse_model(data, size, source, proto));
    return convert_model(proto, base_dir, source, options);
  } catch (const std::bad_alloc&) {
    return Status(StatusCode::kResourceExhausted, source + ": out of memory while loading");
  }
}

namespace {
Result<Model> convert_model(onnx::ModelProto& proto, const std::string& base_dir,
                            const std::string& source, const LoadOptions& options) {
  if (!proto.has_graph() || (proto.graph().node_size() == 0 && proto.graph().output_size() == 0))
    return invalid_argument(source + ": not an ONNX model (it has no graph)");
  if (proto.ir_version() < kMinIrVersion || proto.ir_version() > kMaxIrVersion)
    return invalid_argument(source + ": IR version " + std::to_string(proto.ir_version()) +
                            " is not supported (expected " + std::to_string(kMinIrVersion) +
                            " to " + std::to_string(kMaxIrVersion) + ")");
  Model model;
  model.ir_version = proto.ir_version();
  model.producer_name = proto.producer_name();
  model.producer_version = proto.producer_version();
  model.source = source;
  for (const auto& op : proto.opset_import())
    model.opsets[canonical_domain(op.domain())] = op.version();
  if (model.opsets.empty()) model.opsets[""] = 1;  // IR 3 with no import means opset 1
  if (proto.graph().output_size() == 0)
    return invalid_argument(source + ": the graph declares no outputs");

  if (options.infer_shapes) {
    // Errors are left for the runtime to report with its own, clearer messages.
    try {
      onnx::ShapeInferenceOptions inference;
      inference.error_mode = 0;
      onnx::shape_inference::InferShapes(proto, onnx::OpSchemaRegistry::Instance(), inference);
    } catch (const std::exception&) {
    }
  }
  auto graph = graph_from_proto(proto.graph(), base_dir, proto.mutable_graph());
  if (!graph.is_ok()) return graph.status().with_context(source);
  model.graph = std::move(graph).value();
  return model;
}
}  // namespace

Result<Model> load_model_file(const std::string& path, const LoadOptions& options) {
  std::string dir = fs::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  if (!fs::exists(path, ec)) return not_found(path + ": no such file");
  if (fs::is_directory(path, ec)) return invalid_argument(path + ": is a directory, not a file");
  const auto size = fs::file_size(path, ec);
  if (ec) return not_found(path + ": cannot open for reading");
  if (size == 0) return invalid_argument(path + ": the model file is empty");
  if (size > static_cast<uintmax_t>(std::numeric_limits<int>::max()))
    return invalid_argument(path + ": larger than 2 GiB; keep weights in external data files");
  try {
    onnx::ModelProto proto;
    {
      // Parsed straight from the file in blocks: the file's bytes are never held whole beside
      // the parsed message, and each initializer's bytes go once converted.
      const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return not_found(path + ": cannot open for reading");
      google::protobuf::io::FileInputStream stream(fd, 1 << 20);
      stream.SetCloseOnDelete(true);
      if (!proto.ParseFromZeroCopyStream(&stream))
        return invalid_argument(path +
                                ": not a valid ONNX model (the protobuf could not be parsed; the "
                                "file is truncated, corrupt, or not an ONNX model)");
    }
    return convert_model(proto, dir, path, options);
  } catch (const std::bad_alloc&) {
    return Status(StatusCode::kResourceExhausted, path + ": out of memory while loading");
  }
}

Result<Tensor> load_tensor_file(const std::string& path) {
  NALAR_ASSIGN_OR_RETURN(std::string bytes, read_file(path));
  onnx::TensorProto proto;
  if (!proto.ParseFromString(bytes)) return invalid_argument(path + ": not a TensorProto");
  auto t = tensor_from_proto(proto, fs::path(path).parent_path().string());
  if (!t.is_ok()) return t.status().with_context(path);
  return t;
}

}  // namespace nalar
