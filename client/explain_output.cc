#include "client/explain_output.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/output.h"

namespace modelserver::client {
namespace {

using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;

// The contribution of column c to score s of `p`, or NaN when absent.
double Contribution(const v1::Explanation& e, const v1::Prediction& p, int s,
                    int c) {
  const int i = s * e.columns_size() + c;
  return i < p.contributions_size() ? p.contributions(i) : std::nan("");
}

}  // namespace

std::string ExplainText(const v1::PredictResponse& r) {
  const v1::Explanation& e = r.explanation();
  const int scores = e.base_values_size();
  const bool classification = r.class_labels_size() > 0;
  std::vector<std::string> header = {"row"};
  if (!classification) {
    header.push_back("prediction");
  } else {
    header.push_back("label");
    header.push_back("class");
    header.push_back("probability");
  }
  header.push_back(e.score());
  header.push_back("base");
  for (const std::string& c : e.columns()) header.push_back(c);
  std::vector<std::vector<std::string>> rows;
  for (int i = 0; i < r.predictions_size(); ++i) {
    const v1::Prediction& p = r.predictions(i);
    for (int s = 0; s < scores; ++s) {
      std::vector<std::string> row = {absl::StrCat(i + 1)};
      if (!classification) {
        row.push_back(FormatNumber(p.value()));
      } else {
        const std::string& cls =
            s < e.score_labels_size() ? e.score_labels(s) : std::string("?");
        int k = 0;
        while (k < r.class_labels_size() && r.class_labels(k) != cls) ++k;
        row.push_back(p.label());
        row.push_back(cls);
        row.push_back(k < p.probabilities_size()
                          ? FormatNumber(p.probabilities(k))
                          : std::string("-"));
      }
      row.push_back(s < p.scores_size() ? FormatNumber(p.scores(s))
                                        : std::string("-"));
      row.push_back(FormatNumber(e.base_values(s)));
      for (int c = 0; c < e.columns_size(); ++c) {
        row.push_back(FormatNumber(Contribution(e, p, s, c)));
      }
      rows.push_back(std::move(row));
    }
  }
  return FormatTable(header, rows);
}

std::string ImportanceText(const v1::FeatureImportanceReport& r) {
  if (r.columns_size() == 0) return "";
  std::string out = absl::StrFormat(
      "permutation importance: %s drop on %d %s rows, %d repeats (seed %d, "
      "baseline %s)\n",
      r.metric(), r.rows(), r.data(), r.repeats(), r.seed(),
      FormatNumber(r.baseline()));
  std::vector<const v1::FeatureImportance*> order;
  for (const v1::FeatureImportance& c : r.columns()) order.push_back(&c);
  std::stable_sort(
      order.begin(), order.end(),
      [](const v1::FeatureImportance* a, const v1::FeatureImportance* b) {
        return a->mean() > b->mean();
      });
  std::vector<std::vector<std::string>> rows;
  for (const v1::FeatureImportance* c : order) {
    rows.push_back(
        {c->column(), FormatNumber(c->mean()), FormatNumber(c->std())});
  }
  absl::StrAppend(&out, FormatTable({"column", "mean", "std"}, rows));
  return out;
}

Value ImportanceJson(const v1::FeatureImportanceReport& r) {
  Struct s;
  auto& f = *s.mutable_fields();
  f["metric"] = JsonText(r.metric());
  f["baseline"] = JsonNumber(r.baseline());
  f["data"] = JsonText(r.data());
  f["rows"] = JsonNumber(static_cast<double>(r.rows()));
  f["repeats"] = JsonNumber(r.repeats());
  f["seed"] = JsonNumber(static_cast<double>(r.seed()));
  ListValue columns;
  for (const v1::FeatureImportance& c : r.columns()) {
    Struct one;
    auto& g = *one.mutable_fields();
    g["column"] = JsonText(c.column());
    g["mean"] = JsonNumber(c.mean());
    g["std"] = JsonNumber(c.std());
    ListValue drops;
    for (double d : c.drops()) *drops.add_values() = JsonNumber(d);
    g["drops"] = JsonList(std::move(drops));
    *columns.add_values() = JsonObject(std::move(one));
  }
  f["columns"] = JsonList(std::move(columns));
  return JsonObject(std::move(s));
}

Value ExplanationJson(const v1::Explanation& e) {
  Struct s;
  auto& f = *s.mutable_fields();
  f["score"] = JsonText(e.score());
  ListValue columns, labels, base;
  for (const std::string& c : e.columns()) *columns.add_values() = JsonText(c);
  for (const std::string& l : e.score_labels()) *labels.add_values() = JsonText(l);
  for (double b : e.base_values()) *base.add_values() = JsonNumber(b);
  f["columns"] = JsonList(std::move(columns));
  f["score_labels"] = JsonList(std::move(labels));
  f["base_values"] = JsonList(std::move(base));
  return JsonObject(std::move(s));
}

Value ContributionsJson(const v1::Explanation& e, const v1::Prediction& p) {
  auto block = [&](int s) {
    Struct b;
    for (int c = 0; c < e.columns_size(); ++c) {
      (*b.mutable_fields())[e.columns(c)] = JsonNumber(Contribution(e, p, s, c));
    }
    return JsonObject(std::move(b));
  };
  if (e.base_values_size() <= 1) return block(0);
  Struct per_class;
  for (int s = 0; s < e.base_values_size() && s < e.score_labels_size(); ++s) {
    (*per_class.mutable_fields())[e.score_labels(s)] = block(s);
  }
  return JsonObject(std::move(per_class));
}

}  // namespace modelserver::client
