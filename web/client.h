// File: web/client.h
//
// A small blocking HTTP/1.1 client over one keep-alive connection, for tests
// and tools.
//
// Example:
//
//   herald::web::HttpClient client("127.0.0.1", port);
//   // or, giving up on a server that accepts and never answers:
//   herald::web::HttpClient probe("127.0.0.1", port, absl::Seconds(2));
//   absl::StatusOr<herald::web::ClientResponse> r =
//       client.Send("POST", "/api/v1/users", R"({"email":"a@b.co"})");
#ifndef HERALD_WEB_CLIENT_H_
#define HERALD_WEB_CLIENT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "web/http.h"

namespace herald {
namespace web {

struct ClientResponse {
  int status = 0;
  HeaderList headers;
  std::string body;
  std::optional<absl::string_view> Header(absl::string_view name) const;
};

class HttpClient {
 public:
  // `timeout` bounds each send and each read on the connection (a server
  // that accepts and then never answers gives DeadlineExceeded); infinite
  // by default.
  HttpClient(std::string host, int port,
             absl::Duration timeout = absl::InfiniteDuration());
  ~HttpClient();

  // Sends one request, (re)connecting when needed. Unavailable when the
  // server cannot be reached or closes the connection.
  absl::StatusOr<ClientResponse> Send(const std::string& method,
                                      const std::string& target,
                                      const std::string& body = "",
                                      const HeaderList& headers = {});

  // Sends bytes as they are and reads one response (for malformed input).
  absl::StatusOr<ClientResponse> SendRaw(const std::string& bytes);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace web
}  // namespace herald

#endif  // HERALD_WEB_CLIENT_H_
