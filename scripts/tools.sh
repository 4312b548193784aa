#!/usr/bin/env bash
# Installs the Python test tools into a virtual environment of the repository's own, `.venv-tools/`
# (git-ignored), from scripts/requirements-tools.txt, and checks that every module the tests import
# and every command they run is there. Relies on nothing but `python3` with its venv module.
#   ./scripts/tools.sh          install if missing or out of date, then check
#   ./scripts/tools.sh --fresh  remove the venv first: proves the install works from nothing (CI)
# Prints the venv's bin directory last, for `PATH=...`.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv-tools
REQUIREMENTS=scripts/requirements-tools.txt
STAMP="$VENV/.requirements.sha256"

fail() { printf 'error: %s\n' "$*" >&2; exit 1; }

[ "${1:-}" = "--fresh" ] && rm -rf "$VENV"

command -v python3 >/dev/null 2>&1 || fail "python3 is not installed (Debian/Ubuntu: apt-get install python3 python3-venv)"
wanted=$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$wanted" ]; then
  rm -rf "$VENV"
  python3 -m venv "$VENV" >&2 \
    || fail "python3 -m venv failed: install Python's venv module (Debian/Ubuntu: apt-get install python3-venv)"
  echo "installing the test tools into $VENV (pinned in $REQUIREMENTS)" >&2
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$REQUIREMENTS" >&2 \
    || fail "pip could not install $REQUIREMENTS into $VENV (see pip's message above)"
  echo "$wanted" >"$STAMP"
fi

# Every module the tests import, and every command they run, or a loud failure naming what is missing.
"$VENV/bin/python" - >&2 <<'PY' || fail "the test tools in .venv-tools are incomplete (above); run ./scripts/tools.sh --fresh"
import importlib, sys
modules = {
    "moto": "moto[server]", "moto.server": "moto[server]", "flask": "moto[server]", "flask_cors": "moto[server]",
    "cfnlint": "cfn-lint", "samtranslator": "aws-sam-translator",
    "samtranslator.translator.transform": "aws-sam-translator", "samtranslator.yaml_helper": "aws-sam-translator",
    "ziglang": "cargo-lambda",
}
missing = []
for module, package in modules.items():
    try:
        importlib.import_module(module)
    except Exception as error:  # noqa: BLE001 - any failure to import is a missing tool
        missing.append(f"  {module} (package {package}): {error}")
if missing:
    print("missing Python modules:\n" + "\n".join(missing), file=sys.stderr)
    sys.exit(1)
PY
for command in moto_server cfn-lint cargo-lambda; do
  [ -x "$VENV/bin/$command" ] || fail "$VENV/bin/$command is missing after the install"
done
"$VENV/bin/cargo-lambda" lambda --version >/dev/null 2>&1 || fail "$VENV/bin/cargo-lambda does not run"
echo "test tools ready in $VENV: $("$VENV/bin/cargo-lambda" lambda --version), $("$VENV/bin/cfn-lint" --version), moto $("$VENV/bin/python" -c 'import moto; print(moto.__version__)')" >&2
echo "$PWD/$VENV/bin"
