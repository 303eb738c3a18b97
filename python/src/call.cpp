#include "call.hpp"

#include <cnai/core/error.hpp>

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

namespace cnai::python {

Call::Call(Kind kind) : kind_(kind) {
  event_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (event_fd_ < 0) throw Error(ErrorCode::internal, std::string("eventfd: ") + std::strerror(errno));
}

std::unique_ptr<Call> Call::start_chat(std::shared_ptr<Backend> backend, ChatRequest request, bool stream) {
  std::unique_ptr<Call> call(new Call(stream ? Kind::chat_stream : Kind::chat));
  request.stream = false;  // the C++ API streams through chat_stream(), not the flag
  // The thread works on the raw pointer: ~Call joins it before anything goes.
  call->thread_ = std::thread([c = call.get(), b = std::move(backend), r = std::move(request)]() mutable {
    c->run_chat(std::move(b), std::move(r));
  });
  return call;
}

std::unique_ptr<Call> Call::start_embeddings(std::shared_ptr<Backend> backend, EmbeddingRequest request) {
  std::unique_ptr<Call> call(new Call(Kind::embeddings));
  call->thread_ = std::thread([c = call.get(), b = std::move(backend), r = std::move(request)]() mutable {
    c->run_embeddings(std::move(b), std::move(r));
  });
  return call;
}

Call::~Call() {
  stop_.request_stop();
  if (thread_.joinable()) thread_.join();
  if (event_fd_ >= 0) ::close(event_fd_);
}

void Call::run_chat(std::shared_ptr<Backend> backend, ChatRequest request) {
  try {
    ChatResponse r;
    if (kind_ == Kind::chat_stream) {
      r = backend->chat_stream(request, [this](const ChatChunk& chunk) {
        push(chunk);
        return !stop_.stop_requested();
      }, stop_.get_token());
    } else {
      r = backend->chat(request, stop_.get_token());
    }
    {
      std::lock_guard lock(mu_);
      response_ = std::move(r);
    }
    finish(nullptr);
  } catch (...) {
    finish(std::current_exception());
  }
}

void Call::run_embeddings(std::shared_ptr<Backend> backend, EmbeddingRequest request) {
  try {
    EmbeddingResponse r = backend->embeddings(request, stop_.get_token());
    {
      std::lock_guard lock(mu_);
      embedding_ = std::move(r);
    }
    finish(nullptr);
  } catch (...) {
    finish(std::current_exception());
  }
}

void Call::push(ChatChunk chunk) {
  {
    std::lock_guard lock(mu_);
    chunks_.push_back(std::move(chunk));
  }
  cv_.notify_all();
  signal();
}

void Call::finish(std::exception_ptr error) {
  {
    std::lock_guard lock(mu_);
    error_ = std::move(error);
    finished_ = true;
  }
  cv_.notify_all();
  signal();
}

void Call::signal() noexcept {
  const std::uint64_t one = 1;
  // EAGAIN only when the counter is at its maximum: it is readable anyway.
  [[maybe_unused]] auto n = ::write(event_fd_, &one, sizeof one);
}

std::optional<ChatChunk> Call::wait_next(std::chrono::milliseconds slice, bool& timed_out) {
  std::unique_lock lock(mu_);
  timed_out = !cv_.wait_for(lock, slice, [this] { return !chunks_.empty() || finished_; });
  if (timed_out || chunks_.empty()) return std::nullopt;
  ChatChunk c = std::move(chunks_.front());
  chunks_.pop_front();
  return c;
}

bool Call::wait_done(std::chrono::milliseconds slice) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, slice, [this] { return finished_; });
}

std::vector<ChatChunk> Call::drain(bool& finished) {
  std::uint64_t count = 0;
  [[maybe_unused]] auto n = ::read(event_fd_, &count, sizeof count);  // EAGAIN: nothing signalled
  std::lock_guard lock(mu_);
  std::vector<ChatChunk> out(std::make_move_iterator(chunks_.begin()), std::make_move_iterator(chunks_.end()));
  chunks_.clear();
  finished = finished_;
  return out;
}

bool Call::finished() const {
  std::lock_guard lock(mu_);
  return finished_;
}

void Call::require_finished() const {
  if (!finished_) throw Error(ErrorCode::invalid_argument, "the call has not finished yet");
  if (error_) std::rethrow_exception(error_);
}

ChatResponse Call::response() const {
  std::lock_guard lock(mu_);
  require_finished();
  if (!response_) throw Error(ErrorCode::invalid_argument, "an embeddings call has no chat response");
  return *response_;
}

EmbeddingResponse Call::embedding_response() const {
  std::lock_guard lock(mu_);
  require_finished();
  if (!embedding_) throw Error(ErrorCode::invalid_argument, "a chat call has no embedding response");
  return *embedding_;
}

}  // namespace cnai::python
