// Tests for server/inference.h: tensor decoding (contents and raw, every
// datatype), the tabular model <-> tensor mapping, Infer's two input forms
// against Artifact::Predict, requested outputs, encoding, and the errors.
#include "server/inference.h"

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/train/trainer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/http_server.h"
#include "server/proto_convert.h"

namespace modelserver::server::oip {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Request = inference::ModelInferRequest;

template <typename T>
std::string Raw(const std::vector<T>& values) {
  std::string bytes(values.size() * sizeof(T), '\0');
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

std::string RawBytes(const std::vector<std::string>& values) {
  std::string bytes;
  for (const std::string& v : values) {
    const uint32_t n = static_cast<uint32_t>(v.size());
    bytes.append(reinterpret_cast<const char*>(&n), 4);
    bytes.append(v);
  }
  return bytes;
}

Request::InferInputTensor* AddInput(Request* r, const std::string& name,
                                    const std::string& datatype,
                                    std::vector<int64_t> shape) {
  Request::InferInputTensor* t = r->add_inputs();
  t->set_name(name);
  t->set_datatype(datatype);
  t->mutable_shape()->Add(shape.begin(), shape.end());
  return t;
}

std::string Message(const absl::Status& s) { return std::string(s.message()); }

// ------------------------------------------------------------ basics

TEST(InferenceBasicsTest, ElementSizesCountsAndVersions) {
  EXPECT_EQ(*ElementSize("BOOL"), 1);
  EXPECT_EQ(*ElementSize("FP16"), 2);
  EXPECT_EQ(*ElementSize("INT32"), 4);
  EXPECT_EQ(*ElementSize("UINT64"), 8);
  EXPECT_EQ(*ElementSize("BYTES"), 0);
  EXPECT_THAT(Message(ElementSize("FP8").status()),
              HasSubstr("unknown datatype 'FP8'"));
  EXPECT_EQ(*ElementCount("t", {3, 4}), 12);
  EXPECT_EQ(*ElementCount("t", {0, 4}), 0);
  EXPECT_THAT(Message(ElementCount("t", {3, -1}).status()),
              HasSubstr("input 't': shape [3, -1] has a negative dimension"));
  EXPECT_THAT(Message(ElementCount("t", {1 << 30, 1 << 30, 4}).status()),
              HasSubstr("too many elements"));
  EXPECT_EQ(*ParseVersion("v", ""), 0);
  EXPECT_EQ(*ParseVersion("v", "12"), 12);
  for (const char* bad : {"0", "-1", "abc", "1.5", "+3", " 1"}) {
    absl::StatusOr<int64_t> v = ParseVersion("model_version", bad);
    ASSERT_FALSE(v.ok()) << bad;
    EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(Message(v.status()),
                HasSubstr(absl::StrCat("model_version: '", bad, "'")));
  }
}

// ------------------------------------------------------------ decoding

TEST(DecodeInputTest, ContentsOfEveryField) {
  Request r;
  AddInput(&r, "f32", "FP32", {2})->mutable_contents()->add_fp32_contents(1.5f);
  r.mutable_inputs(0)->mutable_contents()->add_fp32_contents(-2.0f);
  auto* i8 = AddInput(&r, "i8", "INT8", {1, 2});
  i8->mutable_contents()->add_int_contents(-7);
  i8->mutable_contents()->add_int_contents(100);
  AddInput(&r, "i64", "INT64", {1})->mutable_contents()->add_int64_contents(
      int64_t{1} << 40);
  AddInput(&r, "u16", "UINT16", {1})->mutable_contents()->add_uint_contents(
      65535);
  AddInput(&r, "u64", "UINT64", {1})->mutable_contents()->add_uint64_contents(
      7);
  AddInput(&r, "b", "BOOL", {2})->mutable_contents()->add_bool_contents(true);
  r.mutable_inputs(5)->mutable_contents()->add_bool_contents(false);
  AddInput(&r, "d", "FP64", {1})->mutable_contents()->add_fp64_contents(0.1);
  AddInput(&r, "s", "BYTES", {2})->mutable_contents()->add_bytes_contents("x");
  r.mutable_inputs(7)->mutable_contents()->add_bytes_contents("");
  absl::StatusOr<std::vector<Tensor>> t = DecodeInputs(r);
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->size(), 8u);
  EXPECT_THAT((*t)[0].numbers, ElementsAre(1.5, -2.0));
  EXPECT_THAT((*t)[1].numbers, ElementsAre(-7, 100));
  EXPECT_THAT((*t)[1].shape, ElementsAre(1, 2));
  EXPECT_THAT((*t)[2].numbers, ElementsAre(1099511627776.0));
  EXPECT_THAT((*t)[3].numbers, ElementsAre(65535));
  EXPECT_THAT((*t)[4].numbers, ElementsAre(7));
  EXPECT_THAT((*t)[5].numbers, ElementsAre(1, 0));
  EXPECT_THAT((*t)[6].numbers, ElementsAre(0.1));
  EXPECT_THAT((*t)[7].texts, ElementsAre("x", ""));
  EXPECT_TRUE((*t)[7].numbers.empty());
}

TEST(DecodeInputTest, RawOfEveryDatatypeIsLittleEndianRowMajor) {
  Request r;
  AddInput(&r, "f64", "FP64", {2});
  r.add_raw_input_contents(Raw<double>({0.25, -3}));
  AddInput(&r, "f32", "FP32", {1});
  r.add_raw_input_contents(Raw<float>({0.5f}));
  // FP16: 1.0, -2.0, 65504 (largest), 2^-24 (smallest subnormal), +inf.
  AddInput(&r, "f16", "FP16", {5});
  r.add_raw_input_contents(
      Raw<uint16_t>({0x3C00, 0xC000, 0x7BFF, 0x0001, 0x7C00}));
  // BF16: 1.0, -0.5.
  AddInput(&r, "bf16", "BF16", {2});
  r.add_raw_input_contents(Raw<uint16_t>({0x3F80, 0xBF00}));
  AddInput(&r, "i16", "INT16", {2});
  r.add_raw_input_contents(Raw<int16_t>({-300, 300}));
  AddInput(&r, "u8", "UINT8", {2});
  r.add_raw_input_contents(Raw<uint8_t>({0, 255}));
  AddInput(&r, "u32", "UINT32", {1});
  r.add_raw_input_contents(Raw<uint32_t>({4000000000u}));
  AddInput(&r, "b", "BOOL", {3});
  r.add_raw_input_contents(std::string("\x01\x00\x02", 3));
  AddInput(&r, "s", "BYTES", {3});
  r.add_raw_input_contents(RawBytes({"ab", "", "caf\xc3\xa9"}));
  absl::StatusOr<std::vector<Tensor>> t = DecodeInputs(r);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_THAT((*t)[0].numbers, ElementsAre(0.25, -3));
  EXPECT_THAT((*t)[1].numbers, ElementsAre(0.5));
  EXPECT_THAT((*t)[2].numbers, ElementsAre(1.0, -2.0, 65504.0,
                                           std::ldexp(1.0, -24), INFINITY));
  EXPECT_THAT((*t)[3].numbers, ElementsAre(1.0, -0.5));
  EXPECT_THAT((*t)[4].numbers, ElementsAre(-300, 300));
  EXPECT_THAT((*t)[5].numbers, ElementsAre(0, 255));
  EXPECT_THAT((*t)[6].numbers, ElementsAre(4000000000.0));
  EXPECT_THAT((*t)[7].numbers, ElementsAre(1, 0, 1));
  EXPECT_THAT((*t)[8].texts, ElementsAre("ab", "", "caf\xc3\xa9"));
}

TEST(DecodeInputTest, ErrorsNameTheTensor) {
  struct Case {
    std::string what;
    Request request;
    std::string expected;
  };
  std::vector<Case> cases;
  auto add = [&](std::string what, std::string expected) -> Request& {
    cases.push_back({std::move(what), Request(), std::move(expected)});
    return cases.back().request;
  };
  {
    Request& r = add("count", "input 'x': contents.fp64_contents holds 1 "
                              "values; shape [2] needs 2");
    AddInput(&r, "x", "FP64", {2})->mutable_contents()->add_fp64_contents(1);
  }
  {
    Request& r = add("field", "input 'x': datatype FP32 takes its values in "
                              "contents.fp32_contents, got 1 in "
                              "contents.fp64_contents");
    AddInput(&r, "x", "FP32", {1})->mutable_contents()->add_fp64_contents(1);
  }
  {
    Request& r = add("empty", "input 'x': no values");
    AddInput(&r, "x", "FP32", {1});
  }
  {
    Request& r = add("fp16 contents", "input 'x': datatype FP16 has no "
                                      "contents field");
    AddInput(&r, "x", "FP16", {1})->mutable_contents()->add_fp32_contents(1);
  }
  {
    Request& r = add("datatype", "input 'x': unknown datatype 'FLOAT'");
    AddInput(&r, "x", "FLOAT", {1});
  }
  {
    Request& r = add("no shape", "input 'x': no shape");
    AddInput(&r, "x", "FP64", {});
  }
  {
    Request& r = add("no name", "inputs[0]: the tensor has no name");
    AddInput(&r, "", "FP64", {1});
  }
  {
    Request& r = add("raw length", "input 'x': raw contents have 12 bytes; "
                                   "shape [2] of FP64 needs 16");
    AddInput(&r, "x", "FP64", {2});
    r.add_raw_input_contents(std::string(12, '\0'));
  }
  {
    Request& r = add("raw count", "raw_input_contents has 1 entries for 2 "
                                  "inputs");
    AddInput(&r, "x", "FP64", {1});
    AddInput(&r, "y", "FP64", {1});
    r.add_raw_input_contents(Raw<double>({1}));
  }
  {
    Request& r = add("raw and contents", "input 'x': values in "
                                         "contents.fp64_contents while the "
                                         "request carries raw_input_contents");
    AddInput(&r, "x", "FP64", {1})->mutable_contents()->add_fp64_contents(1);
    r.add_raw_input_contents(Raw<double>({1}));
  }
  {
    Request& r = add("bytes truncated length", "input 's': raw BYTES contents "
                                               "end inside the 4-byte length "
                                               "of element 1");
    AddInput(&r, "s", "BYTES", {2});
    r.add_raw_input_contents(RawBytes({"a"}) + std::string("\x01\x00", 2));
  }
  {
    Request& r = add("bytes overrun", "input 's': raw BYTES element 0 has "
                                      "length 9 but only 2 bytes remain");
    AddInput(&r, "s", "BYTES", {1});
    r.add_raw_input_contents(std::string("\x09\x00\x00\x00" "ab", 6));
  }
  {
    Request& r = add("bytes too many", "input 's': raw BYTES contents hold "
                                       "more than the 1 elements");
    AddInput(&r, "s", "BYTES", {1});
    r.add_raw_input_contents(RawBytes({"a", "b"}));
  }
  {
    // The shape claims 2^40 elements; the bytes hold 1: an error, not a
    // 2^40-element reservation.
    Request& r = add("bytes huge shape", "input 's': raw BYTES contents hold "
                                         "1 elements; shape [1099511627776] "
                                         "needs 1099511627776");
    AddInput(&r, "s", "BYTES", {int64_t{1} << 40});
    r.add_raw_input_contents(RawBytes({"a"}));
  }
  {
    Request& r = add("bytes too few", "input 's': raw BYTES contents hold 1 "
                                      "elements; shape [3] needs 3");
    AddInput(&r, "s", "BYTES", {3});
    r.add_raw_input_contents(RawBytes({"a"}));
  }
  add("none", "inputs: the request has no tensors");
  for (const Case& c : cases) {
    absl::StatusOr<std::vector<Tensor>> t = DecodeInputs(c.request);
    ASSERT_FALSE(t.ok()) << c.what;
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument) << c.what;
    EXPECT_THAT(Message(t.status()), HasSubstr(c.expected)) << c.what;
  }
}

// ------------------------------------------------------------ models

// y = 2a - b + 1 exactly (ordinary least squares recovers it).
Artifact LinearArtifact() {
  Table t;
  EXPECT_TRUE(t.AddColumn(Column::Numeric("a", {1, 2, 3, 4, 5, 6})).ok());
  EXPECT_TRUE(t.AddColumn(Column::Numeric("b", {2, 0, 1, 3, 1, 5})).ok());
  EXPECT_TRUE(t.AddColumn(Column::Numeric("y", {1, 5, 6, 6, 10, 8})).ok());
  TrainSpec spec;
  spec.target = "y";
  spec.validation_fraction = 0;
  absl::StatusOr<TrainResult> r = Train(t, spec);
  EXPECT_TRUE(r.ok()) << r.status();
  return Artifact::FromTrainResult(*std::move(r), "lin", 3);
}

// A classifier with a numeric, a categorical and a date input.
Artifact MixedClassifier() {
  Table t;
  std::vector<double> x;
  std::vector<std::string> color;
  std::vector<double> day;
  std::vector<std::string> label;
  for (int i = 0; i < 40; ++i) {
    x.push_back(i % 10);
    color.push_back(i % 3 == 0 ? "red" : (i % 3 == 1 ? "green" : "blue"));
    day.push_back(86400.0 * (19000 + i));
    label.push_back(i % 10 < 5 ? "low" : "high");
  }
  EXPECT_TRUE(t.AddColumn(Column::Numeric("x", x)).ok());
  EXPECT_TRUE(t.AddColumn(Column::CategoricalFromStrings("color", color)).ok());
  EXPECT_TRUE(t.AddColumn(Column::Date("day", day)).ok());
  EXPECT_TRUE(t.AddColumn(Column::CategoricalFromStrings("label", label)).ok());
  TrainSpec spec;
  spec.target = "label";
  spec.kind = ModelKind::kLogisticRegression;
  spec.validation_fraction = 0;
  absl::StatusOr<TrainResult> r = Train(t, spec);
  EXPECT_TRUE(r.ok()) << r.status();
  return Artifact::FromTrainResult(*std::move(r), "mixed", 1);
}

Tensor Numbers(std::string name, Shape shape, std::vector<double> values,
               std::string datatype = "FP64") {
  Tensor t;
  t.name = std::move(name);
  t.datatype = std::move(datatype);
  t.shape = std::move(shape);
  t.numbers.assign(values.begin(), values.end());
  return t;
}

Tensor Texts(std::string name, std::vector<std::string> values) {
  Tensor t;
  t.name = std::move(name);
  t.datatype = "BYTES";
  t.shape = {static_cast<int64_t>(values.size())};
  t.texts = std::move(values);
  return t;
}

TEST(TensorMappingTest, MetadataOfARegressorAndAClassifier) {
  const Artifact lin = LinearArtifact();
  std::vector<TensorSpec> in = InputSpecs(lin);
  ASSERT_EQ(in.size(), 2u);
  EXPECT_EQ(in[0].name, "a");
  EXPECT_EQ(in[0].datatype, "FP64");
  EXPECT_THAT(in[0].shape, ElementsAre(-1));
  std::vector<TensorSpec> out = OutputSpecs(lin);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].name, "predictions");
  EXPECT_EQ(out[0].datatype, "FP64");
  EXPECT_TRUE(AcceptsFeaturesTensor(lin));
  auto props = ModelProperties(lin);
  EXPECT_THAT(props, ::testing::Contains(std::pair<std::string, std::string>(
                         "input_columns", "[\"a\",\"b\"]")));
  EXPECT_THAT(props, ::testing::Contains(std::pair<std::string, std::string>(
                         "features_shape", "[-1, 2]")));
  EXPECT_THAT(props, ::testing::Contains(std::pair<std::string, std::string>(
                         "kind", "linear_regression")));

  const Artifact mixed = MixedClassifier();
  in = InputSpecs(mixed);
  ASSERT_EQ(in.size(), 3u);
  EXPECT_EQ(in[1].name, "color");
  EXPECT_EQ(in[1].datatype, "BYTES");
  EXPECT_EQ(in[2].datatype, "BYTES");  // date
  out = OutputSpecs(mixed);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].name, "labels");
  EXPECT_EQ(out[0].datatype, "BYTES");
  EXPECT_EQ(out[1].name, "label_indices");
  EXPECT_EQ(out[1].datatype, "INT64");
  EXPECT_EQ(out[2].name, "probabilities");
  EXPECT_THAT(out[2].shape, ElementsAre(-1, 2));
  EXPECT_FALSE(AcceptsFeaturesTensor(mixed));
  props = ModelProperties(mixed);
  EXPECT_THAT(props, ::testing::Contains(std::pair<std::string, std::string>(
                         "class_labels", "[\"high\",\"low\"]")));
}

TEST(InferTest, ColumnsAndFeaturesFormsGiveTheExactFit) {
  const Artifact lin = LinearArtifact();
  // Columns in another order, [batch] and [batch, 1] shapes, INT32 and FP32.
  absl::StatusOr<std::vector<Tensor>> by_columns =
      Infer(lin,
            {Numbers("b", {3, 1}, {4, 0, 1}, "INT32"),
             Numbers("a", {3}, {10, 0, 0.5}, "FP32")},
            {});
  ASSERT_TRUE(by_columns.ok()) << by_columns.status();
  ASSERT_EQ(by_columns->size(), 1u);
  const Tensor& p = (*by_columns)[0];
  EXPECT_EQ(p.name, "predictions");
  EXPECT_EQ(p.datatype, "FP64");
  EXPECT_THAT(p.shape, ElementsAre(3));
  ASSERT_EQ(p.numbers.size(), 3u);
  EXPECT_NEAR(p.numbers[0], 17.0, 1e-9);  // 2*10 - 4 + 1
  EXPECT_NEAR(p.numbers[1], 1.0, 1e-9);
  EXPECT_NEAR(p.numbers[2], 1.0, 1e-9);   // 2*0.5 - 1 + 1
  // Form (b): row-major [batch, 2] in the model's order (a, b).
  absl::StatusOr<std::vector<Tensor>> by_features =
      Infer(lin, {Numbers("features", {3, 2}, {10, 4, 0, 0, 0.5, 1})}, {});
  ASSERT_TRUE(by_features.ok()) << by_features.status();
  EXPECT_EQ((*by_features)[0].numbers, p.numbers);
}

TEST(InferTest, MissingValuesAreImputedAsInPredict) {
  const Artifact lin = LinearArtifact();
  absl::StatusOr<std::vector<Tensor>> out = Infer(
      lin, {Numbers("features", {1, 2}, {NAN, 2})}, {"predictions"});
  ASSERT_TRUE(out.ok()) << out.status();
  Table t;
  ASSERT_TRUE(t.AddColumn(Column::Numeric("a", {NAN})).ok());
  ASSERT_TRUE(t.AddColumn(Column::Numeric("b", {2})).ok());
  absl::StatusOr<Predictions> expected = lin.Predict(t);
  ASSERT_TRUE(expected.ok());
  EXPECT_EQ((*out)[0].numbers[0], expected->values(0));
}

TEST(InferTest, ClassifierOutputsMatchPredictAndHonourTheRequestedOrder) {
  const Artifact mixed = MixedClassifier();
  const std::vector<Tensor> inputs = {
      Numbers("x", {3}, {1, 8, NAN}),
      Texts("color", {"red", "blue", "NA"}),
      Texts("day", {"2022-01-01", "2022-03-05", ""})};
  absl::StatusOr<std::vector<Tensor>> out =
      Infer(mixed, inputs, {"probabilities", "labels"});
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->size(), 2u);
  const Tensor& probabilities = (*out)[0];
  const Tensor& labels = (*out)[1];
  EXPECT_EQ(probabilities.name, "probabilities");
  EXPECT_THAT(probabilities.shape, ElementsAre(3, 2));
  EXPECT_THAT(probabilities.parameters,
              ElementsAre(std::pair<std::string, std::string>(
                  "class_labels", "[\"high\",\"low\"]")));
  EXPECT_EQ(labels.name, "labels");

  v1::ColumnarRows columns;
  auto* x = columns.add_columns();
  x->set_name("x");
  for (double v : {1.0, 8.0, std::nan("")}) x->add_numbers(v);
  auto* color = columns.add_columns();
  color->set_name("color");
  for (const char* v : {"red", "blue", "NA"}) color->add_texts(v);
  auto* day = columns.add_columns();
  day->set_name("day");
  for (const char* v : {"2022-01-01", "2022-03-05", ""}) day->add_texts(v);
  absl::StatusOr<Table> table = TableFromColumns(columns, mixed.input_types());
  ASSERT_TRUE(table.ok()) << table.status();
  absl::StatusOr<Predictions> expected = mixed.Predict(*table);
  ASSERT_TRUE(expected.ok());
  for (int r = 0; r < 3; ++r) {
    EXPECT_EQ(labels.texts[r],
              mixed.metadata().class_labels[expected->classes[r]]);
    for (int k = 0; k < 2; ++k) {
      EXPECT_EQ(probabilities.numbers[r * 2 + k],
                expected->probabilities(r, k));  // row-major
    }
  }
  EXPECT_EQ(labels.texts[0], "low");
  EXPECT_EQ(labels.texts[1], "high");

  absl::StatusOr<std::vector<Tensor>> all = Infer(mixed, inputs, {});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[1].name, "label_indices");
  EXPECT_EQ((*all)[1].datatype, "INT64");
  EXPECT_THAT((*all)[1].ints,
              ElementsAre(expected->classes[0], expected->classes[1],
                          expected->classes[2]));
}

TEST(InferTest, ErrorsNameTheTensor) {
  const Artifact lin = LinearArtifact();
  const Artifact mixed = MixedClassifier();
  struct Case {
    const Artifact* model;
    std::vector<Tensor> inputs;
    std::vector<std::string> outputs;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {&lin, {Numbers("a", {1}, {1}), Numbers("c", {1}, {1})}, {},
       "input 'c': not an input of this model; it takes: a (FP64), b (FP64); "
       "or one tensor 'features' [batch, 2]"},
      {&lin, {Numbers("a", {1}, {1})}, {},
       "missing input tensor b; this model takes"},
      {&lin,
       {Numbers("a", {1}, {1}), Numbers("b", {1}, {1}), Numbers("a", {1}, {2})},
       {},
       "input 'a': given twice"},
      {&lin, {Numbers("b", {1}, {1}), Numbers("b", {1}, {1})}, {},
       "input 'b': given twice"},
      {&lin, {Numbers("a", {2}, {1, 2}), Numbers("b", {1}, {1})}, {},
       "input 'b': batch 1 differs from input 'a' (batch 2)"},
      {&lin, {Numbers("a", {1, 2}, {1, 2}), Numbers("b", {1}, {1})}, {},
       "input 'a': shape [1, 2]; expected [batch] or [batch, 1]"},
      {&lin, {Numbers("a", {0}, {}), Numbers("b", {0}, {})}, {},
       "input 'a': no rows (batch 0)"},
      {&lin, {Numbers("features", {1, 3}, {1, 2, 3})}, {},
       "input 'features': shape [1, 3]; expected [batch, 2]"},
      {&lin, {Numbers("features", {2}, {1, 2})}, {},
       "input 'features': shape [2]; expected [batch, 2]"},
      {&lin, {Numbers("features", {1, 2}, {1, INFINITY})}, {},
       "input 'features': element 1 is infinite"},
      {&lin, {Numbers("a", {1}, {-INFINITY}), Numbers("b", {1}, {1})}, {},
       "input 'a': element 0 is infinite"},
      {&lin, {Numbers("features", {1, 2}, {1, 2})}, {"labels"},
       "output 'labels': this model has no such output; it gives: "
       "predictions"},
      {&lin, {Numbers("features", {1, 2}, {1, 2})},
       {"predictions", "predictions"}, "output 'predictions': requested twice"},
      {&lin, {}, {}, "inputs: the request has no tensors"},
      {&mixed, {Numbers("features", {1, 3}, {1, 2, 3})}, {},
       "input 'features': this model has non-numeric inputs (color, day)"},
      {&mixed,
       {Numbers("x", {1}, {1}), Texts("color", {"red"}),
        Numbers("day", {1}, {20000})},
       {},
       "input 'day': datatype FP64 for a date column; send BYTES holding "
       "ISO-8601 dates"},
      {&mixed,
       {Texts("x", {"abc"}), Texts("color", {"red"}),
        Texts("day", {"2022-01-01"})},
       {},
       "'x'"},
      {&mixed,
       {Numbers("x", {1}, {1}), Texts("color", {"red"}),
        Texts("day", {"yesterday"})},
       {},
       "'day'"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    absl::StatusOr<std::vector<Tensor>> out =
        Infer(*cases[i].model, cases[i].inputs, cases[i].outputs);
    ASSERT_FALSE(out.ok()) << i;
    EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument) << i;
    EXPECT_THAT(Message(out.status()), HasSubstr(cases[i].expected)) << i;
  }
}

TEST(InferTest, BytesForANumericColumnAreParsedAsNumbers) {
  const Artifact lin = LinearArtifact();
  absl::StatusOr<std::vector<Tensor>> out =
      Infer(lin, {Texts("a", {"10"}), Numbers("b", {1}, {4})}, {});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_NEAR((*out)[0].numbers[0], 17.0, 1e-9);
}

// ------------------------------------------------------------ encoding

TEST(EncodeOutputsTest, ContentsAndRaw) {
  Tensor values = Numbers("predictions", {2}, {1.5, -2});
  Tensor ints;
  ints.name = "label_indices";
  ints.datatype = "INT64";
  ints.shape = {2};
  ints.ints = {1, 0};
  Tensor labels = Texts("labels", {"yes", "no"});
  labels.parameters.emplace_back("k", "v");
  inference::ModelInferResponse contents;
  EncodeOutputs({values, ints, labels}, /*raw=*/false, &contents);
  ASSERT_EQ(contents.outputs_size(), 3);
  EXPECT_EQ(contents.raw_output_contents_size(), 0);
  EXPECT_THAT(contents.outputs(0).contents().fp64_contents(),
              ElementsAre(1.5, -2));
  EXPECT_THAT(contents.outputs(0).shape(), ElementsAre(2));
  EXPECT_THAT(contents.outputs(1).contents().int64_contents(),
              ElementsAre(1, 0));
  EXPECT_THAT(contents.outputs(2).contents().bytes_contents(),
              ElementsAre("yes", "no"));
  EXPECT_EQ(contents.outputs(2).parameters().at("k").string_param(), "v");

  inference::ModelInferResponse raw;
  EncodeOutputs({values, ints, labels}, /*raw=*/true, &raw);
  ASSERT_EQ(raw.raw_output_contents_size(), 3);
  EXPECT_EQ(raw.outputs(0).datatype(), "FP64");
  EXPECT_FALSE(raw.outputs(0).has_contents());
  EXPECT_EQ(raw.raw_output_contents(0), Raw<double>({1.5, -2}));
  EXPECT_EQ(raw.raw_output_contents(1), Raw<int64_t>({1, 0}));
  EXPECT_EQ(raw.raw_output_contents(2), RawBytes({"yes", "no"}));
}

// ------------------------------------------------------------ REST JSON

TEST(JsonInferRequestTest, ParsesFlatNestedNullAndBytes) {
  absl::StatusOr<JsonInferRequest> r = JsonToInferRequest(R"({
    "id": "req-1", "parameters": {"x": 1},
    "inputs": [
      {"name": "features", "datatype": "FP32", "shape": [2, 2],
       "data": [[1, 2.5], [null, 4]]},
      {"name": "flags", "datatype": "BOOL", "shape": [2], "data": [true, false]},
      {"name": "s", "datatype": "BYTES", "shape": [2], "data": ["a", null]}],
    "outputs": [{"name": "labels"}, {"name": "probabilities",
                                     "parameters": {"binary_data": false}}]})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->has_id);
  EXPECT_EQ(r->id, "req-1");
  ASSERT_EQ(r->inputs.size(), 3u);
  EXPECT_THAT(r->inputs[0].shape, ElementsAre(2, 2));
  ASSERT_EQ(r->inputs[0].numbers.size(), 4u);
  EXPECT_EQ(r->inputs[0].numbers[1], 2.5);
  EXPECT_TRUE(std::isnan(r->inputs[0].numbers[2]));
  EXPECT_THAT(r->inputs[1].numbers, ElementsAre(1, 0));
  EXPECT_THAT(r->inputs[2].texts, ElementsAre("a", ""));
  EXPECT_THAT(r->outputs, ElementsAre("labels", "probabilities"));
}

TEST(JsonInferRequestTest, ErrorsNameTheField) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{", "request body is not valid JSON (byte 2)"},
      {"[1]", "request body must be a JSON object"},
      {R"({"inputs": []})", "inputs: must be a non-empty array"},
      {R"({"id": 3, "inputs": []})", "id: must be a string"},
      {R"({"inputs": [{"datatype": "FP64", "shape": [1], "data": [1]}]})",
       "inputs[0]: \"name\" must be a non-empty string"},
      {R"({"inputs": [{"name": "a", "shape": [1], "data": [1]}]})",
       "input 'a': \"datatype\" must be a string"},
      {R"({"inputs": [{"name": "a", "datatype": "F", "shape": [1], "data": [1]}]})",
       "unknown datatype 'F'"},
      {R"({"inputs": [{"name": "a", "datatype": "FP64", "shape": [2], "data": [1]}]})",
       "input 'a': \"data\" holds 1 elements; shape [2] needs 2"},
      {R"({"inputs": [{"name": "a", "datatype": "FP64", "shape": [1], "data": ["x"]}]})",
       "input 'a': element 0 is a string; datatype FP64 takes numbers"},
      {R"({"inputs": [{"name": "a", "datatype": "INT32", "shape": [1], "data": [1.5]}]})",
       "input 'a': element 0 is 1.5; datatype INT32 takes integers"},
      {R"({"inputs": [{"name": "a", "datatype": "BYTES", "shape": [1], "data": [1]}]})",
       "input 'a': element 0 is a number; datatype BYTES takes strings"},
      {R"({"inputs": [{"name": "a", "datatype": "FP64", "shape": [1.5], "data": [1]}]})",
       "input 'a': \"shape\" must be an array of integers"},
      {R"({"inputs": [{"name": "a", "datatype": "FP64", "shape": [1]}]})",
       "input 'a': \"data\" is missing"},
      {R"({"inputs": [{"name": "a", "datatype": "FP64", "shape": [1, 1], "data": [[[1]]]}]})",
       "input 'a': \"data\" is nested deeper than its shape's 2 dimensions"},
      // A million levels: refused at the shape's depth, no deep recursion.
      {R"({"inputs": [{"name": "a", "datatype": "FP64", "shape": [1], "data": )" +
           std::string(1000000, '[') + "1" + std::string(1000000, ']') + "}]}",
       "input 'a': \"data\" is nested deeper than its shape's 1 dimensions"},
      {R"({"inputs": [{"name": "a", "datatype": "FP64", "shape": [1], "data": [1]},
                      {"name": "a", "datatype": "FP64", "shape": [1], "data": [1]}]})",
       "input 'a': given twice"},
      {R"({"inputs": [{"name": "a", "datatype": "FP64", "shape": [1], "data": [1]}],
           "outputs": [{"nom": "x"}]})",
       "outputs[0]: must be an object with a string \"name\""},
      // nlohmann's out_of_range, not a parse_error: was thrown out (found by
      // fuzz/request_fuzzer.cc; fuzz/regressions/request/json_number_overflow).
      {R"({"inputs": [{"name": "a", "datatype": "FP64", "shape": [1], "data": [1e400]}]})",
       "request body holds a number out of the range of a double"},
      {R"({"inputs": [{"name": "a", "datatype": "INT64", "shape": [1], "data": [-1e3922337203685477580708]}]})",
       "request body holds a number out of the range of a double"},
  };
  for (const auto& [body, expected] : cases) {
    absl::StatusOr<JsonInferRequest> r = JsonToInferRequest(body);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << body;
    EXPECT_THAT(Message(r.status()), HasSubstr(expected)) << body;
  }
}

TEST(JsonInferRequestTest, ResponseJson) {
  JsonInferRequest request;
  request.id = "7";
  request.has_id = true;
  Tensor labels = Texts("labels", {"a"});
  labels.parameters.emplace_back("class_labels", "[\"a\",\"b\"]");
  const std::string json = InferResponseToJson(
      "m", 2, request, {Numbers("predictions", {1}, {0.5}), labels});
  EXPECT_EQ(nlohmann::json::parse(json),
            nlohmann::json::parse(R"({
      "model_name": "m", "model_version": "2", "id": "7",
      "outputs": [
        {"name": "predictions", "datatype": "FP64", "shape": [1], "data": [0.5]},
        {"name": "labels", "datatype": "BYTES", "shape": [1], "data": ["a"],
         "parameters": {"class_labels": "[\"a\",\"b\"]"}}]})"));
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kNotFound), 404);
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kResourceExhausted), 429);
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kUnavailable), 503);
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kInternal), 500);
}

}  // namespace
}  // namespace modelserver::server::oip
