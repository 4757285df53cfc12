// nalar_tokenize: runs the text pipeline's tokenisers for the comparison tests.
//   nalar_tokenize (wordpiece|sentencepiece) FILE [--cased] [--max-length N] [--no-truncation]
//                  [--no-special-tokens]
// Reads lines "TEXT_HEX[<TAB>PAIR_HEX]" (hex so any bytes, newlines and invalid UTF-8 pass)
// from stdin and prints one JSON object per line: {"ids":[...],"type_ids":[...]} or
// {"error":"..."}. A tokenizer that fails to load prints {"load_error":"..."} and exits 2.
// With --bench R it instead encodes all lines R times in-process and prints
// {"texts":N,"bytes":B,"tokens":T,"seconds":S} (bench/text_tokenizers.py).
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include "pipeline/text/tokenizer.h"

namespace {

using nalar::pipeline::TextConfig;

bool from_hex(const std::string& hex, std::string* out) {
  if (hex.size() % 2 != 0) return false;
  out->clear();
  for (size_t i = 0; i < hex.size(); i += 2) {
    const auto nibble = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    const int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
  }
  return true;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string json_ids(const std::vector<int64_t>& ids) {
  std::string out = "[";
  for (size_t i = 0; i < ids.size(); ++i) out += (i ? "," : "") + std::to_string(ids[i]);
  return out + "]";
}

int usage() {
  std::fprintf(stderr,
               "usage: nalar_tokenize (wordpiece|sentencepiece) FILE [--cased] [--max-length N]"
               " [--no-truncation] [--no-special-tokens] < lines of TEXT_HEX[\\tPAIR_HEX]\n");
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  TextConfig config;
  if (std::strcmp(argv[1], "wordpiece") == 0) {
    config.tokenizer = nalar::pipeline::TokenizerKind::kWordPiece;
  } else if (std::strcmp(argv[1], "sentencepiece") == 0) {
    config.tokenizer = nalar::pipeline::TokenizerKind::kSentencePiece;
  } else {
    return usage();
  }
  config.vocab_file = argv[2];
  config.max_length = 1 << 30;
  int bench_repeats = 0;
  for (int i = 3; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--cased") {
      config.lowercase = false;
    } else if (a == "--no-truncation") {
      config.truncation = false;
    } else if (a == "--no-special-tokens") {
      config.add_special_tokens = false;
    } else if (a == "--bench" && i + 1 < argc) {
      bench_repeats = std::stoi(argv[++i]);
    } else if (a == "--max-length" && i + 1 < argc) {
      config.max_length = std::stoll(argv[++i]);
    } else {
      return usage();
    }
  }
  auto tokenizer = nalar::pipeline::Tokenizer::load(config, ".");
  if (!tokenizer.is_ok()) {
    std::cout << "{\"load_error\":" << json_string(tokenizer.status().message()) << "}\n";
    return 2;
  }
  std::string line, text, pair;
  if (bench_repeats > 0) {
    std::vector<std::string> texts;
    size_t bytes = 0, tokens = 0;
    while (std::getline(std::cin, line)) {
      if (from_hex(line, &text)) texts.push_back(text), bytes += text.size();
    }
    const auto start = std::chrono::steady_clock::now();
    for (int r = 0; r < bench_repeats; ++r) {
      for (const std::string& t : texts) {
        auto e = (*tokenizer)->encode(t);
        if (e.is_ok()) tokens += e->ids.size();
      }
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cout << "{\"texts\":" << texts.size() * bench_repeats
              << ",\"bytes\":" << bytes * bench_repeats << ",\"tokens\":" << tokens
              << ",\"seconds\":" << seconds << "}\n";
    return 0;
  }
  while (std::getline(std::cin, line)) {
    const size_t tab = line.find('\t');
    if (!from_hex(line.substr(0, tab), &text) ||
        !from_hex(tab == std::string::npos ? "" : line.substr(tab + 1), &pair)) {
      std::cout << "{\"error\":\"input line is not hex\"}\n";
      continue;
    }
    auto e = (*tokenizer)->encode(text, pair);
    if (!e.is_ok()) {
      std::cout << "{\"error\":" << json_string(e.status().message()) << "}\n";
    } else {
      std::cout << "{\"ids\":" << json_ids(e->ids) << ",\"type_ids\":" << json_ids(e->type_ids)
                << ",\"mask\":" << json_ids(e->attention_mask) << "}\n";
    }
  }
  return 0;
}
