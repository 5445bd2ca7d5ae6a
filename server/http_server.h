// File: server/http_server.h
// HttpServer: the Open Inference Protocol's REST (HTTP/JSON) endpoints on
// civetweb, answered by an OipHandler (server/inference_service.h):
//
//   GET  /v2/health/live                      200 (empty body)
//   GET  /v2/health/ready                     200 ready, 400 not ready
//   GET  /v2                                  server metadata (JSON)
//   GET  /v2/models/{m}[/versions/{v}]        model metadata (JSON)
//   GET  /v2/models/{m}[/versions/{v}]/ready  200 ready, 400 not ready
//   POST /v2/models/{m}[/versions/{v}]/infer  inference (JSON in and out)
//
// JSON bodies are the protocol's: tensors as {"name", "datatype", "shape",
// "data"} with `data` flat or nested row-major, numbers / booleans / strings
// (BYTES) / null (a missing value). Errors are {"error": "<message>"} with
// the HTTP status of the gRPC code (INVALID_ARGUMENT 400, NOT_FOUND 404,
// RESOURCE_EXHAUSTED 429, UNAVAILABLE 503, INTERNAL 500, ...); a body larger
// than `max_body_bytes` is 413, an unknown path 404, a wrong method 405
// with Allow. HEAD answers like GET without the body; OPTIONS is 204 with
// Allow.
// JsonToInferRequest / InferResponseToJson are public for tests.
//
// Thread-safety: civetweb calls handlers on its own threads concurrently;
// Create and the destructor must not race with each other.
#ifndef MODELSERVER_SERVER_HTTP_SERVER_H_
#define MODELSERVER_SERVER_HTTP_SERVER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/auth.h"
#include "server/inference.h"
#include "server/inference_service.h"
#include "server/metrics.h"
#include "server/tls.h"

class CivetServer;

namespace modelserver::server {

struct HttpOptions {
  // host:port; port 0 picks a free port.
  std::string listen = "127.0.0.1:8080";
  int threads = 4;
  int64_t max_body_bytes = 64 << 20;
  // HTTPS with these settings; null = plain HTTP. Not owned; must outlive
  // the server.
  const CivetTls* tls = nullptr;
  // Bearer tokens: /v2/health/* is open, every other endpoint needs role
  // predict or admin (401 with WWW-Authenticate: Bearer without a valid
  // token, 403 for another role). Null = open. Not owned.
  const Authenticator* auth = nullptr;
};

// A parsed REST inference request.
struct JsonInferRequest {
  std::string id;
  bool has_id = false;
  std::vector<oip::Tensor> inputs;
  std::vector<std::string> outputs;
};

// INVALID_ARGUMENT naming the problem (JSON syntax with its byte offset,
// a missing or mistyped field, a tensor whose data does not match its
// shape or datatype).
absl::StatusOr<JsonInferRequest> JsonToInferRequest(const std::string& body);
std::string InferResponseToJson(const std::string& model_name,
                                int64_t version, const JsonInferRequest& request,
                                const std::vector<oip::Tensor>& outputs);
// HTTP status for an absl status code.
int HttpStatusOf(absl::StatusCode code);

// "127.0.0.1" of "127.0.0.1:50051" ("[::1]" of "[::1]:50051"); the whole
// string when it has no colon.
std::string HostOf(const std::string& address);

// Runs `stop`, which stops a civetweb server listening on host:port, and
// connects to that port until `stop` returns: civetweb's listener thread
// sees a stop request only when its poll() returns, which without
// connections takes up to a second or two. `host` 0.0.0.0, :: or empty
// mean loopback.
void StopWakingListener(const std::function<void()>& stop,
                        const std::string& host, int port);

class HttpServer {
 public:
  // UNAVAILABLE naming the address when it cannot be bound. `handler` and
  // `metrics` (null = not counted) must outlive the server.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Create(
      const HttpOptions& options, const OipHandler* handler, Metrics* metrics);
  // Stops accepting and waits for the handlers that run.
  ~HttpServer();

  int port() const { return port_; }

 private:
  std::string host_;
  class Dispatcher;
  HttpServer() = default;

  std::unique_ptr<Dispatcher> dispatcher_;
  std::unique_ptr<CivetServer> civet_;
  int port_ = 0;
};

}  // namespace modelserver::server

#endif  // MODELSERVER_SERVER_HTTP_SERVER_H_
