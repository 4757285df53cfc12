// The tabular stage: records (JSON objects, CSV rows) -> feature rows, with hand-computed rows.
#include <gtest/gtest.h>

#include "pipeline/pipeline_json.h"
#include "pipeline/tabular_stage.h"

namespace nalar::pipeline {
namespace {

Record rj(std::string_view text) {
  auto r = record_from_json_text(text);
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return r.is_ok() ? std::move(r).value() : Record{};
}

Record rc(const std::vector<std::string>& header, const std::vector<std::string>& cells) {
  auto r = record_from_csv(header, cells);
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return r.is_ok() ? std::move(r).value() : Record{};
}

TabularConfig fraud_config() {
  auto c = parse_pipeline_config(R"({"input": {"kind": "tabular", "columns": [
      {"name": "amount"},
      {"name": "merchant", "type": "category", "vocabulary": ["grocery", "travel", "casino"],
       "encoding": "onehot"},
      {"name": "hour", "missing": 12},
      {"name": "card_present", "type": "bool", "missing": false},
      {"name": "country", "type": "category", "vocabulary": ["de", "fr", "id"], "unknown": 2}]}})");
  EXPECT_TRUE(c.is_ok()) << c.status().message();
  return c->tabular;
}

std::vector<double> encode(const TabularConfig& c, const Record& r, Status* st) {
  std::vector<double> row(static_cast<size_t>(tabular_feature_count(c)), -99);
  *st = encode_record(r, c, row.data());
  return row;
}

TEST(PipelineTabular, JsonRecordInColumnOrder) {
  TabularConfig c = fraud_config();
  EXPECT_EQ(tabular_feature_count(c), 7);
  // Fields no column names are ignored, arrays and objects included.
  auto r = record_from_json_text(
      R"({"country": "fr", "card_present": true, "merchant": "casino", "amount": 12.5,
          "hour": 3, "ignored": [1, 2], "meta": {"a": 1}})");
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  Status st;
  auto row = encode(c, *r, &st);
  ASSERT_TRUE(st.is_ok()) << st.message();
  EXPECT_EQ(row, (std::vector<double>{12.5, 0, 0, 1, 3, 1, 1}));
}

TEST(PipelineTabular, CsvTextDefaultsAndUnknownIndex) {
  TabularConfig c = fraud_config();
  auto r = record_from_csv({"amount", "merchant", "hour", "card_present", "country"},
                           {" -7.25e1 ", "grocery", "", "No", "xx"});
  ASSERT_TRUE(r.is_ok());
  Status st;
  auto row = encode(c, *r, &st);
  ASSERT_TRUE(st.is_ok()) << st.message();
  // hour missing -> 12; card_present "No" -> 0; unknown country -> index 2.
  EXPECT_EQ(row, (std::vector<double>{-72.5, 1, 0, 0, 12, 0, 2}));

  for (const char* yes : {"true", "YES", "1", "y", "T"}) {
    auto y = record_from_csv({"amount", "merchant", "card_present", "country"},
                             {"1", "travel", yes, "de"});
    row = encode(c, *y, &st);
    ASSERT_TRUE(st.is_ok()) << yes << ": " << st.message();
    EXPECT_EQ(row[5], 1) << yes;
  }
  EXPECT_FALSE(record_from_csv({"a", "b"}, {"1"}).is_ok());
}

TEST(PipelineTabular, ErrorsNameTheColumn) {
  TabularConfig c = fraud_config();
  Status st;
  encode(c, rj(R"({"merchant": "travel", "country": "de"})"), &st);
  EXPECT_EQ(st.message(), "column 'amount': missing value and no default");
  encode(c, rj(R"({"amount": null, "merchant": "travel"})"), &st);
  EXPECT_EQ(st.message(), "column 'amount': missing value and no default");
  encode(c, rc({"amount", "merchant", "country"}, {"abc", "travel", "de"}), &st);
  EXPECT_EQ(st.message(), "column 'amount': 'abc' is not a number");
  encode(c, rj(R"({"amount": 1, "merchant": "bank", "country": "de"})"), &st);
  EXPECT_EQ(st.message(),
            "column 'merchant': unknown category 'bank' (vocabulary: grocery, travel, casino)");
  encode(c, rj(R"({"amount": 1, "merchant": "travel", "card_present": "maybe",
                                       "country": "de"})"),
         &st);
  EXPECT_NE(st.message().find("column 'card_present': 'maybe' is not a boolean"),
            std::string::npos);
  encode(c, rj(R"({"amount": 1, "merchant": "travel", "card_present": 2,
                                       "country": "de"})"),
         &st);
  EXPECT_NE(st.message().find("column 'card_present': 2 is not a boolean"), std::string::npos);
  encode(c, rj(R"({"amount": [1], "merchant": "travel", "country": "de"})"), &st);
  EXPECT_EQ(st.message(), "column 'amount': '<JSON array>' is not a number");
  EXPECT_FALSE(record_from_json_text("[1, 2]").is_ok());
  encode(c, rj(R"({"amount": 1, "merchant": "travel"})"), &st);
  EXPECT_EQ(st.message(), "column 'country': missing value and no default");
}

TEST(PipelineTabular, IndexEncodingNumbersAsCategoriesAndDtypes) {
  auto pc = parse_pipeline_config(R"({"input": {"kind": "tabular", "dtype": "int64", "columns": [
      {"name": "code", "type": "category", "vocabulary": ["10", "20", "30"]},
      {"name": "n"}]}})");
  ASSERT_TRUE(pc.is_ok()) << pc.status().message();
  Tensor t = Tensor::create(DataType::kInt64, {2, 2});
  ASSERT_TRUE(encode_record_into(rj(R"({"code": 30, "n": 4})"), pc->tabular, &t, 0).is_ok());
  ASSERT_TRUE(encode_record_into(rj(R"({"code": "20", "n": 2.6})"), pc->tabular, &t, 1).is_ok());
  EXPECT_EQ(std::vector<int64_t>(t.data<int64_t>(), t.data<int64_t>() + 4),
            (std::vector<int64_t>{2, 4, 1, 3}));
}

}  // namespace
}  // namespace nalar::pipeline
