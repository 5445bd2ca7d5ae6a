// File: server/arena_allocator.h
// ArenaAllocator<Request, Response>: hands gRPC's callback API a request and
// a response that live on one protobuf arena whose first block (4 KiB) is
// part of the holder, so that parsing a small request and building its
// reply cost one allocation, not one per message or string.
//
// Thread-safety: AllocateMessages may be called concurrently.
#ifndef MODELSERVER_SERVER_ARENA_ALLOCATOR_H_
#define MODELSERVER_SERVER_ARENA_ALLOCATOR_H_

#include <cstddef>

#include "google/protobuf/arena.h"
#include "grpcpp/support/message_allocator.h"

namespace modelserver::server {

template <typename Request, typename Response>
class ArenaAllocator final
    : public grpc::MessageAllocator<Request, Response> {
 public:
  grpc::MessageHolder<Request, Response>* AllocateMessages() override {
    return new Holder();
  }

 private:
  class Holder final : public grpc::MessageHolder<Request, Response> {
   public:
    Holder() : arena_(Options(initial_block_, sizeof(initial_block_))) {
      this->set_request(
          google::protobuf::Arena::CreateMessage<Request>(&arena_));
      this->set_response(
          google::protobuf::Arena::CreateMessage<Response>(&arena_));
    }
    void Release() override { delete this; }

   private:
    static google::protobuf::ArenaOptions Options(char* block, size_t size) {
      google::protobuf::ArenaOptions options;
      options.initial_block = block;
      options.initial_block_size = size;
      return options;
    }

    alignas(16) char initial_block_[4096];
    google::protobuf::Arena arena_;
  };
};

}  // namespace modelserver::server

#endif  // MODELSERVER_SERVER_ARENA_ALLOCATOR_H_
