#!/usr/bin/env bash
# The whole test suite, as the README documents it: installs the Python test tools into .venv-tools/
# (scripts/tools.sh), starts moto's AWS emulator, then runs lint, the template check, every Rust
# test and the arm64 release build.
#   SKIP_ARM64_BUILD=1  skip the `cargo lambda build --release --arm64` step (faster local runs)
#   SKIP_CLIPPY=1       skip clippy
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "tools (.venv-tools, pinned in scripts/requirements-tools.txt)"
# Every Python tool comes from the repository's own venv; nothing installed on the machine is used.
TOOLS_BIN=$(./scripts/tools.sh)
export PATH="$TOOLS_BIN:$PATH"
for tool in moto_server cfn-lint cargo-lambda python3; do
  [ "$(command -v "$tool")" = "$TOOLS_BIN/$tool" ] || { echo "error: $tool does not resolve to $TOOLS_BIN" >&2; exit 1; }
done
command -v curl >/dev/null 2>&1 || { echo "error: curl is not installed (Debian/Ubuntu: apt-get install curl)" >&2; exit 1; }
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt >/dev/null 2>&1 || true

step "moto (local AWS emulator)"
MOTO_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
MOTO_LOG=$(mktemp)
moto_server -H 127.0.0.1 -p "$MOTO_PORT" >"$MOTO_LOG" 2>&1 &
MOTO_PID=$!
trap 'kill $MOTO_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  if curl -s -o /dev/null "http://127.0.0.1:$MOTO_PORT/moto-api/"; then break; fi
  sleep 0.2
done
curl -s -o /dev/null "http://127.0.0.1:$MOTO_PORT/moto-api/" || { echo "moto did not start:"; cat "$MOTO_LOG"; exit 1; }
export AWS_ENDPOINT_URL="http://127.0.0.1:$MOTO_PORT"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
echo "moto on $AWS_ENDPOINT_URL"

step "cfn-lint template.yaml"
cfn-lint template.yaml

step "cargo fmt --check"
cargo fmt --all -- --check

if [ "${SKIP_CLIPPY:-}" != "1" ]; then
  step "cargo clippy"
  cargo clippy --workspace --all-targets --quiet -- -D warnings
fi

step "cargo test"
cargo test --workspace

if [ "${SKIP_ARM64_BUILD:-}" != "1" ]; then
  step "cargo lambda build --release --arm64 (every function)"
  cargo lambda build --release --arm64 \
    -p lever-hire-webhook -p lessonly-sync -p litmos-sync -p theorg-import
  ls -l target/lambda/*/bootstrap
fi

step "all checks passed"
