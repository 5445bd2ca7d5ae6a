#include "client/commands.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <tuple>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "client/csv_records.h"
#include "client/output.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/support/client_interceptor.h"

namespace modelserver::client {
namespace {

constexpr int kOk = 0;
constexpr int kFailed = 1;
constexpr int kUsage = 2;

const char* CodeName(int code) {
  static constexpr const char* kNames[] = {"OK",
                                           "CANCELLED",
                                           "UNKNOWN",
                                           "INVALID_ARGUMENT",
                                           "DEADLINE_EXCEEDED",
                                           "NOT_FOUND",
                                           "ALREADY_EXISTS",
                                           "PERMISSION_DENIED",
                                           "RESOURCE_EXHAUSTED",
                                           "FAILED_PRECONDITION",
                                           "ABORTED",
                                           "OUT_OF_RANGE",
                                           "UNIMPLEMENTED",
                                           "INTERNAL",
                                           "UNAVAILABLE",
                                           "DATA_LOSS",
                                           "UNAUTHENTICATED"};
  if (code < 0 || code >= static_cast<int>(std::size(kNames))) return "UNKNOWN";
  return kNames[code];
}

int Fail(Context& c, int code, const std::string& message) {
  *c.err << "modelctl: " << CodeName(code) << ": " << message << std::endl;
  return kFailed;
}
int Fail(Context& c, const grpc::Status& s) {
  return Fail(c, static_cast<int>(s.error_code()), s.error_message());
}
int Fail(Context& c, const absl::Status& s) {
  return Fail(c, static_cast<int>(s.code()), std::string(s.message()));
}
int Usage(Context& c, const absl::Status& s) {
  *c.err << "modelctl: " << s.message() << std::endl;
  return kUsage;
}

// Redraws one status line on a terminal.
void Progress(Context& c, const std::string& line) {
  if (c.progress) *c.err << "\r" << line << "\x1b[K" << std::flush;
}
void EndProgress(Context& c) {
  if (c.progress) *c.err << "\r\x1b[K" << std::flush;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot open '", path, "': ", std::strerror(errno)));
  }
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  if (in.bad()) {
    return absl::DataLossError(absl::StrCat("cannot read '", path, "'"));
  }
  return text;
}

// Streams `path` to UploadDataset in chunks; returns the upload id.
absl::StatusOr<std::string> Upload(Context& c, const std::string& path,
                                   int64_t size) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot open '", path, "': ", std::strerror(errno)));
  }
  grpc::ClientContext ctx;
  v1::UploadResponse response;
  std::unique_ptr<grpc::ClientWriter<v1::UploadChunk>> writer =
      c.stub->UploadDataset(&ctx, &response);
  std::string buffer(static_cast<size_t>(c.upload_chunk_bytes), '\0');
  int64_t sent = 0;
  v1::UploadChunk chunk;
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const std::streamsize n = in.gcount();
    if (n <= 0) break;
    chunk.set_data(buffer.data(), static_cast<size_t>(n));
    if (!writer->Write(chunk)) break;  // the server ended the call: see Finish
    sent += n;
    Progress(c, UploadLine(sent, size));
  }
  if (in.bad()) {
    ctx.TryCancel();
    writer->Finish();
    EndProgress(c);
    return absl::DataLossError(absl::StrCat("cannot read '", path, "'"));
  }
  writer->WritesDone();
  const grpc::Status status = writer->Finish();
  EndProgress(c);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        absl::StrCat("upload of '", path,
                                     "' failed: ", status.error_message()));
  }
  return response.upload_id();
}

// The Dataset for a local CSV file: inline when small, uploaded otherwise.
// A usage error (bad --type) comes back as INVALID_ARGUMENT with
// `*usage` set.
absl::StatusOr<v1::Dataset> DatasetFromFile(Context& c, const DataFlags& data,
                                            bool* usage) {
  v1::Dataset dataset;
  for (const std::string& spec : data.types) {
    absl::Status s = AddColumnType(spec, dataset.mutable_column_types());
    if (!s.ok()) {
      *usage = true;
      return s;
    }
  }
  std::ifstream probe(data.path, std::ios::binary | std::ios::ate);
  if (!probe) {
    return absl::NotFoundError(
        absl::StrCat("cannot open '", data.path, "': ", std::strerror(errno)));
  }
  const int64_t size = static_cast<int64_t>(probe.tellg());
  probe.close();
  if (size <= c.inline_limit_bytes) {
    absl::StatusOr<std::string> text = ReadFile(data.path);
    if (!text.ok()) return text.status();
    dataset.set_csv(*std::move(text));
  } else {
    absl::StatusOr<std::string> id = Upload(c, data.path, size);
    if (!id.ok()) return id.status();
    dataset.set_upload_id(*id);
  }
  return dataset;
}

// Follows a Train or WatchJob stream to its end.
int FollowJob(Context& c, grpc::ClientReaderInterface<v1::TrainEvent>* reader,
              bool detach, bool* detached) {
  v1::TrainEvent event;
  std::string job_id;
  bool failed_event = false;
  int rc = kFailed;
  std::optional<v1::TuneSummary> tuning;  // Tune: printed with the result
  while (reader->Read(&event)) {
    if (!event.job_id().empty()) job_id = event.job_id();
    switch (event.event_case()) {
      case v1::TrainEvent::kAccepted:
        if (detach) {
          if (c.json) {
            *c.out << ProtoJson(event.accepted()) << std::endl;
          } else {
            *c.out << "job " << job_id << " accepted for model "
                   << event.accepted().name()
                   << " (follow it with: modelctl watch " << job_id << ")"
                   << std::endl;
          }
          *detached = true;
          return kOk;
        }
        if (!c.json && c.progress) {
          *c.err << "job " << job_id << " for model " << event.accepted().name()
                 << std::endl;
        }
        break;
      case v1::TrainEvent::kEpoch:
        Progress(c, EpochLine(event.epoch()));
        break;
      case v1::TrainEvent::kResumed:
        if (!c.json && c.progress) {
          const v1::JobResumed& r = event.resumed();
          *c.err << "job " << job_id << " resumed after a server restart "
                 << (r.from_epoch() > 0
                         ? absl::StrCat("from the checkpoint of epoch ",
                                        r.from_epoch())
                         : std::string("from the start"))
                 << (r.note().empty() ? "" : absl::StrCat(": ", r.note()))
                 << std::endl;
        }
        break;
      case v1::TrainEvent::kTuneProgress:
        Progress(c, TuneLine(event.tune_progress()));
        break;
      case v1::TrainEvent::kTuneSummary:
        EndProgress(c);
        tuning = event.tune_summary();
        if (!c.json) *c.out << TuneSummaryText(*tuning) << "\n";
        break;
      case v1::TrainEvent::kResult:
        EndProgress(c);
        if (c.json && tuning.has_value()) {
          *c.out << "{\"job_id\":\"" << job_id
                 << "\",\"tuning\":" << ProtoJson(*tuning)
                 << ",\"result\":" << ProtoJson(event.result()) << "}\n";
          c.out->flush();
          rc = kOk;
          break;
        }
        *c.out << (c.json ? TrainJson(event.result(), job_id) + "\n"
                          : TrainText(event.result(), job_id));
        c.out->flush();
        rc = kOk;
        break;
      case v1::TrainEvent::kFailed:
        EndProgress(c);
        Fail(c, event.failed().code(),
             absl::StrCat("job ", job_id, ": ", event.failed().message()));
        failed_event = true;
        break;
      default:
        break;
    }
  }
  EndProgress(c);
  const grpc::Status status = reader->Finish();
  if (!status.ok() && !failed_event) return Fail(c, status);
  return rc;
}

}  // namespace

namespace {

// Adds "authorization: Bearer <token>" to every call of the channel.
class TokenInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit TokenInterceptor(const std::string* value) : value_(value) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::
                PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->insert({"authorization", *value_});
    }
    methods->Proceed();
  }

 private:
  const std::string* value_;
};

class TokenInterceptorFactory final
    : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit TokenInterceptorFactory(std::string token)
      : value_("Bearer " + std::move(token)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* /*info*/) override {
    return new TokenInterceptor(&value_);
  }

 private:
  const std::string value_;
};

absl::StatusOr<std::string> ReadPem(const char* flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " '", path, "' cannot be read"));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::Channel>> Connect(
    const ConnectOptions& options) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  args.SetMaxSendMessageSize(-1);
  std::shared_ptr<grpc::ChannelCredentials> credentials =
      grpc::InsecureChannelCredentials();
  if (options.tls || !options.ca_file.empty() || !options.cert_file.empty() ||
      !options.key_file.empty()) {
    if (options.cert_file.empty() != options.key_file.empty()) {
      return absl::InvalidArgumentError(
          "--tls-cert and --tls-key go together: give both or neither");
    }
    grpc::SslCredentialsOptions ssl;
    for (const auto& [flag, path, out] :
         {std::tuple{"--tls-ca", &options.ca_file, &ssl.pem_root_certs},
          std::tuple{"--tls-cert", &options.cert_file, &ssl.pem_cert_chain},
          std::tuple{"--tls-key", &options.key_file, &ssl.pem_private_key}}) {
      if (path->empty()) continue;
      absl::StatusOr<std::string> pem = ReadPem(flag, *path);
      if (!pem.ok()) return pem.status();
      *out = *std::move(pem);
    }
    credentials = grpc::SslCredentials(ssl);
    if (!options.server_name.empty()) {
      args.SetSslTargetNameOverride(options.server_name);
    }
  }
  if (options.token.empty()) {
    return grpc::CreateCustomChannel(options.address, credentials, args);
  }
  std::vector<std::unique_ptr<
      grpc::experimental::ClientInterceptorFactoryInterface>>
      interceptors;
  interceptors.push_back(
      std::make_unique<TokenInterceptorFactory>(options.token));
  return grpc::experimental::CreateCustomChannelWithInterceptors(
      options.address, credentials, args, std::move(interceptors));
}

int Train(Context& c, const std::string& name, const DataFlags& data,
          const TrainFlags& flags, bool detach) {
  v1::TrainRequest request;
  request.set_name(name);
  absl::StatusOr<v1::TrainOptions> options = BuildTrainOptions(flags);
  if (!options.ok()) return Usage(c, options.status());
  *request.mutable_options() = *std::move(options);
  absl::Status promotion = ApplyPromotionFlags(flags.promotion, &request);
  if (!promotion.ok()) return Usage(c, promotion);
  bool usage = false;
  absl::StatusOr<v1::Dataset> dataset = DatasetFromFile(c, data, &usage);
  if (!dataset.ok()) {
    return usage ? Usage(c, dataset.status()) : Fail(c, dataset.status());
  }
  *request.mutable_data() = *std::move(dataset);
  if (!flags.promotion.holdout.empty()) {
    // Read with the same --type overrides as --data.
    DataFlags holdout = data;
    holdout.path = flags.promotion.holdout;
    absl::StatusOr<v1::Dataset> rows = DatasetFromFile(c, holdout, &usage);
    if (!rows.ok()) return Fail(c, rows.status());
    *request.mutable_holdout() = *std::move(rows);
  }
  grpc::ClientContext ctx;
  std::unique_ptr<grpc::ClientReader<v1::TrainEvent>> reader =
      c.stub->Train(&ctx, request);
  bool detached = false;
  const int rc = FollowJob(c, reader.get(), detach, &detached);
  // Leaving early cancels the call, not the job.
  if (detached) ctx.TryCancel();
  return rc;
}

int Tune(Context& c, const std::string& name, const DataFlags& data,
         const TuneFlags& flags, bool detach) {
  absl::StatusOr<v1::TuneRequest> built = BuildTuneRequest(flags);
  if (!built.ok()) return Usage(c, built.status());
  v1::TuneRequest request = *std::move(built);
  request.set_name(name);
  bool usage = false;
  absl::StatusOr<v1::Dataset> dataset = DatasetFromFile(c, data, &usage);
  if (!dataset.ok()) {
    return usage ? Usage(c, dataset.status()) : Fail(c, dataset.status());
  }
  *request.mutable_data() = *std::move(dataset);
  grpc::ClientContext ctx;
  std::unique_ptr<grpc::ClientReader<v1::TrainEvent>> reader =
      c.stub->Tune(&ctx, request);
  bool detached = false;
  const int rc = FollowJob(c, reader.get(), detach, &detached);
  if (detached) ctx.TryCancel();
  return rc;
}

int Watch(Context& c, const std::string& job_id) {
  v1::WatchJobRequest request;
  request.set_job_id(job_id);
  grpc::ClientContext ctx;
  std::unique_ptr<grpc::ClientReader<v1::TrainEvent>> reader =
      c.stub->WatchJob(&ctx, request);
  bool detached = false;
  return FollowJob(c, reader.get(), /*detach=*/false, &detached);
}

int Evaluate(Context& c, const std::string& name, const VersionRef& version,
             const DataFlags& data, const EvaluateOptions& options) {
  v1::EvaluateRequest request;
  request.set_name(name);
  request.set_version(version.version);
  request.set_version_label(version.label);
  if (options.importance) {
    request.set_importance(true);
    if (options.importance_repeats != 0) {
      request.mutable_importance_options()->set_repeats(
          options.importance_repeats);
    }
  } else if (options.importance_repeats != 0) {
    return Usage(c, absl::InvalidArgumentError(
                        "--importance-repeats needs --importance"));
  }
  bool usage = false;
  absl::StatusOr<v1::Dataset> dataset = DatasetFromFile(c, data, &usage);
  if (!dataset.ok()) {
    return usage ? Usage(c, dataset.status()) : Fail(c, dataset.status());
  }
  *request.mutable_data() = *std::move(dataset);
  grpc::ClientContext ctx;
  v1::EvaluateResponse response;
  const grpc::Status status = c.stub->Evaluate(&ctx, request, &response);
  if (!status.ok()) return Fail(c, status);
  *c.out << (c.json ? EvaluateJson(response) + "\n" : EvaluateText(response));
  return kOk;
}

int Predict(Context& c, const std::string& name, const VersionRef& version,
            const std::string& path, const std::string& output,
            bool explain) {
  if (explain && !output.empty()) {
    return Usage(c, absl::InvalidArgumentError(
                        "--explain prints the contributions: use it without "
                        "--output"));
  }
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return Fail(c, text.status());
  absl::StatusOr<CsvRecords> records = SplitCsvRecords(*text);
  if (!records.ok()) {
    return Fail(c, absl::InvalidArgumentError(
                       absl::StrCat(path, ": ", records.status().message())));
  }
  if (records->rows.empty()) {
    return Fail(c, absl::InvalidArgumentError(
                       absl::StrCat(path, ": no rows to predict")));
  }
  // Big files go in several requests, all against the version that
  // answered the first one.
  v1::PredictResponse all;
  const auto batches =
      BatchRows(*records, static_cast<size_t>(c.predict_batch_bytes));
  size_t done = 0;
  for (const auto& [begin, end] : batches) {
    v1::PredictRequest request;
    request.set_name(name);
    if (all.version() > 0) {
      request.set_version(all.version());
    } else {
      request.set_version(version.version);
      request.set_version_label(version.label);
    }
    request.set_csv(BatchText(*records, begin, end));
    request.set_explain(explain);
    grpc::ClientContext ctx;
    v1::PredictResponse response;
    const grpc::Status status = c.stub->Predict(&ctx, request, &response);
    if (!status.ok()) {
      EndProgress(c);
      if (batches.size() > 1 && begin > 0) {
        return Fail(c, static_cast<int>(status.error_code()),
                    absl::StrCat("rows ", begin + 1, "..", end, ": ",
                                 status.error_message()));
      }
      return Fail(c, status);
    }
    if (response.predictions_size() != static_cast<int>(end - begin)) {
      EndProgress(c);
      return Fail(
          c, grpc::StatusCode::INTERNAL,
          absl::StrCat("the server returned ", response.predictions_size(),
                       " predictions for ", end - begin, " rows"));
    }
    if (all.version() == 0) {
      all.set_name(response.name());
      all.set_version(response.version());
      *all.mutable_class_labels() = response.class_labels();
      if (response.has_explanation()) {
        *all.mutable_explanation() = response.explanation();
      }
    }
    for (v1::Prediction& p : *response.mutable_predictions()) {
      *all.add_predictions() = std::move(p);
    }
    done = end;
    if (batches.size() > 1) {
      Progress(c, absl::StrCat("predicted ", done, "/", records->rows.size(),
                               " rows"));
    }
  }
  EndProgress(c);
  if (!output.empty()) {
    std::ofstream out(output, std::ios::binary | std::ios::trunc);
    out << AppendPredictions(*records, all);
    out.close();
    if (!out) {
      return Fail(
          c, absl::DataLossError(absl::StrCat("cannot write '", output,
                                              "': ", std::strerror(errno))));
    }
  }
  if (c.json) {
    *c.out << PredictJson(all) << "\n";
  } else if (!output.empty()) {
    *c.out << "wrote " << all.predictions_size() << " predictions of "
           << all.name() << " version " << all.version() << " to " << output
           << "\n";
  } else {
    *c.out << PredictText(all);
  }
  return kOk;
}

int List(Context& c) {
  grpc::ClientContext ctx;
  v1::ListModelsResponse response;
  const grpc::Status status =
      c.stub->ListModels(&ctx, v1::ListModelsRequest(), &response);
  if (!status.ok()) return Fail(c, status);
  *c.out << (c.json ? ProtoJson(response) + "\n" : ModelsText(response));
  return kOk;
}

int Get(Context& c, const std::string& name, int64_t version) {
  v1::GetModelRequest request;
  request.set_name(name);
  request.set_version(version);
  grpc::ClientContext ctx;
  v1::ModelInfo response;
  const grpc::Status status = c.stub->GetModel(&ctx, request, &response);
  if (!status.ok()) return Fail(c, status);
  *c.out << (c.json ? ProtoJson(response) + "\n" : ModelText(response));
  return kOk;
}

int Delete(Context& c, const std::string& name, int64_t version) {
  v1::DeleteModelRequest request;
  request.set_name(name);
  request.set_version(version);
  grpc::ClientContext ctx;
  v1::DeleteModelResponse response;
  const grpc::Status status = c.stub->DeleteModel(&ctx, request, &response);
  if (!status.ok()) return Fail(c, status);
  if (c.json) {
    *c.out << ProtoJson(response) << "\n";
  } else {
    *c.out << "deleted " << name << " version"
           << (response.deleted_versions_size() == 1 ? "" : "s");
    for (int64_t v : response.deleted_versions()) *c.out << " " << v;
    *c.out << "\n";
  }
  return kOk;
}

int SetLabel(Context& c, const std::string& name, const std::string& label,
             int64_t version) {
  v1::SetLabelRequest request;
  request.set_name(name);
  request.set_label(label);
  request.set_version(version);
  grpc::ClientContext ctx;
  v1::ModelInfo response;
  const grpc::Status status = c.stub->SetLabel(&ctx, request, &response);
  if (!status.ok()) return Fail(c, status);
  *c.out << (c.json ? ProtoJson(response) + "\n" : ModelText(response));
  return kOk;
}

int RemoveLabel(Context& c, const std::string& name, const std::string& label) {
  v1::RemoveLabelRequest request;
  request.set_name(name);
  request.set_label(label);
  grpc::ClientContext ctx;
  v1::ModelInfo response;
  const grpc::Status status = c.stub->RemoveLabel(&ctx, request, &response);
  if (!status.ok()) return Fail(c, status);
  *c.out << (c.json ? ProtoJson(response) + "\n" : ModelText(response));
  return kOk;
}

int Health(Context& c, const std::string& service) {
  auto stub = grpc::health::v1::Health::NewStub(c.channel);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status = stub->Check(&ctx, request, &response);
  if (!status.ok()) return Fail(c, status);
  const std::string state =
      grpc::health::v1::HealthCheckResponse::ServingStatus_Name(
          response.status());
  if (c.json) {
    *c.out << ProtoJson(response) << "\n";
  } else {
    *c.out << state << "\n";
  }
  return response.status() == grpc::health::v1::HealthCheckResponse::SERVING
             ? kOk
             : 1;
}

int Jobs(Context& c) {
  grpc::ClientContext ctx;
  v1::ListJobsResponse response;
  const grpc::Status status =
      c.stub->ListJobs(&ctx, v1::ListJobsRequest(), &response);
  if (!status.ok()) return Fail(c, status);
  *c.out << (c.json ? ProtoJson(response) + "\n" : JobsText(response));
  return kOk;
}

int Cancel(Context& c, const std::string& job_id) {
  v1::CancelJobRequest request;
  request.set_job_id(job_id);
  grpc::ClientContext ctx;
  v1::Job response;
  const grpc::Status status = c.stub->CancelJob(&ctx, request, &response);
  if (!status.ok()) return Fail(c, status);
  *c.out << (c.json ? ProtoJson(response) + "\n" : JobText(response));
  return kOk;
}

}  // namespace modelserver::client
