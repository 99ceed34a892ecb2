// The baseline for the gateway load benchmark: the same HttpServer answering
// every POST with a fixed 201 JSON body, doing no other work.
//
//   bazel run -c opt //web:fixed_server -- --port=8081 --threads=8
#include <glog/logging.h>

#include "absl/flags/flag.h"
#include "base/process.h"
#include "web/server.h"

ABSL_FLAG(int, port, 8081, "port to listen on");
ABSL_FLAG(int, threads, 8, "server threads");

int main(int argc, char** argv) {
  herald::Usage usage;
  usage.synopsis = "fixed_server [--port=8081] [--threads=8]";
  usage.description =
      "The gateway load benchmark's baseline: answers every POST with a\n"
      "fixed 201.\n";
  herald::InitProcess(argc, argv, usage);

  herald::web::Router router;
  router.Handle("POST", "/api/v1/payments", [](const herald::web::Request&) {
    return herald::web::Response::Json(
        201, R"({"payment_id":"pay_fixed","status":"pending"})");
  });
  herald::web::ServerOptions options;
  options.address = "127.0.0.1";
  options.port = absl::GetFlag(FLAGS_port);
  options.threads = absl::GetFlag(FLAGS_threads);
  auto server = herald::web::HttpServer::Start(options, std::move(router));
  if (!server.ok()) {
    LOG(ERROR) << server.status();
    return 1;
  }
  LOG(INFO) << "fixed_server listening on 127.0.0.1:" << (*server)->port();
  herald::WaitForStopSignal();
  (*server)->Stop();
  return 0;
}
