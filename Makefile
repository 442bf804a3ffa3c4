# kycengine: `make run` installs everything and verifies a generated sample; `make test` runs the
# tests; `make bench` installs the peers and runs every benchmark (updates README's Performance).
.PHONY: setup run test bench clean

setup:
	@bash scripts/setup.sh

run: setup
	@.venv/bin/kyc synth sample out/sample
	@.venv/bin/kyc verify --document out/sample/document.mp4 --selfie out/sample/selfie.mp4

test: setup
	@bash scripts/ensure-redis.sh
	@.venv/bin/python -m pytest -q -n 2 --dist loadfile

bench: setup
	@bash scripts/setup-bench.sh
	@bash scripts/ensure-redis.sh
	@.venv/bin/python -m benchmarks

clean:
	rm -rf out .pytest_cache
