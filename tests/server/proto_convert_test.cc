#include "server/proto_convert.h"

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/data/datetime.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace modelserver::server {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A cell: a number, a text, or missing.
struct Cell {
  enum Kind { kNumber, kText, kMissing } kind;
  double number = 0;
  std::string text;
};
Cell N(double v) { return {Cell::kNumber, v, ""}; }
Cell T(std::string s) { return {Cell::kText, 0, std::move(s)}; }
Cell M() { return {Cell::kMissing, 0, ""}; }

v1::InlineRows Rows(const std::vector<std::string>& columns,
                    const std::vector<std::vector<Cell>>& rows) {
  v1::InlineRows out;
  for (const std::string& c : columns) out.add_columns(c);
  for (const auto& row : rows) {
    v1::Row* r = out.add_rows();
    for (const Cell& cell : row) {
      v1::Value* v = r->add_values();
      if (cell.kind == Cell::kNumber) v->set_number(cell.number);
      if (cell.kind == Cell::kText) v->set_text(cell.text);
    }
  }
  return out;
}

std::vector<std::string> Levels(const Column& c) {
  std::vector<std::string> out;
  for (int32_t code : c.codes()) {
    out.push_back(code < 0 ? "<missing>" : c.levels()[code]);
  }
  return out;
}

// ------------------------------------------------------------ inference

TEST(TableFromRowsTest, InfersNumericDateAndCategorical) {
  absl::StatusOr<Table> t = TableFromRows(Rows(
      {"num", "when", "color"}, {{N(1.5), T("2024-01-02"), T("red")},
                                 {M(), T("2024-03-04T05:06:07Z"), T("blue")},
                                 {N(-2), M(), M()}}));
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->num_rows(), 3);
  const Column& num = t->column(0);
  EXPECT_EQ(num.type(), ColumnType::kNumeric);
  EXPECT_EQ(num.values()[0], 1.5);
  EXPECT_TRUE(std::isnan(num.values()[1]));
  EXPECT_EQ(num.values()[2], -2.0);
  const Column& when = t->column(1);
  EXPECT_EQ(when.type(), ColumnType::kDate);
  EXPECT_EQ(when.values()[0], *ParseIsoDateTime("2024-01-02"));
  EXPECT_EQ(when.values()[1], *ParseIsoDateTime("2024-03-04T05:06:07Z"));
  EXPECT_TRUE(when.is_missing(2));
  const Column& color = t->column(2);
  EXPECT_EQ(color.type(), ColumnType::kCategorical);
  EXPECT_THAT(Levels(color), ElementsAre("red", "blue", "<missing>"));
}

TEST(TableFromRowsTest, MissingMarkersAndNaNAreMissing) {
  absl::StatusOr<Table> t = TableFromRows(
      Rows({"x", "c"},
           {{N(std::nan("")), T("NA")}, {N(3), T(" ? ")}, {N(4), T("a")}}));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->column(0).type(), ColumnType::kNumeric);
  EXPECT_TRUE(t->column(0).is_missing(0));
  EXPECT_EQ(t->column(1).type(), ColumnType::kCategorical);
  EXPECT_EQ(t->column(1).CountMissing(), 2);
}

TEST(TableFromRowsTest, EmptyColumnIsNumeric) {
  absl::StatusOr<Table> t = TableFromRows(Rows({"x"}, {{M()}, {M()}}));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->column(0).type(), ColumnType::kNumeric);
  EXPECT_EQ(t->column(0).CountMissing(), 2);
}

TEST(TableFromRowsTest, MixedNumbersAndTextBecomeCategorical) {
  absl::StatusOr<Table> t = TableFromRows(
      Rows({"m"}, {{N(3)}, {T("x")}, {N(0.1)}, {N(1e300)}, {T("2024-01-01")}}));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->column(0).type(), ColumnType::kCategorical);
  EXPECT_THAT(Levels(t->column(0)),
              ElementsAre("3", "x", "0.1", "1e+300", "2024-01-01"));
}

TEST(TableFromRowsTest, TextNotAllDatesIsCategorical) {
  absl::StatusOr<Table> t =
      TableFromRows(Rows({"d"}, {{T("2024-01-01")}, {T("2024-13-01")}}));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->column(0).type(), ColumnType::kCategorical);
}

TEST(TableFromRowsTest, StructuralErrors) {
  absl::StatusOr<Table> t =
      TableFromRows(Rows({"a", "b"}, {{N(1), N(2)}, {N(1)}}));
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(t.status().message()),
              HasSubstr("row 1 has 1 values, expected 2"));

  t = TableFromRows(Rows({"a", "a"}, {{N(1), N(2)}}));
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(t.status().message()),
              HasSubstr("duplicate column name 'a'"));

  t = TableFromRows(Rows({"a", ""}, {{N(1), N(2)}}));
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(t.status().message()), HasSubstr("empty name"));

  t = TableFromRows(Rows({"x"}, {{N(1)}, {N(INFINITY)}}));
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(t.status().message()),
              HasSubstr("row 1, column 'x'"));
}

// ------------------------------------------------------------ forcing

TEST(TableFromRowsTest, ForcedTypesConvertValues) {
  ColumnTypes types = {{"num", ColumnType::kNumeric},
                       {"cat", ColumnType::kCategorical},
                       {"when", ColumnType::kDate}};
  absl::StatusOr<Table> t =
      TableFromRows(Rows({"num", "cat", "when", "extra"},
                         {{T(" 2.5 "), N(3), T("2020-02-29"), N(1)},
                          {N(4), T("b"), M(), N(2)},
                          {T("NA"), N(2.5), T("2021-01-01 10:00"), N(3)}}),
                    types);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->column(0).type(), ColumnType::kNumeric);
  EXPECT_EQ(t->column(0).values()[0], 2.5);
  EXPECT_EQ(t->column(0).values()[1], 4.0);
  EXPECT_TRUE(t->column(0).is_missing(2));
  EXPECT_EQ(t->column(1).type(), ColumnType::kCategorical);
  EXPECT_THAT(Levels(t->column(1)), ElementsAre("3", "b", "2.5"));
  EXPECT_EQ(t->column(2).type(), ColumnType::kDate);
  EXPECT_TRUE(t->column(2).is_missing(1));
  EXPECT_EQ(t->column(3).type(), ColumnType::kNumeric);  // inferred
}

TEST(TableFromRowsTest, ForcedNumericRejectsTextNamingRowAndColumn) {
  absl::StatusOr<Table> t =
      TableFromRows(Rows({"a", "price"}, {{N(1), N(2)}, {N(1), T("cheap")}}),
                    {{"price", ColumnType::kNumeric}});
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(t.status().message()),
            "row 1, column 'price': expected a number, got 'cheap'");
}

TEST(TableFromRowsTest, ForcedDateRejectsNumbersAndBadText) {
  absl::StatusOr<Table> t =
      TableFromRows(Rows({"d"}, {{N(5)}}), {{"d", ColumnType::kDate}});
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(t.status().message()),
              HasSubstr("row 0, column 'd': expected an ISO-8601 date"));
  t = TableFromRows(Rows({"d"}, {{T("2024-01-01")}, {T("tomorrow")}}),
                    {{"d", ColumnType::kDate}});
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(t.status().message()),
              HasSubstr("row 1, column 'd': expected an ISO-8601 date, got "
                        "'tomorrow'"));
}

// ------------------------------------------------------------ columnar

v1::ColumnarRows::Column* NumberColumn(v1::ColumnarRows* out,
                                       const std::string& name,
                                       const std::vector<double>& values) {
  v1::ColumnarRows::Column* c = out->add_columns();
  c->set_name(name);
  for (double v : values) c->add_numbers(v);
  return c;
}

v1::ColumnarRows::Column* TextColumn(v1::ColumnarRows* out,
                                     const std::string& name,
                                     const std::vector<std::string>& values) {
  v1::ColumnarRows::Column* c = out->add_columns();
  c->set_name(name);
  for (const std::string& v : values) c->add_texts(v);
  return c;
}

TEST(TableFromColumnsTest, InfersTypesLikeRows) {
  v1::ColumnarRows in;
  NumberColumn(&in, "num", {1.5, NAN, -2});
  TextColumn(&in, "when", {"2024-01-02", "2024-03-04T05:06:07Z", ""});
  TextColumn(&in, "color", {"red", "blue", "NA"});
  absl::StatusOr<Table> t = TableFromColumns(in);
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->num_rows(), 3);
  EXPECT_EQ(t->column(0).type(), ColumnType::kNumeric);
  EXPECT_EQ(t->column(0).values()[0], 1.5);
  EXPECT_TRUE(std::isnan(t->column(0).values()[1]));
  EXPECT_EQ(t->column(0).values()[2], -2.0);
  EXPECT_EQ(t->column(1).type(), ColumnType::kDate);
  EXPECT_EQ(t->column(1).values()[1],
            *ParseIsoDateTime("2024-03-04T05:06:07Z"));
  EXPECT_TRUE(t->column(1).is_missing(2));
  EXPECT_EQ(t->column(2).type(), ColumnType::kCategorical);
  EXPECT_THAT(Levels(t->column(2)), ElementsAre("red", "blue", "<missing>"));

  // The same data as rows gives the same table.
  absl::StatusOr<Table> rows = TableFromRows(Rows(
      {"num", "when", "color"}, {{N(1.5), T("2024-01-02"), T("red")},
                                 {M(), T("2024-03-04T05:06:07Z"), T("blue")},
                                 {N(-2), M(), M()}}));
  ASSERT_TRUE(rows.ok());
  for (int c = 0; c < 3; ++c) {
    EXPECT_EQ(t->column(c).type(), rows->column(c).type());
    EXPECT_EQ(Levels(t->column(c)), Levels(rows->column(c)));
  }
}

TEST(TableFromColumnsTest, ForcedTypesConvertValues) {
  v1::ColumnarRows in;
  TextColumn(&in, "num", {" 3.5", "?"});
  NumberColumn(&in, "cat", {3, NAN});
  ColumnTypes types = {{"num", ColumnType::kNumeric},
                       {"cat", ColumnType::kCategorical}};
  absl::StatusOr<Table> t = TableFromColumns(in, types);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->column(0).values()[0], 3.5);
  EXPECT_TRUE(t->column(0).is_missing(1));
  EXPECT_THAT(Levels(t->column(1)), ElementsAre("3", "<missing>"));
}

TEST(TableFromColumnsTest, ErrorsNameTheColumnAndRow) {
  struct Case {
    std::function<void(v1::ColumnarRows*)> build;
    ColumnTypes types;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](v1::ColumnarRows*) {}, {}, "columns: no columns"},
      {[](v1::ColumnarRows* in) { NumberColumn(in, "a", {}); },
       {},
       "columns: no rows"},
      {[](v1::ColumnarRows* in) {
         NumberColumn(in, "a", {1, 2});
         NumberColumn(in, "b", {1});
       },
       {},
       "column 'b' has 1 values; column 'a' has 2"},
      {[](v1::ColumnarRows* in) {
         NumberColumn(in, "a", {1});
         NumberColumn(in, "a", {2});
       },
       {},
       "columns: duplicate column name 'a' (columns 0 and 1)"},
      {[](v1::ColumnarRows* in) { NumberColumn(in, "", {1}); },
       {},
       "columns: column 0 has an empty name"},
      {[](v1::ColumnarRows* in) { NumberColumn(in, "a", {1})->add_texts("x"); },
       {},
       "column 'a': set numbers or texts, not both"},
      {[](v1::ColumnarRows* in) {
         NumberColumn(in, "x", {1, INFINITY});
       },
       {},
       "row 1, column 'x': expected a finite number, got infinity"},
      {[](v1::ColumnarRows* in) {
         TextColumn(in, "x", {"1", "one"});
       },
       {{"x", ColumnType::kNumeric}},
       "row 1, column 'x': expected a number, got 'one'"},
      {[](v1::ColumnarRows* in) { NumberColumn(in, "d", {1}); },
       {{"d", ColumnType::kDate}},
       "column 'd' is a date column: give ISO-8601 dates in texts"},
      {[](v1::ColumnarRows* in) {
         TextColumn(in, "d", {"2024-01-01", "soon"});
       },
       {{"d", ColumnType::kDate}},
       "row 1, column 'd': expected an ISO-8601 date, got 'soon'"},
  };
  for (const Case& c : cases) {
    v1::ColumnarRows in;
    c.build(&in);
    absl::StatusOr<Table> t = TableFromColumns(in, c.types);
    ASSERT_FALSE(t.ok()) << c.message;
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(t.status().message()), HasSubstr(c.message));
  }
}

TEST(TableFromColumnsTest, ManyColumnsStillFindDuplicates) {
  v1::ColumnarRows in;
  for (int c = 0; c < 40; ++c) NumberColumn(&in, absl::StrCat("c", c), {1});
  absl::StatusOr<Table> t = TableFromColumns(in);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->num_columns(), 40);
  EXPECT_EQ(t->Find("c39"), &t->column(39));  // past Table's index threshold
  NumberColumn(&in, "c7", {2});
  t = TableFromColumns(in);
  EXPECT_THAT(std::string(t.status().message()),
              HasSubstr("duplicate column name 'c7' (columns 7 and 40)"));
}

// ------------------------------------------------------ numeric short path

// y = 2a - b + 1 with standard scaling and mean imputation (a has a gap).
Artifact NumericArtifact() {
  Table t;
  EXPECT_TRUE(t.AddColumn(Column::Numeric("a", {1, 2, NAN, 4, 5, 6})).ok());
  EXPECT_TRUE(t.AddColumn(Column::Numeric("b", {3, 1, 4, 1, 5, 9})).ok());
  EXPECT_TRUE(t.AddColumn(Column::Numeric("y", {0, 4, 1, 8, 6, 4})).ok());
  TrainSpec spec;
  spec.target = "y";
  spec.validation_fraction = 0;
  spec.preprocessing.scaling = ScalingMethod::kStandard;
  absl::StatusOr<TrainResult> r = Train(t, spec);
  EXPECT_TRUE(r.ok()) << r.status();
  return Artifact::FromTrainResult(*std::move(r), "m", 1);
}

TEST(NumericFeaturesFromRowsTest, GivesWhatTheTablePathGives) {
  const Artifact artifact = NumericArtifact();
  ASSERT_TRUE(artifact.numeric_inputs_only());
  // Columns in another order than the model's, an extra column, a missing
  // value in an input.
  const v1::InlineRows rows =
      Rows({"b", "extra", "a"},
           {{N(2), N(7), N(1.5)}, {N(NAN), N(0), N(-3)}, {N(8), N(1), M()}});
  Eigen::MatrixXd fast;
  ASSERT_TRUE(NumericFeaturesFromRows(rows, artifact, &fast));
  absl::StatusOr<Table> table = TableFromRows(rows, artifact.input_types());
  ASSERT_TRUE(table.ok());
  absl::StatusOr<Eigen::MatrixXd> slow = artifact.pipeline().Transform(*table);
  ASSERT_TRUE(slow.ok());
  ASSERT_EQ(fast.rows(), 3);
  ASSERT_EQ(fast.cols(), slow->cols());
  EXPECT_EQ(fast, *slow);  // exactly
  const Predictions a = artifact.PredictFeatures(fast);
  const absl::StatusOr<Predictions> b = artifact.Predict(*table);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a.values, b->values);
}

TEST(NumericFeaturesFromRowsTest, LeavesEverythingElseToTheTablePath) {
  const Artifact artifact = NumericArtifact();
  Eigen::MatrixXd x;
  const std::vector<v1::InlineRows> others = {
      Rows({"a", "b"}, {{N(1), T("2")}}),                   // a text cell
      Rows({"a", "b"}, {{N(1), N(INFINITY)}}),              // infinity
      Rows({"a", "b", "c"}, {{N(1), N(2), N(-INFINITY)}}),  // even unused
      Rows({"a"}, {{N(1)}}),                                // b absent
      Rows({"a", "b", "a"}, {{N(1), N(2), N(3)}}),          // duplicate name
      Rows({"a", "b"}, {{N(1), N(2)}, {N(1)}}),             // ragged
      Rows({"a", "b"}, {}),                                 // no rows
  };
  for (size_t i = 0; i < others.size(); ++i) {
    EXPECT_FALSE(NumericFeaturesFromRows(others[i], artifact, &x)) << i;
  }
  // A model with a categorical input never takes the short path.
  Table t;
  ASSERT_TRUE(t.AddColumn(Column::Numeric("a", {1, 2, 3, 4})).ok());
  ASSERT_TRUE(
      t.AddColumn(Column::CategoricalFromStrings("c", {"x", "y", "x", "y"},
                                                 {false, false, false, false}))
          .ok());
  ASSERT_TRUE(t.AddColumn(Column::Numeric("y", {1, 2, 3, 5})).ok());
  TrainSpec spec;
  spec.target = "y";
  spec.validation_fraction = 0;
  absl::StatusOr<TrainResult> r = Train(t, spec);
  ASSERT_TRUE(r.ok()) << r.status();
  const Artifact mixed = Artifact::FromTrainResult(*std::move(r), "m", 1);
  EXPECT_FALSE(mixed.numeric_inputs_only());
  EXPECT_FALSE(
      NumericFeaturesFromRows(Rows({"a", "c"}, {{N(1), N(2)}}), mixed, &x));
}

TEST(ShortestNumberTextTest, RoundTrips) {
  EXPECT_EQ(ShortestNumberText(3.0), "3");
  EXPECT_EQ(ShortestNumberText(0.1), "0.1");
  EXPECT_EQ(ShortestNumberText(-2.5), "-2.5");
  EXPECT_EQ(ShortestNumberText(1e300), "1e+300");
}

// ------------------------------------------------------------ enums

TEST(ColumnTypeTest, BothWays) {
  for (ColumnType t :
       {ColumnType::kNumeric, ColumnType::kCategorical, ColumnType::kDate}) {
    absl::StatusOr<ColumnType> back = ColumnTypeFromProto(ColumnTypeToProto(t));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, t);
  }
  EXPECT_EQ(ColumnTypeToProto(ColumnType::kDate), v1::COLUMN_TYPE_DATE);
  EXPECT_EQ(ColumnTypeFromProto(v1::COLUMN_TYPE_UNSPECIFIED).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      ColumnTypeFromProto(static_cast<v1::ColumnType>(42)).status().code(),
      absl::StatusCode::kInvalidArgument);
}

TEST(ColumnTypeTest, DatasetOverridesSkipUnspecified) {
  v1::Dataset d;
  (*d.mutable_column_types())["a"] = v1::COLUMN_TYPE_CATEGORICAL;
  (*d.mutable_column_types())["b"] = v1::COLUMN_TYPE_UNSPECIFIED;
  absl::StatusOr<ColumnTypes> types = ColumnTypesFromProto(d.column_types());
  ASSERT_TRUE(types.ok());
  EXPECT_EQ(types->size(), 1u);
  EXPECT_EQ(types->at("a"), ColumnType::kCategorical);
}

// ------------------------------------------------------------ training

v1::TrainOptions Options(v1::Task task, v1::ModelType model) {
  v1::TrainOptions o;
  o.set_target("y");
  o.set_task(task);
  o.set_model(model);
  return o;
}

ModelKind KindOf(v1::Task task, v1::ModelType model, ColumnType target) {
  absl::StatusOr<TrainSpec> s =
      TrainSpecFromProto(Options(task, model), target);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? s->kind : ModelKind::kLinearRegression;
}

TEST(TrainSpecFromProtoTest, TaskAndModelMapping) {
  using v1::MODEL_TYPE_LINEAR;
  using v1::MODEL_TYPE_LOGISTIC;
  using v1::MODEL_TYPE_MLP;
  using v1::MODEL_TYPE_UNSPECIFIED;
  using v1::TASK_CLASSIFICATION;
  using v1::TASK_REGRESSION;
  using v1::TASK_UNSPECIFIED;
  const ColumnType num = ColumnType::kNumeric;
  const ColumnType cat = ColumnType::kCategorical;
  EXPECT_EQ(KindOf(TASK_UNSPECIFIED, MODEL_TYPE_UNSPECIFIED, num),
            ModelKind::kLinearRegression);
  EXPECT_EQ(KindOf(TASK_UNSPECIFIED, MODEL_TYPE_UNSPECIFIED, cat),
            ModelKind::kLogisticRegression);
  EXPECT_EQ(KindOf(TASK_UNSPECIFIED, MODEL_TYPE_MLP, num),
            ModelKind::kMlpRegressor);
  EXPECT_EQ(KindOf(TASK_UNSPECIFIED, MODEL_TYPE_MLP, cat),
            ModelKind::kMlpClassifier);
  // The model decides the task when it can only do one.
  EXPECT_EQ(KindOf(TASK_UNSPECIFIED, MODEL_TYPE_LOGISTIC, num),
            ModelKind::kLogisticRegression);
  EXPECT_EQ(KindOf(TASK_REGRESSION, MODEL_TYPE_UNSPECIFIED, cat),
            ModelKind::kLinearRegression);
  EXPECT_EQ(KindOf(TASK_CLASSIFICATION, MODEL_TYPE_UNSPECIFIED, num),
            ModelKind::kLogisticRegression);
  EXPECT_EQ(KindOf(TASK_REGRESSION, MODEL_TYPE_MLP, num),
            ModelKind::kMlpRegressor);
  EXPECT_EQ(KindOf(TASK_CLASSIFICATION, MODEL_TYPE_MLP, num),
            ModelKind::kMlpClassifier);
}

TEST(TrainSpecFromProtoTest, InvalidCombinations) {
  absl::StatusOr<TrainSpec> s =
      TrainSpecFromProto(Options(v1::TASK_REGRESSION, v1::MODEL_TYPE_LOGISTIC),
                         ColumnType::kNumeric);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.status().message()),
              HasSubstr("LOGISTIC is a classification model"));
  s = TrainSpecFromProto(
      Options(v1::TASK_CLASSIFICATION, v1::MODEL_TYPE_LINEAR),
      ColumnType::kCategorical);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.status().message()),
              HasSubstr("LINEAR is a regression model"));
  EXPECT_EQ(ValidateTrainOptions(
                Options(v1::TASK_REGRESSION, v1::MODEL_TYPE_LOGISTIC))
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(TrainSpecFromProtoTest, UnsetFieldsKeepDefaults) {
  absl::StatusOr<TrainSpec> s = TrainSpecFromProto(
      Options(v1::TASK_UNSPECIFIED, v1::MODEL_TYPE_UNSPECIFIED),
      ColumnType::kNumeric);
  ASSERT_TRUE(s.ok()) << s.status();
  const TrainSpec d;
  EXPECT_EQ(s->target, "y");
  EXPECT_TRUE(s->features.empty());
  EXPECT_EQ(s->optimizer, OptimizerKind::kAuto);
  EXPECT_EQ(s->epochs, d.epochs);
  EXPECT_EQ(s->batch_size, d.batch_size);
  EXPECT_EQ(s->learning_rate, d.learning_rate);
  EXPECT_EQ(s->l1, d.l1);
  EXPECT_EQ(s->l2, d.l2);
  EXPECT_EQ(s->hidden_layers, d.hidden_layers);
  EXPECT_EQ(s->activation, Activation::kRelu);
  EXPECT_EQ(s->validation_fraction, d.validation_fraction);
  EXPECT_EQ(s->early_stopping_patience, d.early_stopping_patience);
  EXPECT_EQ(s->seed, d.seed);
  EXPECT_EQ(s->momentum, d.momentum);
  EXPECT_EQ(s->preprocessing.scaling, ScalingMethod::kStandard);
  EXPECT_EQ(s->preprocessing.max_levels, 50);
}

TEST(TrainSpecFromProtoTest, SetFieldsAreCopied) {
  v1::TrainOptions o = Options(v1::TASK_UNSPECIFIED, v1::MODEL_TYPE_MLP);
  o.add_features("a");
  o.add_features("b");
  o.set_optimizer(v1::OPTIMIZER_SGD);
  o.set_epochs(7);
  o.set_batch_size(16);
  o.set_learning_rate(0.05);
  o.set_l1(0.0);
  o.set_l2(0.5);
  o.add_hidden_layers(8);
  o.add_hidden_layers(4);
  o.set_activation(v1::ACTIVATION_TANH);
  o.set_validation_split(0.0);
  o.set_early_stopping_patience(0);
  o.set_seed(7);
  o.set_momentum(0.5);
  o.set_nesterov(true);
  o.mutable_preprocessing()->set_scaling("minmax");
  o.mutable_preprocessing()->set_numeric_impute("median");
  o.mutable_preprocessing()->set_categorical_impute("constant");
  o.mutable_preprocessing()->set_outliers("zscore");
  o.mutable_preprocessing()->set_max_levels(5);
  absl::StatusOr<TrainSpec> s = TrainSpecFromProto(o, ColumnType::kNumeric);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->kind, ModelKind::kMlpRegressor);
  EXPECT_THAT(s->features, ElementsAre("a", "b"));
  EXPECT_EQ(s->optimizer, OptimizerKind::kSgd);
  EXPECT_EQ(s->epochs, 7);
  EXPECT_EQ(s->batch_size, 16);
  EXPECT_EQ(s->learning_rate, 0.05);
  EXPECT_EQ(s->l1, 0.0);
  EXPECT_EQ(s->l2, 0.5);
  EXPECT_THAT(s->hidden_layers, ElementsAre(8, 4));
  EXPECT_EQ(s->activation, Activation::kTanh);
  EXPECT_EQ(s->validation_fraction, 0.0);
  EXPECT_EQ(s->early_stopping_patience, 0);
  EXPECT_EQ(s->seed, 7u);
  EXPECT_EQ(s->momentum, 0.5);
  EXPECT_TRUE(s->nesterov);
  EXPECT_EQ(s->preprocessing.scaling, ScalingMethod::kMinMax);
  EXPECT_EQ(s->preprocessing.numeric_impute, ImputeStrategy::kMedian);
  EXPECT_EQ(s->preprocessing.categorical_impute, ImputeStrategy::kConstant);
  EXPECT_EQ(s->preprocessing.outliers, OutlierMethod::kZScore);
  EXPECT_EQ(s->preprocessing.max_levels, 5);
}

TEST(TrainSpecFromProtoTest, BadFieldsAreNamed) {
  v1::TrainOptions o =
      Options(v1::TASK_UNSPECIFIED, v1::MODEL_TYPE_UNSPECIFIED);
  o.clear_target();
  EXPECT_THAT(std::string(ValidateTrainOptions(o).message()),
              HasSubstr("options.target"));
  o = Options(v1::TASK_UNSPECIFIED, v1::MODEL_TYPE_UNSPECIFIED);
  o.mutable_preprocessing()->set_scaling("log");
  absl::Status s = ValidateTrainOptions(o);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("options.preprocessing.scaling"));
  o = Options(v1::TASK_UNSPECIFIED, v1::MODEL_TYPE_UNSPECIFIED);
  o.set_epochs(-1);
  EXPECT_THAT(std::string(ValidateTrainOptions(o).message()),
              HasSubstr("options.epochs"));
  o = Options(v1::TASK_UNSPECIFIED, v1::MODEL_TYPE_UNSPECIFIED);
  o.set_validation_split(0.95);
  s = ValidateTrainOptions(o);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("validation"));
  o = Options(static_cast<v1::Task>(9), v1::MODEL_TYPE_UNSPECIFIED);
  EXPECT_THAT(std::string(ValidateTrainOptions(o).message()),
              HasSubstr("options.task"));
}

// ------------------------------------------------------------ results

TEST(ResultsToProtoTest, EvaluationWithConfusionMatrix) {
  Evaluation e;
  e.metrics = {{"accuracy", 0.75}, {"log_loss", 0.5}};
  e.rows_used = 4;
  e.rows_dropped = 1;
  ClassificationMetrics c;
  c.per_class = {{"a", 1.0, 0.5, 2.0 / 3, 2}, {"b", 2.0 / 3, 1.0, 0.8, 2}};
  c.confusion.resize(2, 2);
  c.confusion << 1, 1, 0, 2;
  e.classification = c;
  ModelMetadata m;
  m.name = "iris";
  m.version = 3;
  const v1::EvaluateResponse r = EvaluationToProto(e, m);
  EXPECT_EQ(r.name(), "iris");
  EXPECT_EQ(r.version(), 3);
  ASSERT_EQ(r.metrics_size(), 2);
  EXPECT_EQ(r.metrics(0).name(), "accuracy");
  EXPECT_EQ(r.metrics(0).value(), 0.75);
  EXPECT_EQ(r.rows_used(), 4);
  EXPECT_EQ(r.rows_dropped(), 1);
  ASSERT_EQ(r.per_class_size(), 2);
  EXPECT_EQ(r.per_class(1).label(), "b");
  EXPECT_EQ(r.per_class(1).f1(), 0.8);
  EXPECT_EQ(r.per_class(0).support(), 2);
  EXPECT_THAT(r.confusion_matrix().labels(), ElementsAre("a", "b"));
  EXPECT_THAT(r.confusion_matrix().counts(), ElementsAre(1, 1, 0, 2));
}

TEST(ResultsToProtoTest, RegressionEvaluationHasNoConfusionMatrix) {
  Evaluation e;
  e.metrics = {{"mse", 1.0}, {"rmse", 1.0}, {"mae", 1.0}, {"r2", 0.5}};
  const v1::EvaluateResponse r = EvaluationToProto(e, ModelMetadata());
  EXPECT_EQ(r.metrics_size(), 4);
  EXPECT_EQ(r.per_class_size(), 0);
  EXPECT_FALSE(r.has_confusion_matrix());
}

TEST(ResultsToProtoTest, Predictions) {
  ModelMetadata m;
  m.kind = ModelKind::kLogisticRegression;
  m.class_labels = {"no", "yes"};
  Predictions p;
  p.probabilities.resize(2, 2);
  p.probabilities << 0.9, 0.1, 0.2, 0.8;
  p.classes = {0, 1};
  v1::PredictResponse r = PredictionsToProto(p, m);
  EXPECT_THAT(r.class_labels(), ElementsAre("no", "yes"));
  ASSERT_EQ(r.predictions_size(), 2);
  EXPECT_EQ(r.predictions(1).label(), "yes");
  EXPECT_THAT(r.predictions(1).probabilities(), ElementsAre(0.2, 0.8));

  m.kind = ModelKind::kLinearRegression;
  Predictions q;
  q.values.resize(2);
  q.values << 1.5, -2;
  r = PredictionsToProto(q, m);
  ASSERT_EQ(r.predictions_size(), 2);
  EXPECT_EQ(r.predictions(0).value(), 1.5);
  EXPECT_EQ(r.predictions(1).value(), -2.0);
  EXPECT_EQ(r.class_labels_size(), 0);
}

TEST(ResultsToProtoTest, PackedPredictions) {
  ModelMetadata m;
  m.kind = ModelKind::kLogisticRegression;
  m.class_labels = {"a", "b", "c"};
  Predictions p;
  p.probabilities.resize(2, 3);
  p.probabilities << 0.7, 0.2, 0.1,  //
      0.1, 0.3, 0.6;
  p.classes = {0, 2};
  v1::PredictResponse r;
  PredictionsToProto(p, m, /*packed=*/true, &r);
  EXPECT_EQ(r.predictions_size(), 0);
  EXPECT_THAT(r.class_labels(), ElementsAre("a", "b", "c"));
  EXPECT_THAT(r.label_indices(), ElementsAre(0, 2));
  EXPECT_THAT(r.probabilities(), ElementsAre(0.7, 0.2, 0.1, 0.1, 0.3, 0.6));

  m.kind = ModelKind::kMlpRegressor;
  Predictions q;
  q.values.resize(3);
  q.values << 1.5, -2, 0.25;
  v1::PredictResponse s;
  PredictionsToProto(q, m, /*packed=*/true, &s);
  EXPECT_THAT(s.values(), ElementsAre(1.5, -2.0, 0.25));
  EXPECT_EQ(s.label_indices_size(), 0);
}

TEST(ResultsToProtoTest, JobsAndEvents) {
  JobSnapshot j;
  j.id = "job-1";
  j.name = "m";
  j.state = JobState::kCancelled;
  j.error = absl::CancelledError("stopped");
  j.epoch = 3;
  const v1::Job job = JobToProto(j);
  EXPECT_EQ(job.state(), v1::JOB_STATE_CANCELLED);
  EXPECT_EQ(job.error().code(), 1);
  EXPECT_EQ(job.error().message(), "stopped");
  EXPECT_EQ(job.epoch(), 3);

  JobEvent accepted;
  accepted.type = JobEvent::Type::kAccepted;
  v1::TrainEvent e = TrainEventToProto("job-1", "m", accepted);
  EXPECT_EQ(e.job_id(), "job-1");
  EXPECT_EQ(e.accepted().name(), "m");

  JobEvent done;
  done.type = JobEvent::Type::kSucceeded;
  done.outcome.name = "m";
  done.outcome.version = 2;
  done.outcome.validation_metrics = {{"r2", 0.9}};
  e = TrainEventToProto("job-1", "m", done);
  EXPECT_EQ(e.result().version(), 2);
  EXPECT_EQ(e.result().validation_metrics(0).name(), "r2");

  JobEvent failed;
  failed.type = JobEvent::Type::kFailed;
  failed.error = absl::InternalError("secret");
  e = TrainEventToProto("job-1", "m", failed);
  EXPECT_EQ(e.failed().code(), 13);
  EXPECT_THAT(e.failed().message(), ::testing::Not(HasSubstr("secret")));
}

}  // namespace
}  // namespace modelserver::server
