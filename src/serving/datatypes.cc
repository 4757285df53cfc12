#include "serving/datatypes.h"

namespace nalar::serving {

namespace {
struct KName {
  DataType t;
  const char* name;
};
constexpr KName kKServeNames[] = {
    {DataType::kBool, "BOOL"},     {DataType::kUint8, "UINT8"},   {DataType::kUint16, "UINT16"},
    {DataType::kUint32, "UINT32"}, {DataType::kUint64, "UINT64"}, {DataType::kInt8, "INT8"},
    {DataType::kInt16, "INT16"},   {DataType::kInt32, "INT32"},   {DataType::kInt64, "INT64"},
    {DataType::kFloat16, "FP16"},  {DataType::kFloat, "FP32"},    {DataType::kDouble, "FP64"},
    {DataType::kString, "BYTES"},  {DataType::kBFloat16, "BF16"},
};
}  // namespace

const char* kserve_dtype_name(DataType t) {
  for (const auto& k : kKServeNames)
    if (k.t == t) return k.name;
  return "";
}

DataType dtype_from_kserve(std::string_view name) {
  for (const auto& k : kKServeNames)
    if (name == k.name) return k.t;
  return DataType::kUndefined;
}

}  // namespace nalar::serving
