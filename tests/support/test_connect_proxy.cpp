// TestConnectProxy: blocking sockets, a thread per client plus one relay
// thread per tunnel direction; shutting sockets down unblocks everything.
#include "test_connect_proxy.hpp"

#include <fmt/format.h>
#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace cnai::test {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct TestConnectProxy::Impl {
  TestConnectProxy& owner;
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::atomic<bool> stopping{false};
  mutable std::mutex mutex;
  std::set<int> open_fds;
  std::vector<std::thread> threads;
  std::thread accept_thread;
  std::string last_target;

  explicit Impl(TestConnectProxy& proxy) : owner(proxy) {}

  void track(int fd, bool add) {
    std::lock_guard lock(mutex);
    if (add) {
      open_fds.insert(fd);
    } else {
      open_fds.erase(fd);
    }
  }

  void accept_loop() {
    while (!stopping) {
      tcp::socket socket(ioc);
      beast::error_code ec;
      acceptor.accept(socket, ec);
      if (ec || stopping) return;
      track(socket.native_handle(), true);
      std::lock_guard lock(mutex);
      threads.emplace_back([this, s = std::move(socket)]() mutable { serve(std::move(s)); });
    }
  }

  // Copies from one socket to the other until either side ends.
  static void relay(tcp::socket& from, tcp::socket& to) {
    char buffer[16384];
    beast::error_code ec;
    while (true) {
      const std::size_t n = from.read_some(asio::buffer(buffer), ec);
      if (ec) break;
      asio::write(to, asio::buffer(buffer, n), ec);
      if (ec) break;
    }
    ::shutdown(from.native_handle(), SHUT_RDWR);
    ::shutdown(to.native_handle(), SHUT_RDWR);
  }

  void tunnel(tcp::socket& client, beast::flat_buffer& leftover, const std::string& target) {
    const auto colon = target.rfind(':');
    tcp::socket upstream(ioc);
    beast::error_code ec;
    tcp::resolver resolver(ioc);
    const auto endpoints = resolver.resolve(target.substr(0, colon), target.substr(colon + 1), ec);
    if (!ec) asio::connect(upstream, endpoints, ec);
    if (ec) {
      asio::write(client, asio::buffer(std::string("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")), ec);
      return;
    }
    ++owner.tunnels_;
    track(upstream.native_handle(), true);
    asio::write(client, asio::buffer(std::string("HTTP/1.1 200 Connection Established\r\n\r\n")), ec);
    if (!ec && leftover.size() > 0) asio::write(upstream, leftover.data(), ec);
    if (!ec) {
      std::thread back([&] { relay(upstream, client); });
      relay(client, upstream);
      back.join();
    }
    track(upstream.native_handle(), false);
  }

  void serve(tcp::socket client) {
    const int fd = client.native_handle();
    beast::flat_buffer buffer;
    http::request_parser<http::empty_body> parser;
    beast::error_code ec;
    http::read_header(client, buffer, parser, ec);
    if (!ec && parser.get().method() == http::verb::connect) {
      const std::string target(parser.get().target());
      {
        std::lock_guard lock(mutex);
        last_target = target;
      }
      tunnel(client, buffer, target);
    } else if (!ec) {
      asio::write(client, asio::buffer(std::string("HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")), ec);
    }
    std::lock_guard lock(mutex);
    open_fds.erase(fd);
    client.close(ec);
  }
};

TestConnectProxy::TestConnectProxy() : impl_(std::make_unique<Impl>(*this)) {
  const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen();
  impl_->accept_thread = std::thread([this] { impl_->accept_loop(); });
}

TestConnectProxy::~TestConnectProxy() {
  impl_->stopping = true;
  ::shutdown(impl_->acceptor.native_handle(), SHUT_RDWR);
  impl_->accept_thread.join();
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(impl_->mutex);
    for (int fd : impl_->open_fds) ::shutdown(fd, SHUT_RDWR);
    threads = std::move(impl_->threads);
  }
  for (auto& thread : threads) thread.join();
}

std::string TestConnectProxy::url() const {
  return fmt::format("http://127.0.0.1:{}", impl_->acceptor.local_endpoint().port());
}

std::string TestConnectProxy::last_target() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->last_target;
}

}  // namespace cnai::test
