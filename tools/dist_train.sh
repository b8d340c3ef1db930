#!/usr/bin/env bash
# Train on N processes of this machine: tools/dist_train.sh CONFIG N [train.py options]
# Without GPUs the processes talk over gloo on CPU. PORT, NNODES, NODE_RANK and
# MASTER_ADDR may be set in the environment for several machines.
set -euo pipefail
CONFIG=$1
NPROC=$2
shift 2
cd "$(dirname "$0")/.."
exec python -m torch.distributed.run \
    --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" --master_port="${PORT:-29500}" \
    --nproc_per_node="$NPROC" \
    tools/train.py "$CONFIG" --launcher pytorch "$@"
