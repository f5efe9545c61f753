#!/usr/bin/env bash
# The CUDA checks, as one script for a GPU machine that has python3 with torch, numpy, scipy,
# networkx, pytest and hypothesis (the packages it lacks come as wheels in .whl/, the data as a
# copy of ../shared/data in .gpudata/):
#   1. the tests that take a `device` (torch == reference on hypothesis circuits with missing
#      values, both dtypes; gradients; deep chains; -inf rows; EM; the real circuits), on CUDA;
#   2. tools/bench_compile.py with pcc-torch on the GPU (the reference on the CPU beside it);
#   3. tools/bench_vectorize.py; 4. tools/bench_train.py (the torch engine on the GPU).
# Logs and JSON go to $OUT (default out/gpu).
set -o pipefail
OUT=${OUT:-out/gpu}
mkdir -p "$OUT"
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
[ -d .gpudata ] && export PCC_SHARED_DATA=$PWD/.gpudata
nvidia-smi -L
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())"
timeout "${TEST_SECONDS:-240}" python3 -m pytest -q -p no:cacheprovider -k cuda \
  tests/test_torch_equivalence.py tests/test_torch_grad.py tests/test_torch_numerics.py \
  tests/test_torch_real.py tests/test_learn_em.py tests/test_torch_queries_mpe.py \
  2>&1 | tee "$OUT/tests.log"
timeout "${BENCH_SECONDS:-300}" python3 tools/bench_compile.py --device cuda \
  --json "$OUT/bench_compile_cuda.json" 2>&1 | tee "$OUT/bench.log"
# 3. sparse vs vectorized (pcc transform --passes prune,vectorize) on the shipped circuits
timeout "${VECTORIZE_SECONDS:-300}" python3 tools/bench_vectorize.py --device cuda \
  --json "$OUT/vectorize_cuda.json" 2>&1 | tee "$OUT/vectorize.log"
# 4. training costs (forward, forward+backward, EM step as ratios to the forward; full-batch EM
#    epochs) with the torch engine on the GPU
timeout "${TRAIN_SECONDS:-300}" python3 tools/bench_train.py --device cuda \
  --json "$OUT/bench_train_cuda.json" 2>&1 | tee "$OUT/train.log"
