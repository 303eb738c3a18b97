// HttpServer: an io_context with its I/O threads, a listener that accepts
// connections onto strands (a session each), and the ServerCore they share.
#include "cnai/server/http_server.hpp"

#include <fmt/format.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>

#include <condition_variable>
#include <thread>

#include "cnai/core/error.hpp"
#include "server/http_session.hpp"
#include "server/server_core.hpp"

namespace cnai {

namespace net = boost::asio;
using tcp = net::ip::tcp;

struct HttpServer::Impl {
  ServerOptions options;
  // Declared before the io_context, so that it outlives the handlers (and
  // the sessions they hold) that ~io_context destroys.
  server::ServerCore core;
  net::io_context ioc;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  tcp::acceptor acceptor{net::make_strand(ioc)};
  std::vector<std::thread> threads;
  std::mutex mutex;
  std::condition_variable stopped_cv;
  bool started = false;
  bool stopped = false;
  bool finished = false;

  Impl(Backend& backend, ServerOptions opts, JobService* jobs)
      : options(std::move(opts)), core(backend, options, jobs) {}
  ~Impl() {
    // Compute jobs still running (past stop()'s wait) post to the stopped
    // io_context; they finish before it, and the sessions they hold, go.
    core.pool.shutdown();
    boost::system::error_code ignored;
    acceptor.close(ignored);
  }

  void accept() {
    acceptor.async_accept(net::make_strand(ioc), [this](boost::system::error_code ec, tcp::socket socket) {
      if (ec) {
        if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
        // Out of descriptors and the like: keep accepting after a breath.
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        return accept();
      }
      const bool reject = core.connections.load() >= options.limits.max_connections;
      std::make_shared<server::HttpSession>(std::move(socket), core, reject)->start();
      accept();
    });
  }

  void close_acceptor() {
    net::post(acceptor.get_executor(), [this] {
      boost::system::error_code ignored;
      acceptor.close(ignored);
    });
  }
};

HttpServer::HttpServer(Backend& backend, ServerOptions options, JobService* jobs)
    : impl_(std::make_unique<Impl>(backend, std::move(options), jobs)) {}

HttpServer::~HttpServer() { stop(); }

void HttpServer::start() {
  Impl& m = *impl_;
  boost::system::error_code ec;
  const auto address = net::ip::make_address(m.options.host, ec);
  if (ec) throw Error(ErrorCode::invalid_argument, fmt::format("host: '{}' is not an IP address", m.options.host));
  const tcp::endpoint endpoint(address, m.options.port);
  m.acceptor.open(endpoint.protocol(), ec);
  if (!ec) m.acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) m.acceptor.bind(endpoint, ec);
  if (!ec) m.acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    throw Error(ErrorCode::unavailable,
                fmt::format("cannot listen on {}:{}: {}", m.options.host, m.options.port, ec.message()));
  }
  m.work.emplace(m.ioc.get_executor());
  m.accept();
  for (int i = 0; i < std::max(1, m.options.io_threads); ++i) m.threads.emplace_back([&m] { m.ioc.run(); });
  std::lock_guard lock(m.mutex);
  m.started = true;
}

std::uint16_t HttpServer::port() const {
  boost::system::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void HttpServer::drain() {
  Impl& m = *impl_;
  m.core.draining = true;
  m.close_acceptor();
  const auto until = std::chrono::steady_clock::now() + m.options.drain_timeout;
  while (m.core.in_flight.load() > 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stop();
}

void HttpServer::stop() {
  Impl& m = *impl_;
  {
    std::lock_guard lock(m.mutex);
    if (!m.started || m.stopped) return;
    m.stopped = true;
  }
  m.core.draining = true;
  m.core.stopping = true;
  m.close_acceptor();
  m.core.close_sessions();  // cancels what still runs (its stop tokens fire)
  // Sessions finish once their compute jobs return (the pool is bounded, and
  // every Backend call honours its stop token) and post their last step to
  // the io_context: the work guard keeps it running until they have.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (m.core.connections.load() > 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    m.core.close_sessions();
  }
  m.work.reset();
  m.ioc.stop();
  for (auto& t : m.threads) t.join();
  m.threads.clear();
  {
    std::lock_guard lock(m.mutex);
    m.finished = true;
  }
  m.stopped_cv.notify_all();
}

void HttpServer::wait() {
  Impl& m = *impl_;
  std::unique_lock lock(m.mutex);
  m.stopped_cv.wait(lock, [&] { return m.finished; });
}

EndpointExecutor endpoint_executor(Backend& backend, ServerOptions options) {
  struct Holder {
    ServerOptions options;
    server::Api api;
    Holder(Backend& b, ServerOptions o) : options(std::move(o)), api(b, nullptr, options) {}
  };
  auto holder = std::make_shared<Holder>(backend, std::move(options));
  return [holder](const EndpointCall& call, std::stop_token stop) { return holder->api.executor()(call, stop); };
}

HttpServer::Stats HttpServer::stats() const {
  return {impl_->core.connections.load(), impl_->core.in_flight.load(), impl_->core.metrics.answered()};
}

}  // namespace cnai
