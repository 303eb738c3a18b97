// attention_rows_stubs — ISA kernel tables not built yet report "absent".
#include "ops/attention_rows.hpp"

namespace cnai::ops::cpu {

const AttentionRowKernels* attention_row_kernels_avx2() noexcept { return nullptr; }
const AttentionRowKernels* attention_row_kernels_avx512() noexcept { return nullptr; }

}  // namespace cnai::ops::cpu
