// File: client/output.h
// What modelctl prints: aligned text tables for people, one JSON object per
// command for scripts (`--json`, via protobuf's JSON printer), progress
// lines, and the predict output CSV. Pure functions of the responses.
//
// JSON shapes (the contract scripts rely on; see docs/cli.md):
//   train    {"name","version","job_id","metrics":{...},...}
//   evaluate {"name","version","metrics":{...},"confusion_matrix":...}
//   predict  {"predictions":[{"value":X} | {"label":L,"probabilities":{..}}]}
// Metric values that are not finite print as null.
#ifndef MODELSERVER_CLIENT_OUTPUT_H_
#define MODELSERVER_CLIENT_OUTPUT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "client/csv_records.h"
#include "google/protobuf/message.h"
#include "google/protobuf/struct.pb.h"
#include "modelserver/v1/model_service.pb.h"

namespace modelserver::client {

// Columns padded to their widest cell, separated by two spaces; cells that
// look numeric are right-aligned. Ends with a newline.
std::string FormatTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows);
// Six significant digits ("0.912281", "1.5e-07"); "nan" / "inf" as such.
std::string FormatNumber(double value);

// JSON values for the hand-built --json outputs: a number (NaN and the
// infinities, which JSON lacks, as null), a string, a list, an object.
google::protobuf::Value JsonNumber(double x);
google::protobuf::Value JsonText(absl::string_view s);
google::protobuf::Value JsonList(google::protobuf::ListValue l);
google::protobuf::Value JsonObject(google::protobuf::Struct s);

// Any response as JSON (proto field names, one line).
std::string ProtoJson(const google::protobuf::Message& message);
std::string TrainJson(const v1::TrainResult& result, absl::string_view job_id);
std::string EvaluateJson(const v1::EvaluateResponse& response);
std::string PredictJson(const v1::PredictResponse& response);

std::string TrainText(const v1::TrainResult& result, absl::string_view job_id);
std::string EvaluateText(const v1::EvaluateResponse& response);
// Row number, then the value, or the label and one column per class.
std::string PredictText(const v1::PredictResponse& response);
std::string ModelsText(const v1::ListModelsResponse& response);
std::string ModelText(const v1::ModelInfo& info);
std::string JobsText(const v1::ListJobsResponse& response);
std::string JobText(const v1::Job& job);

// "epoch 12/200 [#####-----] train 0.1234  val 0.2345  r2 0.81  2s elapsed,
// 31s left" (val and the metric only when finite).
std::string EpochLine(const v1::EpochProgress& epoch, int bar_width = 24);
// "upload 12.0/40.0 MiB [###-------]  30%".
std::string UploadLine(int64_t sent, int64_t total, int bar_width = 24);

// The input CSV with the prediction column(s) appended: `prediction` for
// regression; `prediction` (the label) and `probability_<label>` per class
// for classification. `response` holds one prediction per row of `records`.
std::string AppendPredictions(const CsvRecords& records,
                              const v1::PredictResponse& response);

}  // namespace modelserver::client

#endif  // MODELSERVER_CLIENT_OUTPUT_H_
