// Call — one chat or embeddings request running on a thread of its own, its
// results handed over through a queue. Python reads it either blocking (the
// sync Stream: wait_next() with the GIL released) or from asyncio: the call
// signals an eventfd that the event loop watches (loop.add_reader), so an
// awaiting task is woken by the engine's own completion, never by polling,
// and the engine thread never takes the GIL. cancel() (and destruction)
// request a stop through the call's std::stop_source: the backend ends the
// generation with Error(cancelled) at its next step.
#pragma once

#include <cnai/api/backend.hpp>
#include <cnai/api/types.hpp>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <thread>
#include <vector>

namespace cnai::python {

class Call {
 public:
  enum class Kind { chat, chat_stream, embeddings };

  static std::unique_ptr<Call> start_chat(std::shared_ptr<Backend> backend, ChatRequest request, bool stream);
  static std::unique_ptr<Call> start_embeddings(std::shared_ptr<Backend> backend, EmbeddingRequest request);
  ~Call();  // cancels and joins
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;

  Kind kind() const noexcept { return kind_; }
  void cancel() noexcept { stop_.request_stop(); }
  bool cancelled() const noexcept { return stop_.stop_requested(); }

  /// The next chunk; nullopt once the call has ended (then response() says how).
  /// Waits at most `slice` (nullopt and timed_out set when it passed).
  std::optional<ChatChunk> wait_next(std::chrono::milliseconds slice, bool& timed_out);
  /// Blocks until the call ended or `slice` passed; true when it ended.
  bool wait_done(std::chrono::milliseconds slice);
  /// Every chunk queued now, and whether the call has ended. Clears the
  /// eventfd first, so a chunk queued after this takes is signalled again.
  std::vector<ChatChunk> drain(bool& finished);
  /// Readable when chunks are queued or the call ended (non-blocking eventfd).
  int fileno() const noexcept { return event_fd_; }
  bool finished() const;

  /// The call's result once finished; rethrows its error.
  ChatResponse response() const;
  EmbeddingResponse embedding_response() const;

 private:
  explicit Call(Kind kind);
  void run_chat(std::shared_ptr<Backend> backend, ChatRequest request);
  void run_embeddings(std::shared_ptr<Backend> backend, EmbeddingRequest request);
  void push(ChatChunk chunk);
  void finish(std::exception_ptr error);
  void signal() noexcept;
  void require_finished() const;

  Kind kind_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<ChatChunk> chunks_;
  bool finished_ = false;
  std::exception_ptr error_;
  std::optional<ChatResponse> response_;
  std::optional<EmbeddingResponse> embedding_;
  std::stop_source stop_;
  int event_fd_ = -1;
  std::thread thread_;
};

}  // namespace cnai::python
