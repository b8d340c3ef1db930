#!/usr/bin/env bash
# Test on N processes of this machine: tools/dist_test.sh CONFIG CHECKPOINT N [test.py options]
# Each process runs part of the test set; the results are gathered in dataset order.
set -euo pipefail
CONFIG=$1
CHECKPOINT=$2
NPROC=$3
shift 3
cd "$(dirname "$0")/.."
exec python -m torch.distributed.run \
    --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" --master_port="${PORT:-29500}" \
    --nproc_per_node="$NPROC" \
    tools/test.py "$CONFIG" "$CHECKPOINT" --launcher pytorch "$@"
