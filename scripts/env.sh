# Sourced by the other scripts: where things live.
CNAI_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CNAI_ROOT
export CNAI_CACHE_DIR="${CNAI_CACHE_DIR:-$HOME/.cache/cnai}"
export CNAI_BUILD_DIR="${CNAI_BUILD_DIR:-$CNAI_ROOT/build}"
export CNAI_VENV="${CNAI_VENV:-$CNAI_ROOT/.venv}"
export CNAI_DEFAULT_MODEL="$CNAI_CACHE_DIR/models/SmolLM2-135M-Instruct.Q4_1.gguf"
export CNAI_DEFAULT_EMBEDDING_MODEL="$CNAI_CACHE_DIR/models/all-MiniLM-L6-v2.Q8_0.gguf"
export CNAI_JOBS="${CNAI_JOBS:-$(nproc)}"
# ccache: paths under the checkout are hashed relative to it, so every build
# tree of this checkout (and of other worktrees) shares objects.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$CNAI_ROOT}"
