#include "server/http_server.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <thread>
#include <limits>
#include <utility>

#include "CivetServer.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/util/status_macros.h"
#include "nlohmann/json.hpp"
#include "server/log.h"

namespace modelserver::server {
namespace {

using nlohmann::json;

std::string Dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

absl::Status JsonError(absl::string_view where, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(where, ": ", what));
}

const char* TypeName(const json& j) { return j.type_name(); }

bool IsIntegerType(const std::string& datatype) {
  return absl::StartsWith(datatype, "INT") || absl::StartsWith(datatype, "UINT");
}

// Appends the elements of `data` (flat or nested, at most as deep as the
// tensor's shape: the recursion is bounded by it) to `t`.
absl::Status Flatten(const json& data, const std::string& where, size_t depth,
                     oip::Tensor* t) {
  if (data.is_array()) {
    if (depth >= t->shape.size()) {
      return JsonError(where, absl::StrCat("\"data\" is nested deeper than "
                                           "its shape's ", t->shape.size(),
                                           " dimensions"));
    }
    for (const json& e : data) RETURN_IF_ERROR(Flatten(e, where, depth + 1, t));
    return absl::OkStatus();
  }
  const size_t index = t->datatype == "BYTES" ? t->texts.size()
                                              : t->numbers.size();
  if (t->datatype == "BYTES") {
    if (data.is_string()) {
      t->texts.push_back(data.get<std::string>());
    } else if (data.is_null()) {
      t->texts.emplace_back();  // missing
    } else {
      return JsonError(where, absl::StrCat("element ", index, " is a ",
                                           TypeName(data),
                                           "; datatype BYTES takes strings"));
    }
    return absl::OkStatus();
  }
  if (data.is_null()) {
    t->numbers.push_back(std::numeric_limits<double>::quiet_NaN());
  } else if (data.is_boolean()) {
    t->numbers.push_back(data.get<bool>() ? 1.0 : 0.0);
  } else if (data.is_number()) {
    const double v = data.get<double>();
    if (IsIntegerType(t->datatype) && !data.is_number_integer()) {
      return JsonError(where, absl::StrCat("element ", index, " is ", v,
                                           "; datatype ", t->datatype,
                                           " takes integers"));
    }
    t->numbers.push_back(v);
  } else {
    return JsonError(where, absl::StrCat("element ", index, " is a ",
                                         TypeName(data), "; datatype ",
                                         t->datatype, " takes numbers"));
  }
  return absl::OkStatus();
}

absl::StatusOr<oip::Tensor> TensorFromJson(const json& j, size_t index) {
  const std::string where = absl::StrCat("inputs[", index, "]");
  if (!j.is_object()) return JsonError(where, "not an object");
  oip::Tensor t;
  auto name = j.find("name");
  if (name == j.end() || !name->is_string() ||
      name->get<std::string>().empty()) {
    return JsonError(where, "\"name\" must be a non-empty string");
  }
  t.name = name->get<std::string>();
  const std::string tensor = absl::StrCat("input '", t.name, "'");
  auto datatype = j.find("datatype");
  if (datatype == j.end() || !datatype->is_string()) {
    return JsonError(tensor, "\"datatype\" must be a string such as \"FP64\"");
  }
  t.datatype = datatype->get<std::string>();
  absl::StatusOr<int> size = oip::ElementSize(t.datatype);
  if (!size.ok()) return JsonError(tensor, size.status().message());
  auto shape = j.find("shape");
  if (shape == j.end() || !shape->is_array() || shape->empty()) {
    return JsonError(tensor, "\"shape\" must be a non-empty array of integers");
  }
  for (const json& d : *shape) {
    if (!d.is_number_integer()) {
      return JsonError(tensor, "\"shape\" must be an array of integers");
    }
    t.shape.push_back(d.get<int64_t>());
  }
  ASSIGN_OR_RETURN(const int64_t count, oip::ElementCount(t.name, t.shape));
  auto data = j.find("data");
  if (data == j.end()) return JsonError(tensor, "\"data\" is missing");
  RETURN_IF_ERROR(Flatten(*data, tensor, 0, &t));
  const size_t n = t.datatype == "BYTES" ? t.texts.size() : t.numbers.size();
  if (static_cast<int64_t>(n) != count) {
    return JsonError(tensor, absl::StrCat("\"data\" holds ", n,
                                          " elements; shape [",
                                          absl::StrJoin(t.shape, ", "),
                                          "] needs ", count));
  }
  return t;
}

json TensorToJson(const oip::Tensor& t) {
  json out = {{"name", t.name}, {"datatype", t.datatype}, {"shape", t.shape}};
  if (t.datatype == "BYTES") {
    out["data"] = t.texts;
  } else if (t.datatype == "INT64") {
    out["data"] = t.ints;
  } else {
    out["data"] = t.numbers;
  }
  if (!t.parameters.empty()) {
    json params = json::object();
    for (const auto& [key, value] : t.parameters) params[key] = value;
    out["parameters"] = std::move(params);
  }
  return out;
}

json SpecsToJson(
    const google::protobuf::RepeatedPtrField<
        inference::ModelMetadataResponse::TensorMetadata>& specs) {
  json out = json::array();
  for (const auto& s : specs) {
    out.push_back({{"name", s.name()},
                   {"datatype", s.datatype()},
                   {"shape", std::vector<int64_t>(s.shape().begin(),
                                                  s.shape().end())}});
  }
  return out;
}

// The parts of a /v2/models/... path.
struct ModelPath {
  std::string name;
  std::string version;   // "" = latest
  std::string action;    // "", "ready" or "infer"
};

// Parses "/v2/models/{m}[/versions/{v}][/ready|/infer]"; false otherwise.
bool ParseModelPath(absl::string_view path, ModelPath* out) {
  if (!absl::ConsumePrefix(&path, "/v2/models/")) return false;
  std::vector<std::string> parts = absl::StrSplit(path, '/');
  if (parts.empty() || parts[0].empty()) return false;
  out->name = parts[0];
  size_t next = 1;
  if (parts.size() >= 3 && parts[1] == "versions") {
    if (parts[2].empty()) return false;
    out->version = parts[2];
    next = 3;
  }
  if (parts.size() == next) return true;
  if (parts.size() == next + 1 &&
      (parts[next] == "ready" || parts[next] == "infer")) {
    out->action = parts[next];
    return true;
  }
  return false;
}

struct Reply {
  int status = 200;
  std::string body;  // JSON, or empty
  std::string allow;  // for 405
  bool challenge = false;  // 401: send WWW-Authenticate
};

Reply ErrorReply(const absl::Status& status) {
  return {HttpStatusOf(status.code()),
          Dump(json{{"error", std::string(status.message())}}), ""};
}

Reply ErrorReply(int http_status, std::string message) {
  return {http_status, Dump(json{{"error", std::move(message)}}), ""};
}

const char* ReasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 499: return "Client Closed Request";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return status < 500 ? "Bad Request" : "Internal Server Error";
  }
}

}  // namespace

int HttpStatusOf(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk: return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange: return 400;
    case absl::StatusCode::kUnauthenticated: return 401;
    case absl::StatusCode::kPermissionDenied: return 403;
    case absl::StatusCode::kNotFound: return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted: return 409;
    case absl::StatusCode::kResourceExhausted: return 429;
    case absl::StatusCode::kCancelled: return 499;
    case absl::StatusCode::kUnimplemented: return 501;
    case absl::StatusCode::kUnavailable: return 503;
    case absl::StatusCode::kDeadlineExceeded: return 504;
    default: return 500;
  }
}

absl::StatusOr<JsonInferRequest> JsonToInferRequest(const std::string& body) {
  json j;
  try {
    j = json::parse(body);
  } catch (const json::parse_error& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("request body is not valid JSON (byte ", e.byte, ")"));
  } catch (const json::out_of_range&) {
    // A number beyond a double (1e400): nlohmann throws out_of_range 406
    // (found by fuzz/request_fuzzer.cc).
    return absl::InvalidArgumentError(
        "request body holds a number out of the range of a double");
  }
  if (!j.is_object()) {
    return absl::InvalidArgumentError("request body must be a JSON object");
  }
  JsonInferRequest request;
  if (auto id = j.find("id"); id != j.end()) {
    if (!id->is_string()) return JsonError("id", "must be a string");
    request.id = id->get<std::string>();
    request.has_id = true;
  }
  if (auto params = j.find("parameters");
      params != j.end() && !params->is_object()) {
    return JsonError("parameters", "must be an object");
  }
  auto inputs = j.find("inputs");
  if (inputs == j.end() || !inputs->is_array() || inputs->empty()) {
    return JsonError("inputs", "must be a non-empty array of tensors");
  }
  // A set, not a scan of the inputs so far: 10^5 tensors in a 6 MB body
  // took minutes of CPU comparing names pairwise.
  absl::flat_hash_set<std::string> names;
  for (size_t i = 0; i < inputs->size(); ++i) {
    ASSIGN_OR_RETURN(oip::Tensor t, TensorFromJson((*inputs)[i], i));
    if (!names.insert(t.name).second) {
      return JsonError(absl::StrCat("input '", t.name, "'"), "given twice");
    }
    request.inputs.push_back(std::move(t));
  }
  if (auto outputs = j.find("outputs"); outputs != j.end()) {
    if (!outputs->is_array()) return JsonError("outputs", "must be an array");
    for (size_t i = 0; i < outputs->size(); ++i) {
      const json& o = (*outputs)[i];
      auto name = o.is_object() ? o.find("name") : o.end();
      if (!o.is_object() || name == o.end() || !name->is_string()) {
        return JsonError(absl::StrCat("outputs[", i, "]"),
                         "must be an object with a string \"name\"");
      }
      request.outputs.push_back(name->get<std::string>());
    }
  }
  return request;
}

std::string InferResponseToJson(const std::string& model_name,
                                int64_t version,
                                const JsonInferRequest& request,
                                const std::vector<oip::Tensor>& outputs) {
  json out = {{"model_name", model_name},
              {"model_version", absl::StrCat(version)}};
  if (request.has_id) out["id"] = request.id;
  json tensors = json::array();
  for (const oip::Tensor& t : outputs) tensors.push_back(TensorToJson(t));
  out["outputs"] = std::move(tensors);
  return Dump(out);
}

class HttpServer::Dispatcher final : public CivetHandler {
 public:
  Dispatcher(const OipHandler* handler, Metrics* metrics, int64_t max_body,
             const Authenticator* auth)
      : handler_(handler),
        metrics_(metrics),
        max_body_(max_body),
        auth_(auth) {}

  bool handleGet(CivetServer* /*server*/, mg_connection* conn) override {
    return Handle(conn, "GET");
  }
  bool handlePost(CivetServer* /*server*/, mg_connection* conn) override {
    return Handle(conn, "POST");
  }
  bool handlePut(CivetServer* /*server*/, mg_connection* conn) override {
    return Handle(conn, "PUT");
  }
  bool handleDelete(CivetServer* /*server*/, mg_connection* conn) override {
    return Handle(conn, "DELETE");
  }
  bool handlePatch(CivetServer* /*server*/, mg_connection* conn) override {
    return Handle(conn, "PATCH");
  }
  // HEAD: the GET answer without its body. OPTIONS: 204 with Allow.
  bool handleHead(CivetServer* /*server*/, mg_connection* conn) override {
    return Handle(conn, "HEAD");
  }
  bool handleOptions(CivetServer* /*server*/, mg_connection* conn) override {
    return Handle(conn, "OPTIONS");
  }

 private:
  bool Handle(mg_connection* conn, absl::string_view method) {
    const int64_t start = MonotonicNanos();
    const mg_request_info* info = mg_get_request_info(conn);
    const std::string path = info->local_uri != nullptr ? info->local_uri : "";
    HttpHandler which = HttpHandler::kOther;
    Reply reply;
    try {
      reply = Route(conn, method, path, &which);
    } catch (const std::exception& e) {
      reply = ErrorReply(500, absl::StrCat("internal error: ", e.what()));
    }
    Send(conn, reply, /*with_body=*/method != "HEAD");
    const int64_t nanos = MonotonicNanos() - start;
    if (metrics_ != nullptr) metrics_->HttpFinished(which, reply.status, nanos);
    const LogLevel level = reply.status >= 500 ? LogLevel::kError
                                               : LogLevel::kDebug;
    if (LogEnabled(level)) {
      Log(level, "http",
          {{"method", method},
           {"path", path},
           {"status", reply.status},
           {"duration_us", nanos / 1000}});
    }
    return true;
  }

  static void Send(mg_connection* conn, const Reply& reply, bool with_body) {
    std::string head = absl::StrCat("HTTP/1.1 ", reply.status, " ",
                                    ReasonPhrase(reply.status), "\r\n");
    if (!reply.body.empty()) {
      absl::StrAppend(&head, "Content-Type: application/json\r\n");
    }
    if (!reply.allow.empty()) {
      absl::StrAppend(&head, "Allow: ", reply.allow, "\r\n");
    }
    if (reply.challenge) {
      absl::StrAppend(&head,
                      "WWW-Authenticate: Bearer realm=\"modelserver\"\r\n");
    }
    if (reply.status != 204) {  // RFC 9110: no Content-Length on a 204
      absl::StrAppend(&head, "Content-Length: ", reply.body.size(), "\r\n");
    }
    absl::StrAppend(&head, "\r\n");
    // One write: headers and body in separate small writes meet Nagle's
    // algorithm and the client's delayed ACK (40 ms per request, measured
    // with wrk: 87 requests/s).
    if (with_body) head.append(reply.body);
    mg_write(conn, head.data(), head.size());
  }

  // Reads the request body; 413 beyond max_body_.
  absl::StatusOr<std::string> ReadBody(mg_connection* conn) {
    const mg_request_info* info = mg_get_request_info(conn);
    if (info->content_length > max_body_) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "request body of ", info->content_length, " bytes exceeds the limit of ",
          max_body_, " bytes (--max-message-bytes)"));
    }
    std::string body;
    if (info->content_length > 0) {
      body.reserve(static_cast<size_t>(info->content_length));
    }
    char buffer[16384];
    while (true) {
      const int n = mg_read(conn, buffer, sizeof(buffer));
      if (n <= 0) break;
      body.append(buffer, static_cast<size_t>(n));
      if (static_cast<int64_t>(body.size()) > max_body_) {
        return absl::ResourceExhaustedError(absl::StrCat(
            "request body exceeds the limit of ", max_body_,
            " bytes (--max-message-bytes)"));
      }
    }
    return body;
  }

  Reply Route(mg_connection* conn, absl::string_view method,
              const std::string& path, HttpHandler* which) {
    const bool get = method == "GET" || method == "HEAD";
    // Called for every method but the path's own: OPTIONS lists it, others
    // are refused.
    auto wrong_method = [&](const char* allow) {
      Reply r = method == "OPTIONS"
                    ? Reply{204, "", ""}
                    : ErrorReply(405, absl::StrCat("method ", method,
                                                   " is not allowed on ", path,
                                                   "; use ", allow));
      r.allow = method == "OPTIONS"
                    ? absl::StrCat(allow, std::string(allow) == "GET"
                                              ? ", HEAD, OPTIONS"
                                              : ", OPTIONS")
                    : allow;
      return r;
    };
    if (path == "/v2/health/live") {
      *which = HttpHandler::kServerLive;
      if (!get) return wrong_method("GET");
      return {200, "", ""};
    }
    if (path == "/v2/health/ready") {
      *which = HttpHandler::kServerReady;
      if (!get) return wrong_method("GET");
      return {handler_->ServerReady() ? 200 : 400, "", ""};
    }
    if (path == "/v2" || path == "/v2/") {
      *which = HttpHandler::kServerMetadata;
      if (!get) return wrong_method("GET");
      inference::ServerMetadataResponse m;
      handler_->ServerMetadata(&m);
      return {200,
              Dump(json{{"name", m.name()},
                        {"version", m.version()},
                        {"extensions", std::vector<std::string>(
                                           m.extensions().begin(),
                                           m.extensions().end())}}),
              ""};
    }
    // Everything below /v2/health needs a token when tokens are on.
    if (auth_ != nullptr && method != "OPTIONS") {
      const char* header = mg_get_header(conn, "Authorization");
      absl::Status allowed =
          auth_->Check(header == nullptr ? "" : header, Access::kRead,
                       absl::StrCat(method, " ", path));
      if (!allowed.ok()) {
        Reply r = ErrorReply(allowed);
        r.challenge = absl::IsUnauthenticated(allowed);
        return r;
      }
    }
    ModelPath model;
    if (!ParseModelPath(path, &model)) {
      return ErrorReply(404, absl::StrCat(
          "no endpoint at ", path, "; see /v2, /v2/health/live, "
          "/v2/health/ready and /v2/models/{name}[/versions/{v}][/ready|/infer]"));
    }
    if (model.action == "ready") {
      *which = HttpHandler::kModelReady;
      if (!get) return wrong_method("GET");
      absl::StatusOr<bool> ready =
          handler_->ModelReady(model.name, model.version);
      if (!ready.ok()) return ErrorReply(ready.status());
      return {*ready ? 200 : 400, "", ""};
    }
    if (model.action.empty()) {
      *which = HttpHandler::kModelMetadata;
      if (!get) return wrong_method("GET");
      inference::ModelMetadataResponse m;
      absl::Status s = handler_->ModelMetadata(model.name, model.version, &m);
      if (!s.ok()) return ErrorReply(s);
      json properties = json::object();
      for (const auto& [key, value] : m.properties()) properties[key] = value;
      return {200,
              Dump(json{{"name", m.name()},
                        {"versions", std::vector<std::string>(
                                         m.versions().begin(),
                                         m.versions().end())},
                        {"platform", m.platform()},
                        {"inputs", SpecsToJson(m.inputs())},
                        {"outputs", SpecsToJson(m.outputs())},
                        {"properties", std::move(properties)}}),
              ""};
    }
    *which = HttpHandler::kModelInfer;
    if (method != "POST") return wrong_method("POST");
    absl::StatusOr<std::string> body = ReadBody(conn);
    if (!body.ok()) {
      return ErrorReply(absl::IsResourceExhausted(body.status())
                            ? 413
                            : HttpStatusOf(body.status().code()),
                        std::string(body.status().message()));
    }
    absl::StatusOr<JsonInferRequest> request = JsonToInferRequest(*body);
    if (!request.ok()) return ErrorReply(request.status());
    std::vector<oip::Tensor> outputs;
    int64_t version = 0;
    absl::Status s = handler_->Infer(model.name, model.version,
                                     request->inputs, request->outputs,
                                     &outputs, &version);
    if (!s.ok()) return ErrorReply(s);
    return {200, InferResponseToJson(model.name, version, *request, outputs),
            ""};
  }

  const OipHandler* const handler_;
  Metrics* const metrics_;
  const int64_t max_body_;
  const Authenticator* const auth_;
};

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Create(
    const HttpOptions& options, const OipHandler* handler, Metrics* metrics) {
  auto server = std::unique_ptr<HttpServer>(new HttpServer());
  server->dispatcher_ =
      std::make_unique<Dispatcher>(handler, metrics, options.max_body_bytes,
                                   options.auth);
  std::vector<std::string> civet_options = {
      "listening_ports",
      options.tls != nullptr ? CivetTls::Listen(options.listen) : options.listen,
      "num_threads", absl::StrCat(options.threads),
      "enable_keep_alive", "yes",
      // civetweb gives each connection a thread for as long as it lasts: a
      // slow or vanished client holds one for at most request_timeout_ms,
      // an idle keep-alive connection for keep_alive_timeout_ms. With 30 s
      // each, 4 idle clients made every other request wait 30 s (measured
      // by tests/e2e/cancel_leak_test.py's helper probe); now 2 s idle.
      "request_timeout_ms", "10000",
      "keep_alive_timeout_ms", "2000"};
  if (options.tls != nullptr) {
    for (std::string& o : options.tls->Options()) {
      civet_options.push_back(std::move(o));
    }
  }
  try {
    server->civet_ = std::make_unique<CivetServer>(civet_options);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat(
        "cannot serve HTTP on '", options.listen, "': ", e.what()));
  }
  server->civet_->addHandler("/", server->dispatcher_.get());
  // A bare port ("8080") listens everywhere: wake it through loopback.
  server->host_ = options.listen.find(':') == std::string::npos
                      ? ""
                      : HostOf(options.listen);
  const std::vector<int> ports = server->civet_->getListeningPorts();
  server->port_ = ports.empty() ? 0 : ports.front();
  return server;
}

HttpServer::~HttpServer() {
  if (civet_ != nullptr) {
    StopWakingListener([this] { civet_->close(); }, host_, port_);
  }
}

std::string HostOf(const std::string& address) {
  const size_t colon = address.rfind(':');
  return colon == std::string::npos ? address : address.substr(0, colon);
}

void StopWakingListener(const std::function<void()>& stop,
                        const std::string& host, int port) {
  std::atomic<bool> done{false};
  std::thread stopper([&] {
    stop();
    done.store(true);
  });
  std::string target = host;
  if (absl::StartsWith(target, "[") && absl::EndsWith(target, "]")) {
    target = target.substr(1, target.size() - 2);
  }
  if (target.empty() || target == "0.0.0.0") target = "127.0.0.1";
  if (target == "::") target = "::1";
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* addresses = nullptr;
  const std::string service = absl::StrCat(port);
  if (port > 0 &&
      ::getaddrinfo(target.c_str(), service.c_str(), &hints, &addresses) == 0) {
    while (!done.load()) {
      const int fd = ::socket(addresses->ai_family, SOCK_STREAM, 0);
      if (fd >= 0) {
        ::connect(fd, addresses->ai_addr, addresses->ai_addrlen);
        ::close(fd);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ::freeaddrinfo(addresses);
  }
  stopper.join();
}

}  // namespace modelserver::server
