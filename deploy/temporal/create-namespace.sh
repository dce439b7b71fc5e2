#!/bin/sh
# One-shot: registers the namespace OpsSight uses (temporalio/admin-tools, Temporal CLI).
set -eu
NAMESPACE="${TEMPORAL_NAMESPACE:-default}"
until temporal operator cluster health --address "$TEMPORAL_ADDRESS" | grep -q SERVING; do
  echo "waiting for Temporal at $TEMPORAL_ADDRESS"; sleep 2
done
temporal operator namespace describe --address "$TEMPORAL_ADDRESS" -n "$NAMESPACE" >/dev/null 2>&1 \
  || temporal operator namespace create --address "$TEMPORAL_ADDRESS" -n "$NAMESPACE" --retention "${NAMESPACE_RETENTION:-720h}"
echo "namespace $NAMESPACE ready"
