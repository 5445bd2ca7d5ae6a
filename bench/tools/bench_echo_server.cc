// bench_echo_server: the baselines that bench/serving.py measures Predict
// against. Both serve /modelserver.v1.ModelService/Predict on gRPC's
// callback API with the same builder settings as modelserver
// (server/server.cc), so that the only difference is the work per call:
//
//   --mode bytes   answers every call with fixed bytes, without parsing
//                  the request (the cost of gRPC itself);
//   --mode proto   parses the PredictRequest onto the same arena allocator
//                  as modelserver and answers a constant PredictResponse
//                  (the cost of gRPC plus protobuf).
//
//   bench_echo_server --mode bytes|proto --response FILE [--listen ADDR]
// FILE holds a serialized PredictResponse (the real server's reply, so that
// the reply has the same size). Prints "listening on HOST:PORT" on stdout
// and serves until killed.
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "modelserver/v1/model_service.grpc.pb.h"
#include "server/model_service.h"

namespace {

using modelserver::v1::ModelService;
using modelserver::v1::PredictRequest;
using modelserver::v1::PredictResponse;

class BytesEcho final : public ModelService::WithRawCallbackMethod_Predict<
                            ModelService::Service> {
 public:
  explicit BytesEcho(const std::string& reply) : slice_(reply) {}
  grpc::ServerUnaryReactor* Predict(grpc::CallbackServerContext* context,
                                    const grpc::ByteBuffer* /*request*/,
                                    grpc::ByteBuffer* response) override {
    *response = grpc::ByteBuffer(&slice_, 1);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

 private:
  grpc::Slice slice_;
};

class ProtoEcho final
    : public ModelService::WithCallbackMethod_Predict<ModelService::Service> {
 public:
  explicit ProtoEcho(const std::string& reply) {
    if (!reply_.ParseFromString(reply)) {
      std::fprintf(stderr, "bench_echo_server: bad response file\n");
      std::exit(2);
    }
    SetMessageAllocatorFor_Predict(&allocator_);
  }
  grpc::ServerUnaryReactor* Predict(grpc::CallbackServerContext* context,
                                    const PredictRequest* request,
                                    PredictResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    if (request->name().empty()) {
      reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "name"));
    } else {
      response->CopyFrom(reply_);
      reactor->Finish(grpc::Status::OK);
    }
    return reactor;
  }

 private:
  PredictResponse reply_;
  modelserver::server::PredictArenaAllocator allocator_;
};

}  // namespace

int main(int argc, char** argv) {
  // As modelserver's main does (server/main.cc).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  std::string mode, response_file, listen = "127.0.0.1:0";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--mode") mode = argv[i + 1];
    if (flag == "--response") response_file = argv[i + 1];
    if (flag == "--listen") listen = argv[i + 1];
  }
  std::ifstream in(response_file, std::ios::binary);
  const std::string reply(std::istreambuf_iterator<char>(in), {});
  if (!in.good() && !in.eof()) return 2;
  std::unique_ptr<grpc::Service> service;
  if (mode == "bytes") {
    service = std::make_unique<BytesEcho>(reply);
  } else if (mode == "proto") {
    service = std::make_unique<ProtoEcho>(reply);
  } else {
    std::fprintf(stderr,
                 "usage: bench_echo_server --mode bytes|proto "
                 "--response FILE [--listen ADDR]\n");
    return 2;
  }
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  builder.SetMaxReceiveMessageSize(64 << 20);
  builder.SetMaxSendMessageSize(64 << 20);
  builder.RegisterService(service.get());
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) return 1;
  std::printf("listening on 127.0.0.1:%d\n", port);
  std::fflush(stdout);
  server->Wait();
  return 0;
}
