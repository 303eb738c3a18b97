// The state behind a LocalEngine: model, tokenizer, chat template and the
// scheduling loop (BatchEngine) every request runs in.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "cnai/engine/local_engine.hpp"
#include "cnai/model/model.hpp"
#include "cnai/text/chat_template.hpp"
#include "cnai/text/tokenizer.hpp"
#include "engine/batch_engine.hpp"

namespace cnai {

struct LocalEngine::Impl {
  Impl(LocalEngineOptions opts, std::shared_ptr<Model> m, Tokenizer tok, ChatTemplate tmpl)
      : options(std::move(opts)), model(std::move(m)), tokenizer(std::move(tok)), chat_template(std::move(tmpl)) {}

  SamplerConfig sampler_config(const SamplingParams& request) const;

  LocalEngineOptions options;
  std::shared_ptr<Model> model;
  Tokenizer tokenizer;
  ChatTemplate chat_template;
  std::string name;
  std::string bos_text;  // what `bos_token` / `eos_token` are in the template
  std::string eos_text;
  std::atomic<std::uint64_t> next_request{1};
  // Last: the loop stops (and fails what is left) before the rest goes.
  std::unique_ptr<engine::BatchEngine> batch;
};

}  // namespace cnai
