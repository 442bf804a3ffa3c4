#!/usr/bin/env bash
# Install the benchmark peers (PassportEye, FastMRZ, face_recognition with dlib-bin) into .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=.venv/.kycengine-bench-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing benchmark peers into .venv"
  .venv/bin/python -m pip install -q -e ".[test,bench]"
  .venv/bin/python -m pip install -q --no-deps "face_recognition==1.3.0"
  touch "$stamp"
fi
