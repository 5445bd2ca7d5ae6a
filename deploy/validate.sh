#!/usr/bin/env bash
# Offline checks of the deployment files (deploy/): no container engine, no
# cluster, no network.
#
#   bash deploy/validate.sh BUILD/server/modelserver [BUILD/client/modelctl]
#
# (ctest deploy_validate runs it with the built binaries.) modelctl defaults
# to ../client/modelctl next to the server binary.
#
#  1. docker-compose -f deploy/compose.yaml config -q       (docker-compose v1, Debian 12)
#  2. promtool check config deploy/prometheus/prometheus.yml
#  3. kubectl kustomize deploy/k8s/base and every deploy/k8s/overlays/*
#  4. every rendered object against the Kubernetes OpenAPI schemas (and
#     prometheus-operator's for the ServiceMonitor), unknown fields included:
#     node deploy/k8s/validate/validate.mjs (npm ci --prefix deploy/k8s/validate)
#  5. deploy/check_config.py: every MODELSERVER_* variable is a flag of the
#     binary, shutdown timing (preStop + drain + 10 s grace) fits the
#     grace periods, probe / Service / ServiceMonitor ports agree
#  6. the real server, started with the base's MODELSERVER_* variables and a
#     training job running, is scraped; deploy/grafana/check_dashboard.py checks
#     that every metric the Grafana dashboard queries is in that /metrics, and
#     promtool check rules parses every dashboard expression.
#
# Tools (scripts/setup.sh installs them): docker-compose, promtool
# (prometheus), kubectl (any: Debian 12's kubernetes-client 1.20 with its
# kustomize v2.0.3 works, as does a current one), node + the npm packages of
# deploy/k8s/validate, python3 with PyYAML. Override with DOCKER_COMPOSE,
# PROMTOOL, KUBECTL, NODE, PYTHON.
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: $0 PATH/TO/modelserver [PATH/TO/modelctl]" >&2
  exit 2
fi
MODELSERVER=$(realpath "$1")
MODELCTL=$(realpath "${2:-$(dirname "$MODELSERVER")/../client/modelctl}")
DEPLOY=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DOCKER_COMPOSE=${DOCKER_COMPOSE:-docker-compose}
PROMTOOL=${PROMTOOL:-promtool}
KUBECTL=${KUBECTL:-kubectl}
NODE=${NODE:-node}
PYTHON=${PYTHON:-/usr/bin/python3}

for f in "$MODELSERVER" "$MODELCTL"; do
  [ -x "$f" ] || { echo "validate: $f is not an executable" >&2; exit 2; }
done
for t in "$DOCKER_COMPOSE" "$PROMTOOL" "$KUBECTL" "$NODE" "$PYTHON"; do
  command -v "$t" >/dev/null || { echo "validate: $t not found (scripts/setup.sh installs it)" >&2; exit 1; }
done
if [ ! -d "$DEPLOY/k8s/validate/node_modules/kubernetes-models" ]; then
  echo "validate: $DEPLOY/k8s/validate/node_modules is missing: npm ci --prefix deploy/k8s/validate (scripts/setup.sh does)" >&2
  exit 1
fi

WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

step() { echo "== validate: $*"; }

# ---- 1. compose --------------------------------------------------------------
step "docker-compose config ($("$DOCKER_COMPOSE" version --short 2>/dev/null || echo '?'))"
# config resolves paths and interpolation without a container engine. The
# values of GRAFANA_ADMIN_PASSWORD etc. must not come from the caller's
# environment: start from a clean one.
env -i PATH="$PATH" HOME="$WORK" "$DOCKER_COMPOSE" -f "$DEPLOY/compose.yaml" config -q
env -i PATH="$PATH" HOME="$WORK" "$DOCKER_COMPOSE" -f "$DEPLOY/compose.yaml" config > "$WORK/compose.yaml"

# ---- 2. Prometheus -----------------------------------------------------------
step "promtool check config"
"$PROMTOOL" check config "$DEPLOY/prometheus/prometheus.yml"

# ---- 3. kustomize ------------------------------------------------------------
renders=()
dirs=("$DEPLOY/k8s/base")
for d in "$DEPLOY"/k8s/overlays/*/; do
  [ -f "$d/kustomization.yaml" ] && dirs+=("${d%/}")
done
for d in "${dirs[@]}"; do
  name=${d#"$DEPLOY/k8s/"}
  out="$WORK/render-${name//\//-}.yaml"
  step "$KUBECTL kustomize deploy/k8s/$name"
  # v5 prints deprecation warnings for bases/patchesStrategicMerge (kept for
  # kustomize v2.0.3, see deploy/k8s/base/kustomization.yaml): not errors.
  "$KUBECTL" kustomize "$d" > "$out" 2> "$WORK/kustomize.err" || {
    cat "$WORK/kustomize.err" >&2; exit 1; }
  grep -v -e "^# Warning: '.*' is deprecated" "$WORK/kustomize.err" >&2 || true
  grep -q '^kind: Deployment$' "$out" || { echo "validate: $name renders no Deployment" >&2; exit 1; }
  renders+=("$out")
done

# ---- 4. schemas --------------------------------------------------------------
step "Kubernetes OpenAPI schemas (deploy/k8s/validate/validate.mjs)"
"$NODE" "$DEPLOY/k8s/validate/validate.mjs" "${renders[@]}"

# ---- 5. consistency with the binary --------------------------------------------
step "flags, shutdown timing, ports (deploy/check_config.py)"
"$MODELSERVER" --help > "$WORK/help.txt"
"$PYTHON" "$DEPLOY/check_config.py" "$WORK/help.txt" "$WORK/compose.yaml" \
  "$WORK/base.env" "${renders[@]}"

# ---- 6. dashboard vs. the real server's /metrics ---------------------------------
step "Grafana dashboard vs. the server's /metrics"
mkdir -p "$WORK/models"
# The base's MODELSERVER_* variables (so that the binary parses their
# values), except the addresses, directories and drain, which are given as
# flags: loopback on free ports, a scratch model directory, no drain.
envargs=()
while IFS= read -r line; do
  case "$line" in
    ""|MODELSERVER_LISTEN=*|MODELSERVER_HTTP_LISTEN=*|MODELSERVER_METRICS_LISTEN=*) ;;
    MODELSERVER_MODEL_DIR=*|MODELSERVER_DATA_DIR=*|MODELSERVER_DRAIN_SECONDS=*) ;;
    *) envargs+=("$line") ;;
  esac
done < "$WORK/base.env"
env ${envargs[@]+"${envargs[@]}"} "$MODELSERVER" --listen 127.0.0.1:0 \
  --http-listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 \
  --model-dir "$WORK/models" --drain-seconds 0 2> "$WORK/server.log" &
SERVER_PID=$!
GRPC="" METRICS=""
for _ in $(seq 1 100); do
  line=$(grep -m1 '"msg":"modelserver listening' "$WORK/server.log" || true)
  if [ -n "$line" ]; then
    GRPC=$(sed -n 's/.*"grpc_address":"\([^"]*\)".*/\1/p' <<<"$line")
    METRICS=$(sed -n 's/.*"metrics_address":"\([^"]*\)".*/\1/p' <<<"$line")
    break
  fi
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$GRPC" ] || [ -z "$METRICS" ]; then
  echo "validate: modelserver did not start; its log:" >&2
  cat "$WORK/server.log" >&2
  exit 1
fi
scrape() {
  "$PYTHON" -c 'import sys, urllib.request
sys.stdout.write(urllib.request.urlopen("http://" + sys.argv[1] + "/metrics", timeout=10).read().decode())' "$METRICS"
}
# Per-job series (modelserver_training_job_loss, _epoch) exist only while a
# job runs: start one that outlasts the scrape (an MLP for 10^5 epochs on
# iris, the default --max-epochs), then cancel it.
"$MODELCTL" --server "$GRPC" train --name deploy-validate \
  --data "$DEPLOY/../tests/data/iris.csv" --target species --model mlp \
  --epochs 100000 --early-stopping-patience 0 --detach --json > "$WORK/job.json"
JOB=$(sed -n 's/.*"job_id":"\([^"]*\)".*/\1/p' "$WORK/job.json")
[ -n "$JOB" ] || { echo "validate: no job id in $(cat "$WORK/job.json")" >&2; exit 1; }
# One REST request too, so that REST series exist with a code.
"$PYTHON" -c 'import sys, urllib.request
urllib.request.urlopen("http://" + sys.argv[1] + "/v2/health/ready", timeout=10).read()' \
  "$(sed -n 's/.*"http_address":"\([^"]*\)".*/\1/p' <<<"$line")"
for _ in $(seq 1 100); do
  scrape > "$WORK/metrics.txt"
  grep -q '^modelserver_training_job_loss{' "$WORK/metrics.txt" && break
  sleep 0.2
done
"$MODELCTL" --server "$GRPC" cancel "$JOB" > /dev/null
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || { echo "validate: modelserver exited with status $?" >&2; cat "$WORK/server.log" >&2; exit 1; }
SERVER_PID=""
"$PYTHON" "$DEPLOY/grafana/check_dashboard.py" "$DEPLOY/grafana/dashboards/modelserver.json" \
  "$WORK/metrics.txt" "$WORK/dashboard-rules.yml"
"$PROMTOOL" check rules "$WORK/dashboard-rules.yml"

echo "validate: all deployment checks passed"
