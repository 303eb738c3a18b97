#include "clients/http/host_resolve.hpp"

#include <fmt/format.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>

#include "cnai/core/error.hpp"

namespace cnai::clients::detail {
namespace {

// Shared by the waiting caller and the helper thread, which may outlive it.
struct PendingLookup {
  std::mutex mutex;
  std::condition_variable changed;
  bool finished = false;
  bool cancelled = false;
  std::vector<std::string> addresses;
  std::string error;
};

std::vector<std::string> system_resolve(const std::string& host, std::uint16_t port) {
  boost::asio::io_context ioc;
  tcp::resolver resolver(ioc);
  beast::error_code ec;
  const auto results = resolver.resolve(host, std::to_string(port), ec);
  if (ec) throw std::runtime_error(ec.message());
  std::vector<std::string> out;
  for (const auto& entry : results) out.push_back(entry.endpoint().address().to_string());
  return out;
}

}  // namespace

std::vector<std::string> resolve_host(const std::string& host, std::uint16_t port, const Phase& phase,
                                      const CancelToken* cancel, const HostResolver& resolver,
                                      const std::string& origin) {
  auto lookup = std::make_shared<PendingLookup>();
  std::thread([lookup, host, port, resolver] {
    std::vector<std::string> addresses;
    std::string error;
    try {
      addresses = resolver ? resolver(host, port) : system_resolve(host, port);
    } catch (const std::exception& e) {
      error = e.what();
    }
    {
      std::lock_guard lock(lookup->mutex);
      lookup->addresses = std::move(addresses);
      lookup->error = std::move(error);
      lookup->finished = true;
    }
    lookup->changed.notify_all();
  }).detach();

  const std::uint64_t callback = cancel ? cancel->add_callback([lookup] {
    {
      std::lock_guard lock(lookup->mutex);
      lookup->cancelled = true;
    }
    lookup->changed.notify_all();
  })
                                        : 0;
  std::unique_lock lock(lookup->mutex);
  lookup->changed.wait_until(lock, phase.deadline, [&] { return lookup->finished || lookup->cancelled; });
  const bool finished = lookup->finished, cancelled = lookup->cancelled;
  lock.unlock();
  if (cancel) cancel->remove_callback(callback);

  if (cancelled) {
    throw Error(ErrorCode::cancelled, fmt::format("HTTP request to {} cancelled while resolving '{}'", origin, host));
  }
  if (!finished) {
    throw Error(ErrorCode::timeout, fmt::format("{} timeout ({} ms) expired while resolving '{}' for {}",
                                                phase.timeout_name, phase.timeout.count(), host, origin));
  }
  if (!lookup->error.empty() || lookup->addresses.empty()) {
    throw Error(ErrorCode::unavailable, fmt::format("cannot resolve host '{}': {}", host,
                                                    lookup->error.empty() ? "no address" : lookup->error));
  }
  return std::move(lookup->addresses);
}

}  // namespace cnai::clients::detail
