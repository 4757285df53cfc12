#include "pipeline/text_stage.h"

#include <algorithm>

namespace nalar::pipeline {

namespace {

template <class T>
void fill_rows(const std::vector<Encoding>& encodings, int64_t length, int64_t pad_id, Tensor* ids,
               Tensor* mask, Tensor* types) {
  for (size_t r = 0; r < encodings.size(); ++r) {
    const Encoding& e = encodings[r];
    const size_t off = r * static_cast<size_t>(length);
    for (int64_t j = 0; j < length; ++j) {
      const size_t i = static_cast<size_t>(j);
      const bool real = i < e.ids.size();
      if (ids) ids->data<T>()[off + i] = static_cast<T>(real ? e.ids[i] : pad_id);
      if (mask) mask->data<T>()[off + i] = static_cast<T>(real ? e.attention_mask[i] : 0);
      if (types)
        types->data<T>()[off + i] =
            static_cast<T>(real && i < e.type_ids.size() ? e.type_ids[i] : 0);
    }
  }
}

}  // namespace

Result<NamedTensors> prepare_text_batch(std::span<const Example> examples, const TextConfig& config,
                                        const Tokenizer& tokenizer) {
  std::vector<Encoding> encodings;
  encodings.reserve(examples.size());
  size_t longest = 0, shortest = SIZE_MAX;
  for (size_t i = 0; i < examples.size(); ++i) {
    auto e = tokenizer.encode(examples[i].bytes);
    if (!e.is_ok()) return e.status().with_context("example " + std::to_string(i));
    longest = std::max(longest, e->ids.size());
    shortest = std::min(shortest, e->ids.size());
    encodings.push_back(std::move(e).value());
  }
  int64_t length = static_cast<int64_t>(longest);
  if (config.padding == Padding::kMaxLength) {
    length = config.max_length;
  } else if (config.padding == Padding::kNone && longest != shortest) {
    return invalid_argument("padding \"none\" needs texts of one length; this batch has " +
                            std::to_string(shortest) + " to " + std::to_string(longest) +
                            " tokens (use \"longest\" or \"max_length\")");
  }
  if (length == 0) length = 1;  // an empty text with no special tokens still needs one position
  for (size_t i = 0; i < encodings.size(); ++i)
    if (static_cast<int64_t>(encodings[i].ids.size()) > length)
      return invalid_argument("example " + std::to_string(i) + ": " +
                              std::to_string(encodings[i].ids.size()) + " tokens, more than " +
                              "max_length " + std::to_string(length));
  const Shape shape{static_cast<int64_t>(encodings.size()), length};
  Tensor ids = Tensor::empty(config.dtype, shape);
  Tensor mask, types;
  if (!config.attention_mask.empty()) mask = Tensor::empty(config.dtype, shape);
  if (!config.token_type_ids.empty()) types = Tensor::empty(config.dtype, shape);
  Tensor* m = mask.defined() ? &mask : nullptr;
  Tensor* t = types.defined() ? &types : nullptr;
  if (config.dtype == DataType::kInt32)
    fill_rows<int32_t>(encodings, length, tokenizer.pad_id(), &ids, m, t);
  else
    fill_rows<int64_t>(encodings, length, tokenizer.pad_id(), &ids, m, t);
  NamedTensors out;
  out.emplace_back(config.input_ids, std::move(ids));
  if (m) out.emplace_back(config.attention_mask, std::move(mask));
  if (t) out.emplace_back(config.token_type_ids, std::move(types));
  return out;
}

}  // namespace nalar::pipeline
