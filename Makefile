# Nalar: `make serve` and `make test` are all a fresh clone needs.
BUILD      ?= build
BUILD_ASAN ?= build-asan
JOBS       ?= $(shell nproc)

.PHONY: all deps build test test-asan testdata bench bench-quick serve clean bench-image bench-classify bench-batch

all: build

deps:
	@bash scripts/install-deps.sh

$(BUILD)/build.ninja: | deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD) -j $(JOBS)

testdata: deps
	@bash scripts/gen-onnx-node-tests.sh
	@bash scripts/make-test-models.sh

test: build testdata
	cd $(BUILD) && ctest --output-on-failure

$(BUILD_ASAN)/build.ninja: | deps
	cmake -S . -B $(BUILD_ASAN) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNALAR_SANITIZE=ON

# Sanitizer reports of every process go to files (a served `nalar`'s stderr is only shown when its
# test fails, so a report there would otherwise pass unseen); any report fails the target.
SAN_LOGS = $(abspath $(BUILD_ASAN))/sanitizer-logs
test-asan: deps testdata $(BUILD_ASAN)/build.ninja
	ninja -C $(BUILD_ASAN) -j $(JOBS)
	rm -rf $(SAN_LOGS) && mkdir -p $(SAN_LOGS)
	cd $(BUILD_ASAN) && ASAN_OPTIONS=detect_leaks=1:log_path=$(SAN_LOGS)/asan \
	  UBSAN_OPTIONS=print_stacktrace=1:log_path=$(SAN_LOGS)/ubsan ctest --output-on-failure; \
	  rc=$$?; if [ -n "$$(ls -A $(SAN_LOGS))" ]; then cat $(SAN_LOGS)/*; \
	  echo "sanitizer reports above (files in $(SAN_LOGS))"; exit 1; fi; exit $$rc

bench: build
	@bash bench/run.sh

bench-quick: build
	@bash bench/run.sh --quick

serve: build
	./$(BUILD)/nalar serve --model-repository models/repository

clean:
	rm -rf $(BUILD) $(BUILD_ASAN)

# Tokeniser throughput against python3-sentencepiece in the same run (bench/text_tokenizers.py).
.PHONY: bench-text
bench-text: build
	/usr/bin/python3 bench/text_tokenizers.py $(BUILD)/tests/nalar_tokenize

# Image preprocessing vs Pillow: updates the image section of bench/RESULTS.md.
bench-image: deps $(BUILD)/build.ninja
	ninja -C $(BUILD) -j $(JOBS) nalar_image_prep
	@BUILD=$(BUILD) bash bench/image/run.sh

# End-to-end /classify (JPEG -> resnet18 -> top-5) vs ready tensors: the classify section of
# bench/RESULTS.md. Exports resnet18 into bench/.models first when it is missing.
bench-classify: build
	@test -f bench/.models/resnet18/model.onnx || \
	  /usr/bin/python3 bench/export_bench_models.py bench/.models --only resnet18
	/usr/bin/python3 bench/classify/classify_bench.py $(BUILD)/nalar bench/.models bench/RESULTS.md

bench-batch: build
	@bash bench/batch/run.sh
.PHONY: bench-serve bench-serve-quick
bench-serve: build
	@bash bench/serve/run.sh

bench-serve-quick: build
	@bash bench/serve/run.sh --quick
