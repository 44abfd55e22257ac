#!/usr/bin/env sh
# genesys-tls lint as a CI gate.
#
#   examples/lint_ci_gate.sh [ENV]          (default: examples/environment.yaml)
#
# LINT_SUPPRESSIONS=FILE passes --suppressions FILE (accepted findings, each with a reason; see
# docs/lint-ci.md): suppressed findings do not fail the gate and are marked as suppressed in the SARIF.
#
# 1. Writes lint.sarif (SARIF 2.1.0) for code-scanning tools, whatever the findings: upload it, e.g. on
#    GitHub with github/codeql-action/upload-sarif (sarif_file: lint.sarif).
# 2. Prints the findings as text and fails the job when any warning or error is found.
#
# Exit codes of genesys-tls lint: 0 no finding at or above --fail-on; 1 findings at or above it; 2 the
# environment cannot be loaded at all, or bad usage. This script exits with the gate's code.
set -u

ENV_FILE="${1:-examples/environment.yaml}"
SARIF="${SARIF:-lint.sarif}"

# Step 1: the report for code scanning. Exit 1 (findings) is expected here; only 2 stops the job.
genesys-tls lint "$ENV_FILE" ${LINT_SUPPRESSIONS:+--suppressions "$LINT_SUPPRESSIONS"} --format sarif > "$SARIF"
status=$?
if [ "$status" -eq 2 ]; then
    echo "lint: $ENV_FILE cannot be loaded (see the message above)" >&2
    exit 2
fi
echo "lint: SARIF report written to $SARIF"

# Step 2: the gate. Warnings fail the build too; use --fail-on error to let warnings through.
genesys-tls lint "$ENV_FILE" ${LINT_SUPPRESSIONS:+--suppressions "$LINT_SUPPRESSIONS"} --fail-on warning
status=$?
case "$status" in
    0) echo "lint: no warnings or errors" ;;
    1) echo "lint: findings at or above 'warning': failing the build" >&2 ;;
    *) echo "lint: $ENV_FILE cannot be loaded" >&2 ;;
esac
exit "$status"
