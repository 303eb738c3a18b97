// Backend (any of cnai's: the local engine, a cloud client, a router) and
// LocalEngine, plus Call, the handle of a request running on its own thread.
// Every call that computes or waits releases the GIL, so Python threads
// sharing one engine run concurrently through it.
#include <cnai/api/backend.hpp>
#include <cnai/clients/openai_client.hpp>
#include <cnai/core/error.hpp>
#include <cnai/engine/local_engine.hpp>

#include <pybind11/stl.h>

#include <chrono>
#include <optional>

#include "bindings.hpp"
#include "call.hpp"
#include "convert.hpp"

namespace cnai::python {

namespace {

using namespace std::chrono_literals;

// A blocking wait on a call, in slices so that Ctrl-C (a Python signal
// handler) cancels it: the wake-up on a result is immediate either way.
constexpr auto kSignalSlice = 100ms;

template <class Request>
void apply_timeout(Request& request, std::optional<double> timeout_s) {
  if (!timeout_s) return;
  if (*timeout_s <= 0) throw Error(ErrorCode::invalid_argument, "timeout must be > 0 seconds");
  request.deadline = std::chrono::steady_clock::now() +
                     std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(*timeout_s));
}

void check_signals(Call& call) {
  if (PyErr_CheckSignals() != 0) {
    call.cancel();
    throw py::error_already_set();
  }
}

py::object next_chunk(Call& call) {
  for (;;) {
    bool timed_out = false;
    std::optional<ChatChunk> chunk;
    {
      py::gil_scoped_release release;
      chunk = call.wait_next(kSignalSlice, timed_out);
    }
    if (chunk) return py::cast(std::move(*chunk));
    if (!timed_out) return py::none();
    check_signals(call);
  }
}

void wait_done(Call& call) {
  for (;;) {
    bool done = false;
    {
      py::gil_scoped_release release;
      done = call.wait_done(kSignalSlice);
    }
    if (done) return;
    check_signals(call);
  }
}

// Python runs signal handlers on its main thread only. A blocking call made
// there runs as a Call and is waited on in slices, so that Ctrl-C cancels the
// generation (KeyboardInterrupt); on any other thread it runs right here.
// (Read at import, under the import lock: a function-local static read from
// Python could deadlock two first callers on its guard and the GIL.)
unsigned long main_thread_ident = 0;

bool on_main_thread() { return PyThread_get_thread_ident() == main_thread_ident; }

py::dict capabilities_dict(const BackendCapabilities& c) {
  py::dict d;
  d["models"] = c.models;
  d["context_window"] = c.context_window;
  d["streaming"] = c.streaming;
  d["tools"] = c.tools;
  d["json_output"] = c.json_output;
  d["images"] = c.images;
  d["embeddings"] = c.embeddings;
  d["local"] = c.local;
  return d;
}

py::dict health_dict(const BackendHealth& h) {
  py::dict d;
  d["status"] = std::string(to_string(h.status));
  d["detail"] = h.detail;
  d["queue_depth"] = h.queue_depth;
  d["running"] = h.running;
  d["estimated_wait_ms"] = h.estimated_wait_ms;
  return d;
}

std::vector<std::string> list_models(Backend& b) {
  if (auto* local = dynamic_cast<LocalEngine*>(&b)) return {local->model_name()};
  if (auto* openai = dynamic_cast<OpenAiClient*>(&b)) {
    py::gil_scoped_release release;
    return openai->list_models();
  }
  return b.capabilities().models;
}

// A Call deleted from Python waits for its thread with the GIL released: the
// thread never takes the GIL, but other Python threads should run meanwhile.
struct CallDeleter {
  void operator()(Call* call) const {
    if (Py_IsInitialized() && PyGILState_Check()) {
      py::gil_scoped_release release;
      delete call;
    } else {
      delete call;
    }
  }
};

std::shared_ptr<Call> adopt(std::unique_ptr<Call> call) { return std::shared_ptr<Call>(call.release(), CallDeleter{}); }

}  // namespace

void register_engine(py::module_& m) {
  main_thread_ident = py::module_::import("threading").attr("main_thread")().attr("ident").cast<unsigned long>();
  py::class_<Call, std::shared_ptr<Call>>(m, "Call",
      "A request running on its own thread (what a stream or an async call holds). "
      "cancel() stops its generation; deleting it cancels and waits for the thread.")
      .def("cancel", &Call::cancel, "Request a stop: the generation ends with cnai.RequestCancelledError.")
      .def_property_readonly("cancelled", &Call::cancelled)
      .def_property_readonly("finished", &Call::finished)
      .def("next", &next_chunk, "The next ChatChunk (blocking, GIL released), or None when the stream ended.")
      .def("wait", &wait_done, "Block (GIL released) until the call ended.")
      .def("drain", [](Call& c) {
        bool finished = false;
        std::vector<ChatChunk> chunks = c.drain(finished);
        return py::make_tuple(py::cast(std::move(chunks)), finished);
      }, "(chunks queued now, whether the call ended); never blocks. Clears fileno().")
      .def("fileno", &Call::fileno, "An eventfd, readable when chunks are queued or the call ended.")
      .def("response", &Call::response, "The ChatResponse once finished; raises the call's error.")
      .def("embedding_response", &Call::embedding_response, "The EmbeddingResponse once finished; raises its error.");

  py::class_<Backend, std::shared_ptr<Backend>>(m, "Backend",
      "Anything that answers chat requests: the local engine, a cloud client, a router.")
      .def_property_readonly("name", &Backend::name)
      .def("capabilities", [](const Backend& b) { return capabilities_dict(b.capabilities()); })
      .def("health", [](const Backend& b) { return health_dict(b.health()); })
      .def("list_models", &list_models, "Model names: the local model's, a server's /models, a router's deployments.")
      .def("chat", [](std::shared_ptr<Backend> b, ChatRequest request, std::optional<double> timeout) {
        apply_timeout(request, timeout);
        request.stream = false;
        if (on_main_thread()) {
          const auto call = Call::start_chat(std::move(b), std::move(request), false);
          wait_done(*call);
          return call->response();
        }
        py::gil_scoped_release release;
        return b->chat(request);
      }, py::arg("request"), py::arg("timeout") = py::none(),
         "One completion, GIL released; on the main thread Ctrl-C cancels it (KeyboardInterrupt).")
      .def("start_chat", [](std::shared_ptr<Backend> b, ChatRequest request, bool stream, std::optional<double> timeout) {
        apply_timeout(request, timeout);
        return adopt(Call::start_chat(std::move(b), std::move(request), stream));
      }, py::arg("request"), py::arg("stream") = false, py::arg("timeout") = py::none(),
         "Starts a completion (streamed or not) on its own thread; returns its Call.")
      .def("embeddings", [](std::shared_ptr<Backend> b, EmbeddingRequest request, std::optional<double> timeout) {
        apply_timeout(request, timeout);
        if (on_main_thread()) {
          const auto call = Call::start_embeddings(std::move(b), std::move(request));
          wait_done(*call);
          return call->embedding_response();
        }
        py::gil_scoped_release release;
        return b->embeddings(request);
      }, py::arg("request"), py::arg("timeout") = py::none(),
         "Embeddings, GIL released; on the main thread Ctrl-C cancels them (KeyboardInterrupt).")
      .def("start_embeddings", [](std::shared_ptr<Backend> b, EmbeddingRequest request, std::optional<double> timeout) {
        apply_timeout(request, timeout);
        return adopt(Call::start_embeddings(std::move(b), std::move(request)));
      }, py::arg("request"), py::arg("timeout") = py::none());

  py::class_<LocalEngine, Backend, std::shared_ptr<LocalEngine>>(m, "LocalEngine",
      "A local GGUF model (chat), or an encoder model (embeddings), in this process.")
      .def_static("load", [](const std::string& path, int n_ctx, int threads, const std::string& embedding_model,
                             const std::string& chat_template, bool chatml_fallback, int default_max_tokens,
                             const std::string& backend_name, bool reuse_prefix, int max_sequences,
                             bool precise_embeddings) {
        LocalEngineOptions o;
        o.n_ctx = n_ctx;
        o.model.threads = threads;
        o.embedding_model = embedding_model;
        o.chat_template = chat_template;
        o.chatml_fallback = chatml_fallback;
        o.default_max_tokens = default_max_tokens;
        o.backend_name = backend_name;
        o.reuse_prefix = reuse_prefix;
        if (max_sequences > 0) o.max_sequences = max_sequences;
        o.embedding.encoder.precise_activations = precise_embeddings;
        py::gil_scoped_release release;
        return LocalEngine::load(path, o);
      }, py::arg("path"), py::kw_only(), py::arg("n_ctx") = 0, py::arg("threads") = 0,
         py::arg("embedding_model") = "", py::arg("chat_template") = "", py::arg("chatml_fallback") = false,
         py::arg("default_max_tokens") = LocalEngineOptions{}.default_max_tokens, py::arg("backend_name") = "local",
         py::arg("reuse_prefix") = true, py::arg("max_sequences") = 0, py::arg("precise_embeddings") = true,
         "Loads a GGUF file (GIL released). threads 0: the physical cores; n_ctx 0: the model's default; "
         "max_sequences 0: the engine's default (sequences batched together); precise_embeddings False: an "
         "encoder's integer matmuls in one pass over 8-bit activations, as llama.cpp (about 2x the "
         "throughput, cosine to float64 0.9976 instead of 0.9995 on a one-word input).")
      .def("stats", [](const LocalEngine& e) {
        const EngineStats st = e.stats();
        py::dict d;
        d["queue_depth"] = st.queue_depth;
        d["running"] = st.running;
        d["steps"] = st.steps;
        d["batch_size_histogram"] = st.batch_size_histogram;
        d["kv_blocks_total"] = st.kv_blocks_total;
        d["kv_blocks_used"] = st.kv_blocks_used;
        d["prefix_hit_rate"] = st.prefix_hit_rate;
        d["preemptions"] = st.preemptions;
        d["rejected"] = st.rejected;
        d["tokens_generated"] = st.tokens_generated;
        d["step_ms"] = st.step_ms;
        d["estimated_wait_ms"] = st.estimated_wait_ms;
        return d;
      }, "The scheduler's state: queue, running sequences, batch_size_histogram[n] (steps with n sequences), KV.")
      .def_property_readonly("model_name", &LocalEngine::model_name)
      .def_property_readonly("n_ctx", &LocalEngine::n_ctx)
      .def_property_readonly("is_embedding_model", &LocalEngine::is_embedding_model)
      .def("render_prompt", &LocalEngine::render_prompt, py::arg("request"), "The prompt the chat template renders.")
      .def("tokenize_prompt", &LocalEngine::tokenize_prompt, py::arg("prompt"));
}

}  // namespace cnai::python
