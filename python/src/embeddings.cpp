// EmbeddingResponse with its vectors as one NumPy float32 matrix (rows in
// input order) or as lists, and the OpenAI-shaped dict cnai's server sends.
#include <cnai/api/json.hpp>
#include <cnai/api/types.hpp>

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <cstring>

#include "bindings.hpp"
#include "convert.hpp"

namespace cnai::python {

namespace {

py::array_t<float> as_matrix(const EmbeddingResponse& r) {
  const std::size_t rows = r.data.size();
  const std::size_t cols = rows ? r.data.front().size() : 0;
  py::array_t<float> out({rows, cols});
  float* dst = out.mutable_data();
  for (std::size_t i = 0; i < rows; ++i) {
    if (r.data[i].size() != cols) throw Error(ErrorCode::internal, "embedding vectors of different lengths");
    std::memcpy(dst + i * cols, r.data[i].data(), cols * sizeof(float));
  }
  return out;
}

}  // namespace

void register_embeddings(py::module_& m) {
  py::class_<EmbeddingResponse>(m, "EmbeddingResponse", "Embedding vectors, one per input, in input order.")
      .def_readonly("model", &EmbeddingResponse::model)
      .def_readonly("usage", &EmbeddingResponse::usage)
      .def_readonly("backend", &EmbeddingResponse::backend)
      .def("__len__", [](const EmbeddingResponse& r) { return r.data.size(); })
      .def_property_readonly("dimensions", [](const EmbeddingResponse& r) { return r.data.empty() ? 0 : r.data.front().size(); })
      .def("numpy", &as_matrix, "The vectors as one (inputs, dimensions) float32 array (a copy).")
      .def("vectors", [](const EmbeddingResponse& r) { return r.data; }, "The vectors as lists of floats.")
      .def("to_dict", [](const EmbeddingResponse& r, const std::string& encoding_format) {
        return json_to_python(to_openai_json(r, encoding_format));
      }, py::arg("encoding_format") = "float", "The Embeddings response body cnai's server sends.");
}

}  // namespace cnai::python
