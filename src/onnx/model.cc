#include "onnx/model.h"

namespace nalar {

const Attribute* Node::find(const std::string& attr) const {
  auto it = attributes.find(attr);
  return it == attributes.end() ? nullptr : &it->second;
}

int64_t Node::get_int(const std::string& attr, int64_t fallback) const {
  const Attribute* a = find(attr);
  return a ? a->i : fallback;
}

float Node::get_float(const std::string& attr, float fallback) const {
  const Attribute* a = find(attr);
  return a ? a->f : fallback;
}

std::string Node::get_string(const std::string& attr, const std::string& fallback) const {
  const Attribute* a = find(attr);
  return a ? a->s : fallback;
}

std::vector<int64_t> Node::get_ints(const std::string& attr,
                                    const std::vector<int64_t>& fallback) const {
  const Attribute* a = find(attr);
  return a ? a->ints : fallback;
}

std::vector<float> Node::get_floats(const std::string& attr,
                                    const std::vector<float>& fallback) const {
  const Attribute* a = find(attr);
  return a ? a->floats : fallback;
}

std::vector<std::string> Node::get_strings(const std::string& attr,
                                           const std::vector<std::string>& fallback) const {
  const Attribute* a = find(attr);
  return a ? a->strings : fallback;
}

std::string Node::describe() const {
  std::string d = domain.empty() ? op_type : domain + "." + op_type;
  if (!name.empty()) d += " (node '" + name + "')";
  return d;
}

int64_t Model::opset(const std::string& domain) const {
  auto it = opsets.find(canonical_domain(domain));
  return it == opsets.end() ? 0 : it->second;
}

}  // namespace nalar
