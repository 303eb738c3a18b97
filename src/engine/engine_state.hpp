// The state behind a LocalEngine: model, tokenizer, chat template and the one
// session (KV cache) requests run in, with the tokens that cache holds.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cnai/engine/local_engine.hpp"
#include "cnai/text/chat_template.hpp"
#include "cnai/model/model.hpp"
#include "cnai/text/tokenizer.hpp"

namespace cnai {

struct LocalEngine::Impl {
  Impl(LocalEngineOptions opts, std::shared_ptr<Model> m, Tokenizer tok, ChatTemplate tmpl)
      : options(std::move(opts)), model(std::move(m)), tokenizer(std::move(tok)), chat_template(std::move(tmpl)) {}

  LocalEngineOptions options;
  std::shared_ptr<Model> model;
  Tokenizer tokenizer;
  ChatTemplate chat_template;
  std::string name;
  std::string bos_text;  // what `bos_token` / `eos_token` are in the template
  std::string eos_text;

  std::mutex session_mutex;        // one generation at a time per engine
  std::unique_ptr<Context> context;
  std::vector<std::int32_t> cached;  // tokens whose keys/values are in the context
  std::atomic<std::uint64_t> next_request{1};
  std::atomic<int> active{0};  // generations running or waiting for the session

};

}  // namespace cnai
