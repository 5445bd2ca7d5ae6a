// File: client/explain_output.h
// How modelctl prints explanations (`predict --explain`) and permutation
// feature importance (`get`, `evaluate --importance`); docs/cli.md.
// Pure functions of the responses.
#ifndef MODELSERVER_CLIENT_EXPLAIN_OUTPUT_H_
#define MODELSERVER_CLIENT_EXPLAIN_OUTPUT_H_

#include <string>

#include "google/protobuf/struct.pb.h"
#include "modelserver/v1/model_service.pb.h"

namespace modelserver::client {

namespace v1 = ::modelserver::v1;

// A table with one line per row (regression, 2 classes) or per row and
// class (k >= 3 classes): row, the prediction or label (and, for classes,
// the class and its probability), the score, the base value, then one
// column per raw input column with its contribution.
std::string ExplainText(const v1::PredictResponse& response);

// "permutation importance: r2 drop on 60 training rows, 5 repeats (seed
// 42, baseline 0.998)" and a table column / mean / std, most important
// first. Empty for a report without columns.
std::string ImportanceText(const v1::FeatureImportanceReport& report);

// The report as a JSON value (printed with the rest of the object by
// protobuf's JSON printer; proto field names).
google::protobuf::Value ImportanceJson(
    const v1::FeatureImportanceReport& report);
// The explanation (columns, score, score_labels, base_values) as a JSON
// object, and one prediction's contributions: {column: value} for one
// score, {class: {column: value}} for one score per class.
google::protobuf::Value ExplanationJson(const v1::Explanation& explanation);
google::protobuf::Value ContributionsJson(const v1::Explanation& explanation,
                                          const v1::Prediction& prediction);

}  // namespace modelserver::client

#endif  // MODELSERVER_CLIENT_EXPLAIN_OUTPUT_H_
