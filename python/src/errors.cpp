// cnai::Error -> the Python exception classes of cnai._exceptions (cnai.Error
// and its openai-python-named subclasses), carrying the code, the HTTP status
// the server would answer, and the upstream's status and message.
#include <cnai/api/json.hpp>
#include <cnai/core/error.hpp>

#include "bindings.hpp"

namespace cnai::python {

namespace {

ErrorCode code_named(const std::string& name) {
  for (int c = 0; c <= static_cast<int>(ErrorCode::internal); ++c) {  // internal is the last code
    if (to_string(static_cast<ErrorCode>(c)) == name) return static_cast<ErrorCode>(c);
  }
  throw Error(ErrorCode::invalid_argument, "no error code named '" + name + "'");
}

// Looked up once; never destroyed (interpreter shutdown order is not ours).
py::object& error_factory() {
  static auto* factory = new py::object(py::module_::import("cnai._exceptions").attr("_from_native"));
  return *factory;
}

}  // namespace

void register_errors(py::module_& m) {
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      py::object status = e.upstream_status() ? py::object(py::int_(*e.upstream_status())) : py::object(py::none());
      py::object exc = error_factory()(std::string(to_string(e.code())), e.what(), http_status_for(e.code()),
                                        status, e.upstream_message(), e.retryable());
      PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc.ptr())), exc.ptr());
    }
  });
  m.def("error_codes", [] {
    py::list codes;
    for (int c = 0; c <= static_cast<int>(ErrorCode::internal); ++c) codes.append(std::string(to_string(static_cast<ErrorCode>(c))));
    return codes;
  }, "Every cnai::ErrorCode's name, in declaration order.");
  m.def("http_status_for", [](const std::string& code) { return http_status_for(code_named(code)); },
        py::arg("code"), "The HTTP status cnai's server answers an error code with.");
  m.def("_raise", [](const std::string& code, const std::string& message, int upstream_status) {
    if (upstream_status > 0) throw Error(code_named(code), message, upstream_status, "upstream said: " + message);
    throw Error(code_named(code), message);
  }, py::arg("code"), py::arg("message"), py::arg("upstream_status") = 0,
     "Throws cnai::Error(code, message) in C++: how tests see the translation a real failure gets.");
}

}  // namespace cnai::python
