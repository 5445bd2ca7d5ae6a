#include "client/output.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "client/csv_records.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "modelserver/v1/model_service.pb.h"

namespace modelserver::client {
namespace {

using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

Struct ParseJson(const std::string& json) {
  Struct s;
  const auto status = google::protobuf::util::JsonStringToMessage(json, &s);
  EXPECT_TRUE(status.ok()) << status << " in " << json;
  return s;
}

// The field `key` of `s`; fails the test (and returns a null value) if absent.
const Value& Field(const Struct& s, const std::string& key) {
  static const Value* const kMissing = new Value();
  const auto it = s.fields().find(key);
  EXPECT_NE(it, s.fields().end()) << "no key '" << key << "'";
  return it == s.fields().end() ? *kMissing : it->second;
}

std::vector<std::string> Keys(const Struct& s) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : s.fields()) keys.push_back(key);
  return keys;
}

void AddMetric(google::protobuf::RepeatedPtrField<v1::Metric>* metrics,
               const std::string& name, double value) {
  v1::Metric* m = metrics->Add();
  m->set_name(name);
  m->set_value(value);
}

CsvRecords MustSplit(absl::string_view text) {
  absl::StatusOr<CsvRecords> records = SplitCsvRecords(text);
  EXPECT_TRUE(records.ok()) << records.status();
  return records.ok() ? *std::move(records) : CsvRecords{};
}

// ---------------------------------------------------------------- FormatTable

TEST(FormatTableTest, AlignsNumbersRightAndTextLeft) {
  const std::string table =
      FormatTable({"name", "score", "city"},
                  {{"alpha", "0.5", "Oslo"}, {"b", "12.25", "St Louis"}});
  EXPECT_EQ(table,
            "name   score  city\n"
            "alpha    0.5  Oslo\n"
            "b      12.25  St Louis\n");
}

TEST(FormatTableTest, NumericLastColumnAndPlaceholders) {
  EXPECT_EQ(FormatTable({"k", "v"}, {{"a", "1.5"}, {"b", "-"}, {"c", "100"}}),
            "k    v\n"
            "a  1.5\n"
            "b    -\n"
            "c  100\n");
}

TEST(FormatTableTest, OneTextCellMakesTheColumnText) {
  EXPECT_EQ(FormatTable({"id", "value"}, {{"1", "10"}, {"22", "n/a"}}),
            "id  value\n"
            " 1  10\n"
            "22  n/a\n");
}

TEST(FormatTableTest, HeaderOnlyHasNoTrailingSpaces) {
  EXPECT_EQ(FormatTable({"a", "bb"}, {}), "a  bb\n");
}

TEST(FormatTableTest, NoTrailingSpacesOnAnyLine) {
  const std::string table =
      FormatTable({"metric", "value", "note"},
                  {{"r2", "0.81", "x"}, {"rmse", "1.5", "a longer note"}});
  EXPECT_THAT(table, Not(HasSubstr(" \n")));
  EXPECT_EQ(table.back(), '\n');
}

// --------------------------------------------------------------- FormatNumber

TEST(FormatNumberTest, SixSignificantDigits) {
  EXPECT_EQ(FormatNumber(0.912281), "0.912281");
  EXPECT_EQ(FormatNumber(0.91228149), "0.912281");
  EXPECT_EQ(FormatNumber(1.5e-7), "1.5e-07");
  EXPECT_EQ(FormatNumber(1234567.0), "1.23457e+06");
  EXPECT_EQ(FormatNumber(42.0), "42");
  EXPECT_EQ(FormatNumber(0.0), "0");
  EXPECT_EQ(FormatNumber(-2.5), "-2.5");
}

TEST(FormatNumberTest, NonFinite) {
  EXPECT_EQ(FormatNumber(kNaN), "nan");
  EXPECT_EQ(FormatNumber(kInf), "inf");
  EXPECT_EQ(FormatNumber(-kInf), "-inf");
}

// ------------------------------------------------------------------ TrainJson

v1::TrainResult SampleTrainResult() {
  v1::TrainResult r;
  r.set_name("prices");
  r.set_version(3);
  AddMetric(r.mutable_validation_metrics(), "r2", 0.81);
  AddMetric(r.mutable_validation_metrics(), "rmse", 1.5);
  AddMetric(r.mutable_validation_metrics(), "mae", kNaN);
  AddMetric(r.mutable_train_metrics(), "r2", 0.9);
  AddMetric(r.mutable_train_metrics(), "rmse", kInf);
  r.set_epochs(12);
  r.set_early_stopped(true);
  r.set_training_seconds(2.5);
  r.set_rows_train(80);
  r.set_rows_validation(20);
  r.set_rows_dropped(1);
  return r;
}

TEST(TrainJsonTest, KeysAndValues) {
  const std::string json = TrainJson(SampleTrainResult(), "job-7");
  EXPECT_EQ(json.find('\n'), std::string::npos);
  const Struct s = ParseJson(json);
  EXPECT_THAT(Keys(s),
              UnorderedElementsAre("name", "version", "job_id", "metrics",
                                   "metrics_on", "train_metrics", "epochs",
                                   "early_stopped",
                                   "training_seconds", "rows_train",
                                   "rows_validation", "rows_dropped",
                                   "rows_oversampled", "rows_augmented"));
  EXPECT_EQ(Field(s, "name").string_value(), "prices");
  EXPECT_EQ(Field(s, "version").number_value(), 3);
  EXPECT_EQ(Field(s, "job_id").string_value(), "job-7");
  EXPECT_EQ(Field(s, "metrics_on").string_value(), "validation");
  EXPECT_EQ(Field(s, "epochs").number_value(), 12);
  EXPECT_TRUE(Field(s, "early_stopped").bool_value());
  EXPECT_EQ(Field(s, "training_seconds").number_value(), 2.5);
  EXPECT_EQ(Field(s, "rows_train").number_value(), 80);
  EXPECT_EQ(Field(s, "rows_validation").number_value(), 20);
  EXPECT_EQ(Field(s, "rows_dropped").number_value(), 1);

  const Struct& metrics = Field(s, "metrics").struct_value();
  EXPECT_THAT(Keys(metrics), UnorderedElementsAre("r2", "rmse", "mae"));
  EXPECT_EQ(Field(metrics, "r2").number_value(), 0.81);
  EXPECT_EQ(Field(metrics, "rmse").number_value(), 1.5);
  EXPECT_EQ(Field(metrics, "mae").kind_case(), Value::kNullValue);

  const Struct& train = Field(s, "train_metrics").struct_value();
  EXPECT_THAT(Keys(train), UnorderedElementsAre("r2", "rmse"));
  EXPECT_EQ(Field(train, "r2").number_value(), 0.9);
  EXPECT_EQ(Field(train, "rmse").kind_case(), Value::kNullValue);
}

TEST(TrainJsonTest, WithoutValidationRowsMetricsAreTheTrainingOnes) {
  v1::TrainResult r = SampleTrainResult();
  r.clear_validation_metrics();
  const Struct s = ParseJson(TrainJson(r, "job-7"));
  EXPECT_EQ(Field(s, "metrics_on").string_value(), "train");
  const Struct& metrics = Field(s, "metrics").struct_value();
  EXPECT_THAT(Keys(metrics), UnorderedElementsAre("r2", "rmse"));
  EXPECT_EQ(Field(metrics, "r2").number_value(), 0.9);
}

TEST(TrainJsonTest, NonFiniteMetricsPrintAsNull) {
  const std::string json = TrainJson(SampleTrainResult(), "job-7");
  EXPECT_THAT(json, HasSubstr("\"mae\":null"));
  EXPECT_THAT(json, Not(HasSubstr("NaN")));
  EXPECT_THAT(json, Not(HasSubstr("nan")));
  EXPECT_THAT(json, Not(HasSubstr("Infinity")));
}

TEST(TrainJsonTest, EmptyMetricsAreEmptyObjects) {
  v1::TrainResult r;
  r.set_name("m");
  r.set_version(1);
  const Struct s = ParseJson(TrainJson(r, ""));
  EXPECT_EQ(Field(s, "metrics").kind_case(), Value::kStructValue);
  EXPECT_TRUE(Field(s, "metrics").struct_value().fields().empty());
  EXPECT_EQ(Field(s, "job_id").string_value(), "");
  EXPECT_FALSE(Field(s, "early_stopped").bool_value());
  EXPECT_EQ(Field(s, "early_stopped").kind_case(), Value::kBoolValue);
}

// --------------------------------------------------------------- EvaluateJson

v1::EvaluateResponse SampleClassifierEvaluation() {
  v1::EvaluateResponse r;
  r.set_name("pets");
  r.set_version(2);
  AddMetric(r.mutable_metrics(), "accuracy", 0.8);
  AddMetric(r.mutable_metrics(), "log_loss", kNaN);
  v1::ClassMetrics* cat = r.add_per_class();
  cat->set_label("cat");
  cat->set_precision(0.75);
  cat->set_recall(0.5);
  cat->set_f1(0.6);
  cat->set_support(6);
  v1::ClassMetrics* dog = r.add_per_class();
  dog->set_label("dog");
  dog->set_precision(0.875);
  dog->set_recall(0.25);
  dog->set_f1(kNaN);
  dog->set_support(9);
  r.mutable_confusion_matrix()->add_labels("cat");
  r.mutable_confusion_matrix()->add_labels("dog");
  for (int64_t c : {5, 1, 2, 7}) r.mutable_confusion_matrix()->add_counts(c);
  r.set_rows_used(15);
  r.set_rows_dropped(3);
  return r;
}

TEST(EvaluateJsonTest, Classifier) {
  const std::string json = EvaluateJson(SampleClassifierEvaluation());
  EXPECT_EQ(json.find('\n'), std::string::npos);
  const Struct s = ParseJson(json);
  EXPECT_THAT(Keys(s), UnorderedElementsAre("name", "version", "metrics",
                                            "rows_used", "rows_dropped",
                                            "per_class", "confusion_matrix"));
  EXPECT_EQ(Field(s, "name").string_value(), "pets");
  EXPECT_EQ(Field(s, "version").number_value(), 2);
  EXPECT_EQ(Field(s, "rows_used").number_value(), 15);
  EXPECT_EQ(Field(s, "rows_dropped").number_value(), 3);

  const Struct& metrics = Field(s, "metrics").struct_value();
  EXPECT_EQ(Field(metrics, "accuracy").number_value(), 0.8);
  EXPECT_EQ(Field(metrics, "log_loss").kind_case(), Value::kNullValue);

  const Struct& per_class = Field(s, "per_class").struct_value();
  EXPECT_THAT(Keys(per_class), UnorderedElementsAre("cat", "dog"));
  const Struct& cat = Field(per_class, "cat").struct_value();
  EXPECT_THAT(Keys(cat),
              UnorderedElementsAre("precision", "recall", "f1", "support"));
  EXPECT_EQ(Field(cat, "precision").number_value(), 0.75);
  EXPECT_EQ(Field(cat, "recall").number_value(), 0.5);
  EXPECT_EQ(Field(cat, "f1").number_value(), 0.6);
  EXPECT_EQ(Field(cat, "support").number_value(), 6);
  const Struct& dog = Field(per_class, "dog").struct_value();
  EXPECT_EQ(Field(dog, "precision").number_value(), 0.875);
  EXPECT_EQ(Field(dog, "f1").kind_case(), Value::kNullValue);
  EXPECT_EQ(Field(dog, "support").number_value(), 9);

  const Struct& cm = Field(s, "confusion_matrix").struct_value();
  EXPECT_THAT(Keys(cm), UnorderedElementsAre("labels", "counts"));
  const ListValue& labels = Field(cm, "labels").list_value();
  ASSERT_EQ(labels.values_size(), 2);
  EXPECT_EQ(labels.values(0).string_value(), "cat");
  EXPECT_EQ(labels.values(1).string_value(), "dog");
  const ListValue& counts = Field(cm, "counts").list_value();
  ASSERT_EQ(counts.values_size(), 2);
  const ListValue& row0 = counts.values(0).list_value();
  const ListValue& row1 = counts.values(1).list_value();
  ASSERT_EQ(row0.values_size(), 2);
  ASSERT_EQ(row1.values_size(), 2);
  EXPECT_EQ(row0.values(0).number_value(), 5);
  EXPECT_EQ(row0.values(1).number_value(), 1);
  EXPECT_EQ(row1.values(0).number_value(), 2);
  EXPECT_EQ(row1.values(1).number_value(), 7);
  EXPECT_THAT(json, HasSubstr("\"counts\":[[5,1],[2,7]]"));
}

TEST(EvaluateJsonTest, RegressionHasNoClassKeys) {
  v1::EvaluateResponse r;
  r.set_name("prices");
  r.set_version(4);
  AddMetric(r.mutable_metrics(), "r2", 0.5);
  AddMetric(r.mutable_metrics(), "rmse", 2.25);
  r.set_rows_used(10);
  const Struct s = ParseJson(EvaluateJson(r));
  EXPECT_THAT(Keys(s), UnorderedElementsAre("name", "version", "metrics",
                                            "rows_used", "rows_dropped"));
  const Struct& metrics = Field(s, "metrics").struct_value();
  EXPECT_EQ(Field(metrics, "r2").number_value(), 0.5);
  EXPECT_EQ(Field(metrics, "rmse").number_value(), 2.25);
  EXPECT_EQ(Field(s, "rows_dropped").number_value(), 0);
}

TEST(EvaluateJsonTest, MalformedConfusionMatrixIsLeftOut) {
  v1::EvaluateResponse r = SampleClassifierEvaluation();
  r.mutable_confusion_matrix()->add_counts(1);  // 5 counts for 2 labels
  const Struct s = ParseJson(EvaluateJson(r));
  EXPECT_EQ(s.fields().count("confusion_matrix"), 0u);
  EXPECT_EQ(s.fields().count("per_class"), 1u);
}

// ---------------------------------------------------------------- PredictJson

TEST(PredictJsonTest, Regression) {
  v1::PredictResponse r;
  r.set_name("prices");
  r.set_version(3);
  r.add_predictions()->set_value(1.5);
  r.add_predictions()->set_value(-2);
  r.add_predictions()->set_value(kNaN);
  const std::string json = PredictJson(r);
  EXPECT_EQ(json.find('\n'), std::string::npos);
  const Struct s = ParseJson(json);
  EXPECT_EQ(Field(s, "name").string_value(), "prices");
  EXPECT_EQ(Field(s, "version").number_value(), 3);
  const ListValue& predictions = Field(s, "predictions").list_value();
  ASSERT_EQ(predictions.values_size(), 3);
  const Struct& p0 = predictions.values(0).struct_value();
  EXPECT_THAT(Keys(p0), UnorderedElementsAre("value"));
  EXPECT_EQ(Field(p0, "value").number_value(), 1.5);
  EXPECT_EQ(Field(predictions.values(1).struct_value(), "value").number_value(),
            -2);
  EXPECT_EQ(Field(predictions.values(2).struct_value(), "value").kind_case(),
            Value::kNullValue);
}

TEST(PredictJsonTest, Classification) {
  v1::PredictResponse r;
  r.set_name("pets");
  r.set_version(1);
  r.add_class_labels("cat");
  r.add_class_labels("dog");
  v1::Prediction* p = r.add_predictions();
  p->set_label("dog");
  p->add_probabilities(0.25);
  p->add_probabilities(0.75);
  p = r.add_predictions();
  p->set_label("cat");
  p->add_probabilities(1.0);
  p->add_probabilities(0.0);
  const Struct s = ParseJson(PredictJson(r));
  const ListValue& predictions = Field(s, "predictions").list_value();
  ASSERT_EQ(predictions.values_size(), 2);

  const Struct& p0 = predictions.values(0).struct_value();
  EXPECT_THAT(Keys(p0), UnorderedElementsAre("label", "probabilities"));
  EXPECT_EQ(Field(p0, "label").string_value(), "dog");
  const Struct& probs0 = Field(p0, "probabilities").struct_value();
  EXPECT_THAT(Keys(probs0), UnorderedElementsAre("cat", "dog"));
  EXPECT_EQ(Field(probs0, "cat").number_value(), 0.25);
  EXPECT_EQ(Field(probs0, "dog").number_value(), 0.75);

  const Struct& p1 = predictions.values(1).struct_value();
  EXPECT_EQ(Field(p1, "label").string_value(), "cat");
  const Struct& probs1 = Field(p1, "probabilities").struct_value();
  EXPECT_EQ(Field(probs1, "cat").number_value(), 1.0);
  EXPECT_EQ(Field(probs1, "dog").number_value(), 0.0);
}

TEST(PredictJsonTest, NoPredictionsIsAnEmptyList) {
  v1::PredictResponse r;
  r.set_name("m");
  const Struct s = ParseJson(PredictJson(r));
  EXPECT_EQ(Field(s, "predictions").kind_case(), Value::kListValue);
  EXPECT_EQ(Field(s, "predictions").list_value().values_size(), 0);
}

// ------------------------------------------------------------------ ProtoJson

TEST(ProtoJsonTest, ProtoFieldNamesAndDefaults) {
  v1::Job job;
  job.set_job_id("job-4");
  job.set_state(v1::JOB_STATE_RUNNING);
  job.set_max_epochs(10);
  const std::string json = ProtoJson(job);
  EXPECT_EQ(json.find('\n'), std::string::npos);
  EXPECT_THAT(json, HasSubstr("\"job_id\":\"job-4\""));
  EXPECT_THAT(json, HasSubstr("\"state\":\"JOB_STATE_RUNNING\""));
  EXPECT_THAT(json, HasSubstr("\"max_epochs\":10"));
  EXPECT_THAT(json, HasSubstr("\"epoch\":0"));
}

// ---------------------------------------------------------------- Text output

TEST(PredictTextTest, Regression) {
  v1::PredictResponse r;
  r.add_predictions()->set_value(1.5);
  r.add_predictions()->set_value(-2);
  EXPECT_EQ(PredictText(r),
            "row  prediction\n"
            "  1         1.5\n"
            "  2          -2\n");
}

TEST(PredictTextTest, Classification) {
  v1::PredictResponse r;
  r.add_class_labels("no");
  r.add_class_labels("yes");
  v1::Prediction* p = r.add_predictions();
  p->set_label("yes");
  p->add_probabilities(0.25);
  p->add_probabilities(0.75);
  EXPECT_EQ(PredictText(r),
            "row  label  p(no)  p(yes)\n"
            "  1  yes     0.25    0.75\n");
}

TEST(JobTextTest, StateNameAndError) {
  v1::Job job;
  job.set_job_id("job-4");
  job.set_name("prices");
  job.set_state(v1::JOB_STATE_CANCELLED);
  job.set_epoch(3);
  job.set_max_epochs(10);
  job.set_train_loss(0.5);
  job.set_validation_loss(kNaN);
  job.mutable_error()->set_message("cancelled by the user");
  EXPECT_EQ(JobText(job),
            "job job-4 (model prices): cancelled, epoch 3/10, train loss 0.5, "
            "validation loss nan\n"
            "error: cancelled by the user\n");
}

// ------------------------------------------------------------------ EpochLine

TEST(EpochLineTest, AllPieces) {
  v1::EpochProgress e;
  e.set_epoch(12);
  e.set_max_epochs(200);
  e.set_train_loss(0.1234);
  e.set_validation_loss(0.2345);
  e.set_metric_name("r2");
  e.set_validation_metric(0.81);
  e.set_elapsed_seconds(3);
  e.set_remaining_seconds(45);
  EXPECT_EQ(EpochLine(e, 10),
            "epoch 12/200 [#---------] train 0.1234  val 0.2345  r2 0.81  3s "
            "elapsed, 45s left");
  const std::string line = EpochLine(e);  // the default bar width, 24
  EXPECT_THAT(line, HasSubstr("epoch 12/200 ["));
  EXPECT_THAT(line, HasSubstr("[#" + std::string(23, '-') + "]"));
  EXPECT_THAT(line, HasSubstr("train 0.1234"));
  EXPECT_THAT(line, HasSubstr("val 0.2345"));
  EXPECT_THAT(line, HasSubstr("r2 0.81"));
  EXPECT_THAT(line, HasSubstr("45s left"));
}

TEST(EpochLineTest, NoValidationAndLongDurations) {
  v1::EpochProgress e;
  e.set_epoch(100);
  e.set_max_epochs(200);
  e.set_train_loss(2.5);
  e.set_validation_loss(kNaN);
  e.set_metric_name("accuracy");
  e.set_validation_metric(kNaN);
  e.set_elapsed_seconds(125);
  e.set_remaining_seconds(3725);
  EXPECT_EQ(EpochLine(e, 4),
            "epoch 100/200 [##--] train 2.5  2m05s elapsed, 1h02m left");
}

TEST(EpochLineTest, UnknownRemainingTimeAndFullBar) {
  v1::EpochProgress e;
  e.set_epoch(5);
  e.set_max_epochs(5);
  e.set_train_loss(0.5);
  e.set_validation_loss(kNaN);
  e.set_elapsed_seconds(0);
  e.set_remaining_seconds(-1);
  EXPECT_EQ(EpochLine(e, 5), "epoch 5/5 [#####] train 0.5  0s elapsed, ? left");
}

// ----------------------------------------------------------------- UploadLine

TEST(UploadLineTest, Pieces) {
  const int64_t mib = 1024 * 1024;
  EXPECT_EQ(UploadLine(12 * mib, 40 * mib, 10),
            "upload 12.0/40.0 MiB [###-------]  30%");
  const std::string line = UploadLine(12 * mib, 40 * mib);
  EXPECT_THAT(line, HasSubstr("12.0/40.0 MiB"));
  EXPECT_THAT(line, HasSubstr("30%"));
  EXPECT_THAT(
      line, HasSubstr("[" + std::string(7, '#') + std::string(17, '-') + "]"));
}

TEST(UploadLineTest, EmptyAndComplete) {
  EXPECT_EQ(UploadLine(0, 0, 4), "upload 0.0/0.0 MiB [####] 100%");
  EXPECT_EQ(UploadLine(0, 3 * 1024 * 1024, 4),
            "upload 0.0/3.0 MiB [----]   0%");
  EXPECT_EQ(UploadLine(1536 * 1024, 1536 * 1024, 4),
            "upload 1.5/1.5 MiB [####] 100%");
}

// ---------------------------------------------------------- AppendPredictions

TEST(AppendPredictionsTest, Regression) {
  const CsvRecords records = MustSplit("a,b\n1,2\n3,4\n");
  v1::PredictResponse r;
  r.add_predictions()->set_value(1.5);
  r.add_predictions()->set_value(0.1);
  EXPECT_EQ(AppendPredictions(records, r),
            "a,b,prediction\n"
            "1,2,1.5\n"
            "3,4,0.10000000000000001\n");
}

TEST(AppendPredictionsTest, RegressionKeepsQuotedRecordsUnchanged) {
  const CsvRecords records =
      MustSplit("\xEF\xBB\xBFid,note\r\n1,\"x, \"\"y\"\"\nz\"\r\n2,w\r\n");
  v1::PredictResponse r;
  r.add_predictions()->set_value(-3);
  r.add_predictions()->set_value(1e21);
  EXPECT_EQ(AppendPredictions(records, r),
            "id,note,prediction\n"
            "1,\"x, \"\"y\"\"\nz\",-3\n"
            "2,w,1e+21\n");
}

TEST(AppendPredictionsTest, Classification) {
  const CsvRecords records = MustSplit("x\n1\n\"q,r\"\n");
  v1::PredictResponse r;
  r.add_class_labels("no");
  r.add_class_labels("a,b");
  v1::Prediction* p = r.add_predictions();
  p->set_label("no");
  p->add_probabilities(0.75);
  p->add_probabilities(0.25);
  p = r.add_predictions();
  p->set_label("a,b");
  p->add_probabilities(0.5);
  p->add_probabilities(0.5);
  EXPECT_EQ(AppendPredictions(records, r),
            "x,prediction,probability_no,\"probability_a,b\"\n"
            "1,no,0.75,0.25\n"
            "\"q,r\",\"a,b\",0.5,0.5\n");
}

TEST(AppendPredictionsTest, ClassificationLabelWithQuote) {
  const CsvRecords records = MustSplit("x\n1\n");
  v1::PredictResponse r;
  r.add_class_labels("5\" pipe");
  v1::Prediction* p = r.add_predictions();
  p->set_label("5\" pipe");
  p->add_probabilities(1);
  EXPECT_EQ(AppendPredictions(records, r),
            "x,prediction,\"probability_5\"\" pipe\"\n"
            "1,\"5\"\" pipe\",1\n");
}

TEST(AppendPredictionsTest, OutputSplitsBackIntoTheSameRecords) {
  const CsvRecords records = MustSplit("a,b\n\"m\nn\",2\n3,\"o,p\"\n");
  v1::PredictResponse r;
  r.add_class_labels("x,y");
  r.add_class_labels("z");
  for (const char* label : {"x,y", "z"}) {
    v1::Prediction* p = r.add_predictions();
    p->set_label(label);
    p->add_probabilities(0.5);
    p->add_probabilities(0.5);
  }
  const std::string out = AppendPredictions(records, r);
  const CsvRecords again = MustSplit(out);
  EXPECT_EQ(again.header, "a,b,prediction,\"probability_x,y\",probability_z");
  ASSERT_EQ(again.rows.size(), 2u);
  EXPECT_EQ(again.rows[0], "\"m\nn\",2,\"x,y\",0.5,0.5");
  EXPECT_EQ(again.rows[1], "3,\"o,p\",z,0.5,0.5");
}

}  // namespace
}  // namespace modelserver::client
