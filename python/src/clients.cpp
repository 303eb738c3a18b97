// The cloud clients as Backends: OpenAiClient (OpenAI and every
// OpenAI-compatible server, Azure OpenAI) and AnthropicClient. Options start
// from the official SDKs' environment (from_env) and take keyword overrides.
#include <cnai/clients/anthropic_client.hpp>
#include <cnai/clients/client_options.hpp>
#include <cnai/clients/openai_client.hpp>

#include <pybind11/stl.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "bindings.hpp"

namespace cnai::python {

namespace {

std::chrono::milliseconds seconds_to_ms(double s) {
  if (s <= 0) throw Error(ErrorCode::invalid_argument, "timeouts must be > 0 seconds");
  return std::chrono::milliseconds(static_cast<std::int64_t>(s * 1000.0));
}

void apply_common(ClientCommonOptions& c, std::optional<double> timeout, std::optional<int> max_retries,
                  const std::optional<std::string>& ca_file, std::optional<bool> verify_peer) {
  if (timeout) c.timeouts.total = c.timeouts.first_byte = seconds_to_ms(*timeout);
  if (max_retries) {
    if (*max_retries < 0) throw Error(ErrorCode::invalid_argument, "max_retries must be >= 0");
    c.retries.max_retries = *max_retries;
  }
  if (ca_file) c.ca_file = *ca_file;
  if (verify_peer) c.verify_peer = *verify_peer;
}

}  // namespace

void register_clients(py::module_& m) {
  py::class_<OpenAiClient, Backend, std::shared_ptr<OpenAiClient>>(m, "OpenAiClient",
      "The OpenAI API or any OpenAI-compatible server (vLLM, NIM, Ollama, cnai serve), or Azure OpenAI.")
      .def(py::init([](std::optional<std::string> base_url, std::optional<std::string> api_key,
                       std::optional<std::string> organization, std::optional<std::string> project,
                       std::optional<std::string> azure_deployment, std::optional<std::string> api_version,
                       std::optional<double> timeout, std::optional<int> max_retries,
                       std::optional<std::string> ca_file, std::optional<bool> verify_peer,
                       std::optional<std::string> backend_name, std::map<std::string, std::string> extra_headers) {
             OpenAiOptions o = azure_deployment ? OpenAiOptions::azure_from_env(*azure_deployment) : OpenAiOptions::from_env();
             if (base_url) o.base_url = *base_url;
             if (api_key) o.api_key = *api_key;
             if (organization) o.organization = *organization;
             if (project) o.project = *project;
             if (api_version && o.azure) o.azure->api_version = *api_version;
             apply_common(o.common, timeout, max_retries, ca_file, verify_peer);
             if (backend_name) o.backend_name = *backend_name;
             for (auto& [k, v] : extra_headers) o.extra_headers[k] = v;
             return std::make_shared<OpenAiClient>(std::move(o));
           }),
           py::kw_only(), py::arg("base_url") = py::none(), py::arg("api_key") = py::none(),
           py::arg("organization") = py::none(), py::arg("project") = py::none(),
           py::arg("azure_deployment") = py::none(), py::arg("api_version") = py::none(),
           py::arg("timeout") = py::none(), py::arg("max_retries") = py::none(), py::arg("ca_file") = py::none(),
           py::arg("verify_peer") = py::none(), py::arg("backend_name") = py::none(),
           py::arg("extra_headers") = std::map<std::string, std::string>{},
           "Unset fields come from OPENAI_API_KEY, OPENAI_BASE_URL, ... (Azure: AZURE_OPENAI_ENDPOINT, ...).")
      .def_property_readonly("base_url", [](const OpenAiClient& c) { return c.options().base_url; });

  py::class_<AnthropicClient, Backend, std::shared_ptr<AnthropicClient>>(m, "AnthropicClient",
      "Anthropic's Messages API, as a chat Backend.")
      .def(py::init([](std::optional<std::string> base_url, std::optional<std::string> api_key,
                       std::optional<double> timeout, std::optional<int> max_retries, std::optional<std::string> ca_file,
                       std::optional<bool> verify_peer, std::optional<int> default_max_tokens) {
             AnthropicOptions o = AnthropicOptions::from_env();
             if (base_url) o.base_url = *base_url;
             if (api_key) o.api_key = *api_key;
             apply_common(o.common, timeout, max_retries, ca_file, verify_peer);
             if (default_max_tokens) o.default_max_tokens = *default_max_tokens;
             return std::make_shared<AnthropicClient>(std::move(o));
           }),
           py::kw_only(), py::arg("base_url") = py::none(), py::arg("api_key") = py::none(),
           py::arg("timeout") = py::none(), py::arg("max_retries") = py::none(), py::arg("ca_file") = py::none(),
           py::arg("verify_peer") = py::none(), py::arg("default_max_tokens") = py::none(),
           "Unset fields come from ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL.");
}

}  // namespace cnai::python
