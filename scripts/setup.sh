#!/usr/bin/env bash
# Installs what Loupe needs on a fresh Debian machine that has the Swift toolchain:
# OpenBLAS (BLAS + LAPACK, opened at run time) and readline (the REPL). Idempotent and quiet when all is there.
set -euo pipefail

missing=()
have_lib() { ldconfig -p 2>/dev/null | grep -q "$1"; }
have_lib 'libopenblas\.so\.0' || missing+=(libopenblas-dev)
[ -f /usr/include/readline/readline.h ] || missing+=(libreadline-dev)

if [ ${#missing[@]} -gt 0 ]; then
    echo "loupe setup: installing ${missing[*]}" >&2
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo_cmd apt-get update -qq >&2
    $sudo_cmd apt-get install -y -qq "${missing[@]}" >&2
fi

command -v swift >/dev/null || { echo "loupe setup: the Swift toolchain (swift) is not on PATH" >&2; exit 1; }
