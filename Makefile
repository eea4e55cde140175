# Thin wrapper over CMake + CTest.  The two commands of the README:
#   make demo   build cnnc and run the LeNet-5 demo (float32, then int8)
#   make test   build, then run the whole test suite (and again under ASan+UBSan)

BUILD      ?= build
BUILD_SAN  ?= build-san
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?=

.PHONY: all demo test test-fast bench bench-mcu deps deps-test build build-san clean

all: build

deps:
	@scripts/install-deps.sh build

deps-test:
	@scripts/install-deps.sh test

build: deps
	cmake -S . -B $(BUILD) -DCNNC_WERROR=ON $(CMAKE_ARGS)
	cmake --build $(BUILD) -j $(JOBS)

# clang, so the fuzz targets get libFuzzer (tests labelled fuzz-smoke).  A
# Debug build (assertions on) at -O1, the level ASan recommends: at -O0 the
# sanitized cnnc calibrates a network several times slower.
build-san: deps-test
	CC=clang cmake -S . -B $(BUILD_SAN) -DCNNC_WERROR=ON -DCNNC_SANITIZE=ON -DCNNC_FUZZ=ON \
	    -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS_DEBUG="-g -O1" $(CMAKE_ARGS)
	cmake --build $(BUILD_SAN) -j $(JOBS)

# The main job, as a user would run it: the table, the C, the build, the run.
FM    = examples/fashion-mnist
CNNC  = $(BUILD)/compiler/cnnc
DEMO  = $(BUILD)/demo
demo: build
	@mkdir -p $(DEMO)
	@echo; echo "== 1. LeNet-5, checked: the layer table"
	$(CNNC) $(FM)/lenet5.net --table
	@echo; echo "== 2. Compiled to C with the trained weights, and the runtime beside it"
	$(CNNC) $(FM)/lenet5.net -w $(FM)/lenet5.safetensors -o $(DEMO)/lenet5.c
	$(CNNC) --emit-runtime $(DEMO)/runtime
	@echo; echo "== 3. Built with the C compiler"
	cc -std=c99 -O2 -Wall -Wextra -Werror -pedantic -I$(DEMO) -I$(DEMO)/runtime \
	    $(FM)/demo.c $(DEMO)/lenet5.c $(DEMO)/runtime/*.c -lm -o $(DEMO)/lenet5_demo
	@echo; echo "== 4. Run on the embedded sample of the Fashion-MNIST test set"
	$(DEMO)/lenet5_demo $(FM)/sample-images-idx3-ubyte $(FM)/sample-labels-idx1-ubyte
	@echo; echo "== 5. Quantized to int8 by cnnc, calibrated on 1,000 training images, and built"
	gzip -dc $(FM)/calib-images-idx3-ubyte.gz > $(DEMO)/calib-images-idx3-ubyte
	$(DEMO)/lenet5_demo --write-inputs $(DEMO)/calib.f32 $(DEMO)/calib-images-idx3-ubyte
	@mkdir -p $(DEMO)/int8
	$(CNNC) $(FM)/lenet5.net -w $(FM)/lenet5.safetensors --int8 --calibrate=$(DEMO)/calib.f32 \
	    -o $(DEMO)/int8/lenet5.c
	cc -std=c99 -O2 -Wall -Wextra -Werror -pedantic -I$(DEMO)/int8 -I$(DEMO)/runtime \
	    $(FM)/demo.c $(DEMO)/int8/lenet5.c $(DEMO)/runtime/*.c -lm -o $(DEMO)/lenet5_demo_int8
	@echo; echo "== 6. float32 and int8 side by side on the sample (500 test images)"
	@echo "   flash and RAM in bytes (code: cnnc's estimate for Cortex-M4), time per image on this machine"
	@echo "          accuracy  weights +  code =   flash  RAM: arena  us/image"
	@$(DEMO)/lenet5_demo --brief $(FM)/sample-images-idx3-ubyte $(FM)/sample-labels-idx1-ubyte
	@$(DEMO)/lenet5_demo_int8 --brief $(FM)/sample-images-idx3-ubyte $(FM)/sample-labels-idx1-ubyte

# The whole suite, then the suite again with cnnc and the runtime built by
# clang with AddressSanitizer and UndefinedBehaviorSanitizer (LeakSanitizer
# included), and the fuzz targets run briefly.  The second pass leaves out
# what no sanitizer can see into (SAN_SKIP, a ctest -LE label regex): the
# Cortex-M and firmware tests check cross-compiled code run under QEMU or
# only inspected (cnnc's side of them runs sanitized in the e2e and quant
# tests, on the same networks), the benchmark, and the 10,000-image runs
# (label long), whose code paths their 500-image samples run sanitized.
SAN_SKIP ?= ^(mcu|firmware|bench|long)$$
test: deps-test build build-san
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	cd $(BUILD_SAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS) -LE '$(SAN_SKIP)'

test-fast: deps-test build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# Generated C against PyTorch, microseconds per inference (bench/README.md).
# Options go through BENCH_ARGS, e.g. make bench BENCH_ARGS="--only lenet5 --repeats 51".
BENCH_ARGS ?=
bench: deps-test build
	/usr/bin/python3 bench/run.py --cnnc $(BUILD)/compiler/cnnc $(BENCH_ARGS)

# Instructions per inference on Cortex-M4F and Cortex-M7 under QEMU, counted by
# the insn_count plugin (bench/README.md), e.g.
# make bench-mcu BENCH_MCU_ARGS="--only lenet5 --per-layer".
BENCH_MCU_ARGS ?=
bench-mcu: deps-test build
	/usr/bin/python3 bench/mcu.py --cnnc $(BUILD)/compiler/cnnc \
	    --plugin $(BUILD)/tools/qemu-insn-plugin/libinsn_count.so $(BENCH_MCU_ARGS)

clean:
	rm -rf $(BUILD) $(BUILD_SAN)
