#include "messaging/dev/dev_broker.h"

#include <glog/logging.h>

#include <array>
#include <boost/asio.hpp>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "messaging/testing/mock_cluster.h"
#include "web/accept_backoff.h"

namespace herald {
namespace dev {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// Copies bytes one way until either side closes, then closes both.
class Pipe : public std::enable_shared_from_this<Pipe> {
 public:
  Pipe(std::shared_ptr<tcp::socket> from, std::shared_ptr<tcp::socket> to)
      : from_(std::move(from)), to_(std::move(to)) {}

  void Start() { Read(); }

 private:
  void Read() {
    from_->async_read_some(
        asio::buffer(buffer_),
        [self = shared_from_this()](boost::system::error_code ec, size_t n) {
          if (ec) return self->Close();
          asio::async_write(*self->to_, asio::buffer(self->buffer_, n),
                            [self](boost::system::error_code ec, size_t) {
                              if (ec) return self->Close();
                              self->Read();
                            });
        });
  }

  void Close() {
    boost::system::error_code ignored;
    from_->close(ignored);
    to_->close(ignored);
  }

  std::shared_ptr<tcp::socket> from_, to_;
  std::array<char, 64 * 1024> buffer_;
};

}  // namespace

class DevBroker::Impl {
 public:
  Impl(std::unique_ptr<testing::MockCluster> cluster, std::string host,
       int port)
      : cluster_(std::move(cluster)),
        host_(std::move(host)),
        port_(port),
        acceptor_(ioc_) {
    // The first mock broker, where forwarded connections go.
    std::string first = std::string(
        absl::StrSplit(cluster_->bootstrap_servers(), ',').begin().operator*());
    std::pair<std::string, std::string> host_port =
        absl::StrSplit(first, absl::MaxSplits(':', 1));
    target_ =
        tcp::endpoint(asio::ip::make_address(host_port.first),
                      static_cast<unsigned short>(std::stoi(host_port.second)));
  }

  ~Impl() {
    boost::system::error_code ignored;
    asio::post(ioc_, [this] {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
      accept_backoff_.Cancel();
    });
    ioc_.stop();
    if (thread_.joinable()) thread_.join();
  }

  absl::Status Listen() {
    boost::system::error_code ec;
    tcp::endpoint endpoint(asio::ip::make_address(host_, ec),
                           static_cast<unsigned short>(port_));
    if (ec) return absl::InvalidArgumentError("bad host " + host_);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return absl::FailedPreconditionError(absl::StrCat(
          "port ", port_, " on ", host_, " is in use (", ec.message(), ")"));
    }
    port_ = acceptor_.local_endpoint().port();
    Accept();
    thread_ = std::thread([this] { ioc_.run(); });
    return absl::OkStatus();
  }

  std::string address() const { return absl::StrCat(host_, ":", port_); }

 private:
  void Accept() {
    acceptor_.async_accept(
        [this](boost::system::error_code ec, tcp::socket socket) {
          if (ec) {
            if (!acceptor_.is_open()) return;
            // E.g. out of file descriptors: the connection stays queued.
            return accept_backoff_.Failed(ec, [this] { Accept(); });
          }
          accept_backoff_.Succeeded();
          auto client = std::make_shared<tcp::socket>(std::move(socket));
          auto broker = std::make_shared<tcp::socket>(ioc_);
          broker->async_connect(
              target_, [client, broker](boost::system::error_code ec) {
                if (ec) {
                  boost::system::error_code ignored;
                  client->close(ignored);
                  return;
                }
                std::make_shared<Pipe>(client, broker)->Start();
                std::make_shared<Pipe>(broker, client)->Start();
              });
          Accept();
        });
  }

  std::unique_ptr<testing::MockCluster> cluster_;
  std::string host_;
  int port_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  web::AcceptBackoff accept_backoff_{ioc_.get_executor()};
  tcp::endpoint target_;
  std::thread thread_;
};

std::vector<std::string> DefaultTopics() {
  std::vector<std::string> topics;
  for (const char* topic : {"payment.created", "payment.updated",
                            "user.registered", "notification.email"}) {
    topics.push_back(topic);
    topics.push_back(absl::StrCat(topic, ".dlq"));
  }
  return topics;
}

bool IsListening(absl::string_view host, int port) {
  asio::io_context ioc;
  tcp::socket socket(ioc);
  boost::system::error_code ec;
  tcp::endpoint endpoint(asio::ip::make_address(std::string(host), ec),
                         static_cast<unsigned short>(port));
  if (ec) return false;
  socket.connect(endpoint, ec);
  return !ec;
}

absl::StatusOr<std::unique_ptr<DevBroker>> DevBroker::Start(
    const DevBrokerOptions& options) {
  // Check first: the mock cluster itself aborts on a failed bind.
  if (options.port != 0 && IsListening(options.host, options.port)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "port ", options.port, " on ", options.host, " is in use"));
  }
  absl::StatusOr<std::unique_ptr<testing::MockCluster>> cluster =
      testing::MockCluster::Start(options.num_brokers);
  if (!cluster.ok()) return cluster.status();
  for (const std::string& topic :
       options.topics.empty() ? DefaultTopics() : options.topics) {
    absl::Status s = (*cluster)->CreateTopic(topic, options.partitions,
                                             std::min(options.num_brokers, 3));
    if (!s.ok()) return s;
  }
  auto impl =
      std::make_unique<Impl>(*std::move(cluster), options.host, options.port);
  absl::Status s = impl->Listen();
  if (!s.ok()) return s;
  LOG(INFO) << "development broker (in-memory, for development only; data is "
               "lost on exit) listening on "
            << impl->address();
  return std::unique_ptr<DevBroker>(new DevBroker(std::move(impl)));
}

DevBroker::DevBroker(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DevBroker::~DevBroker() = default;
std::string DevBroker::address() const { return impl_->address(); }

}  // namespace dev
}  // namespace herald
