#include "clients/chat_stream_assembler.hpp"

#include <utility>

namespace cnai::clients {

Choice& ChatStreamAssembler::choice() {
  if (response_.choices.empty()) {
    response_.choices.emplace_back();
    response_.choices.back().message.role = Role::assistant;
  }
  return response_.choices.front();
}

void ChatStreamAssembler::add(const ChatChunk& chunk) {
  if (response_.id.empty()) response_.id = chunk.id;
  if (response_.model.empty()) response_.model = chunk.model;
  if (chunk.usage) response_.usage = *chunk.usage;
  Choice& c = choice();
  if (chunk.delta_role) c.message.role = *chunk.delta_role;
  if (!chunk.delta_content.empty()) {
    c.message.content += chunk.delta_content;
    has_content_ = true;
  }
  for (const auto& d : chunk.tool_calls) {
    auto& calls = c.message.tool_calls;
    if (static_cast<std::size_t>(d.index) >= calls.size()) calls.resize(static_cast<std::size_t>(d.index) + 1);
    ToolCall& call = calls[static_cast<std::size_t>(d.index)];
    if (!d.id.empty()) call.id = d.id;
    if (!d.name.empty() && call.name.empty()) call.name = d.name;
    call.arguments += d.arguments;
    has_content_ = true;
  }
  if (chunk.finish_reason != FinishReason::none) c.finish_reason = chunk.finish_reason;
}

ChatResponse ChatStreamAssembler::take() {
  choice();
  return std::exchange(response_, ChatResponse{});
}

}  // namespace cnai::clients
