// Folds a stream of ChatChunks into the final ChatResponse: concatenates
// content, assembles tool calls from their indexed argument fragments, keeps
// the finish reason and usage of the last chunks.
#pragma once

#include "cnai/api/types.hpp"

namespace cnai::clients {

class ChatStreamAssembler {
 public:
  void add(const ChatChunk& chunk);
  /// True once any content or tool-call fragment has been added.
  bool has_content() const noexcept { return has_content_; }
  const ChatResponse& response() const noexcept { return response_; }
  ChatResponse take();

 private:
  Choice& choice();
  ChatResponse response_;
  bool has_content_ = false;
};

}  // namespace cnai::clients
