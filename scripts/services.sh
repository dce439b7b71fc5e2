#!/usr/bin/env bash
# Sourced: makes PostgreSQL and Redis reachable for tests and the local stack.
# Uses the machine's own when they answer; otherwise starts them (and stops them on exit).

ensure_postgres() {
  local url="${TEST_POSTGRES_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
  if pg_isready -q -d "$url" 2>/dev/null; then return 0; fi
  if command -v pg_ctlcluster >/dev/null 2>&1 && ls /etc/postgresql >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start 2>/dev/null || true
    for _ in $(seq 50); do pg_isready -q -d "$url" && return 0; sleep 0.2; done
  fi
  echo "PostgreSQL is not reachable at $url; start one or set TEST_POSTGRES_ADMIN_URL" >&2
  return 1
}

ensure_redis() {
  local url="${TEST_REDIS_URL:-redis://127.0.0.1:6379/0}"
  if redis-cli -u "$url" ping >/dev/null 2>&1; then return 0; fi
  if command -v redis-server >/dev/null 2>&1; then
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
      --dir /tmp --logfile /tmp/opssight-redis.log
    for _ in $(seq 50); do redis-cli -u "$url" ping >/dev/null 2>&1 && return 0; sleep 0.2; done
  fi
  echo "Redis is not reachable at $url and redis-server is not installed (apt-get install redis-server)" >&2
  return 1
}

# The dashboard's end-to-end tests and bench drive Debian's Chromium through playwright-core
# (`npx playwright install` cannot download a browser here).
ensure_chromium() {
  if [ -x /usr/bin/chromium ]; then return 0; fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "services: installing Debian chromium for the browser tests" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core) >&2
  fi
  [ -x /usr/bin/chromium ] && return 0
  echo "Chromium is not installed at /usr/bin/chromium (apt-get install chromium)" >&2
  return 1
}

# The integration tests start their own sshd processes (test/peers/sshd.ts) on loopback ports with
# generated keys; they need Debian's OpenSSH server binary, not a running ssh service. A
# policy-rc.d that refuses service starts (Debian's mechanism, also the norm in containers) keeps
# the package from starting a system sshd on port 22 while it installs.
ensure_sshd() {
  if [ -x /usr/sbin/sshd ]; then return 0; fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "services: installing Debian openssh-server for the SSH test peers" >&2
    local policy_added=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && policy_added=1
    fi
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssh-server) >&2 || true
    [ -n "$policy_added" ] && rm -f /usr/sbin/policy-rc.d
  fi
  [ -x /usr/sbin/sshd ] && return 0
  echo "sshd is not installed at /usr/sbin/sshd (apt-get install openssh-server)" >&2
  return 1
}

# Prometheus Alertmanager (Debian), a real source of alert webhooks for test/alerts/alertmanager.test.ts.
ensure_alertmanager() {
  if [ -x /usr/bin/prometheus-alertmanager ]; then return 0; fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "services: installing Debian prometheus-alertmanager for the alert tests" >&2
    local policy_added=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && policy_added=1
    fi
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus-alertmanager) >&2 || true
    [ -n "$policy_added" ] && rm -f /usr/sbin/policy-rc.d
  fi
  [ -x /usr/bin/prometheus-alertmanager ] && return 0
  echo "Alertmanager is not installed at /usr/bin/prometheus-alertmanager (apt-get install prometheus-alertmanager)" >&2
  return 1
}

# Prometheus (Debian), the real query API a deploy's verification gate asks (test/peers/prometheus.ts
# starts one per test with its own config, scraping a /metrics endpoint the test controls).
ensure_prometheus() {
  if [ -x /usr/bin/prometheus ]; then return 0; fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "services: installing Debian prometheus for the deploy verification tests" >&2
    local policy_added=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && policy_added=1
    fi
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus) >&2 || true
    [ -n "$policy_added" ] && rm -f /usr/sbin/policy-rc.d
  fi
  [ -x /usr/bin/prometheus ] && return 0
  echo "Prometheus is not installed at /usr/bin/prometheus (apt-get install prometheus)" >&2
  return 1
}

# The Docker-host deploy tests talk to a real Docker Engine API: Debian's podman serving it on a unix
# socket (`podman system service`), with its own storage under $OPSSIGHT_PODMAN_DIR so nothing of the
# machine's podman is touched. Containers use host networking (each on its own loopback port) and
# cgroupfs, which work without systemd. Exports TEST_DOCKER_SOCKET and TEST_PODMAN_DIR.
ensure_podman() {
  local dir="${OPSSIGHT_PODMAN_DIR:-/tmp/opssight-podman}"
  if ! command -v podman >/dev/null 2>&1 || [ ! -x /bin/busybox ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "services: installing Debian podman, runc and busybox-static for the Docker deploy tests" >&2
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends podman runc busybox-static) >&2 || true
    fi
  fi
  if ! command -v podman >/dev/null 2>&1 || ! command -v runc >/dev/null 2>&1 || [ ! -x /bin/busybox ]; then
    echo "services: podman/runc/busybox-static missing (apt-get install podman runc busybox-static): the Docker deploy tests will be skipped" >&2
    return 0
  fi
  mkdir -p "$dir"
  cat > "$dir/containers.conf" <<CONF
[containers]
default_ulimits = []
netns = "host"
[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"
CONF
  export TEST_PODMAN_DIR="$dir" TEST_DOCKER_SOCKET="$dir/podman.sock"
  if curl -sf --unix-socket "$dir/podman.sock" http://d/_ping >/dev/null 2>&1; then return 0; fi
  rm -f "$dir/podman.sock"
  # Started from its own directory: it outlives this checkout (the next one reuses it), and conmon
  # inherits its working directory; one that was removed fails every container start after.
  (cd "$dir" && CONTAINERS_CONF="$dir/containers.conf" exec nohup podman --root "$dir/root" --runroot "$dir/run" \
    system service --time=0 "unix://$dir/podman.sock") >"$dir/service.log" 2>&1 &
  echo $! > "$dir/service.pid"
  for _ in $(seq 100); do curl -sf --unix-socket "$dir/podman.sock" http://d/_ping >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "services: podman system service did not answer on $dir/podman.sock (see $dir/service.log)" >&2
  return 1
}

# moto's server mode (PyPI moto[server], installed into .tools/venv by scripts/bootstrap.sh): the AWS API
# emulator the cost kinds are tested against. Each test file starts its own on a free loopback port
# (test/peers/moto.ts), so this only makes sure the binary is there.
ensure_moto() {
  local bin="${MOTO_SERVER_BIN:-$(dirname "${BASH_SOURCE[0]}")/../.tools/venv/bin/moto_server}"
  if [ -x "$bin" ]; then return 0; fi
  echo "moto_server is not installed at $bin (source scripts/bootstrap.sh installs moto[server])" >&2
  return 1
}

# The single sign-on tests run a real directory: Debian's slapd, started by test/peers/ldap.ts with a
# throwaway slapd.conf and mdb database under a temp dir on a free loopback port, seeded with users and
# (nested) groups. Only the binaries are needed here; policy-rc.d keeps the package from starting a
# system slapd while it installs.
ensure_slapd() {
  if [ -x /usr/sbin/slapd ] && command -v ldapadd >/dev/null 2>&1; then return 0; fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "services: installing Debian slapd and ldap-utils for the LDAP sign-in tests" >&2
    local policy_added=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && policy_added=1
    fi
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slapd ldap-utils) >&2 || true
    [ -n "$policy_added" ] && rm -f /usr/sbin/policy-rc.d
  fi
  [ -x /usr/sbin/slapd ] && return 0
  echo "slapd is not installed at /usr/sbin/slapd (apt-get install slapd ldap-utils)" >&2
  return 1
}
