# Thin wrapper over CMake + CTest.  The two commands of the README:
#   make demo   build cnnc and run the LeNet-5 demo
#   make test   build, then run the whole test suite (and again under ASan+UBSan)

BUILD      ?= build
BUILD_SAN  ?= build-san
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?=

.PHONY: all demo test test-fast deps deps-test build build-san clean

all: build

deps:
	@scripts/install-deps.sh build

deps-test:
	@scripts/install-deps.sh test

build: deps
	cmake -S . -B $(BUILD) -DCNNC_WERROR=ON $(CMAKE_ARGS)
	cmake --build $(BUILD) -j $(JOBS)

build-san: deps
	cmake -S . -B $(BUILD_SAN) -DCNNC_WERROR=ON -DCNNC_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug $(CMAKE_ARGS)
	cmake --build $(BUILD_SAN) -j $(JOBS)

demo: build
	@echo
	$(BUILD)/compiler/cnnc examples/lenet5.net --table

# The whole suite, then the whole suite again with cnnc and the runtime built
# with AddressSanitizer and UndefinedBehaviorSanitizer.
test: deps-test build build-san
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	cd $(BUILD_SAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS)

test-fast: deps-test build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

clean:
	rm -rf $(BUILD) $(BUILD_SAN)
