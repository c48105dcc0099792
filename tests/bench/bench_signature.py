"""Signature generation throughput on one core (run: python tests/bench/bench_signature.py).

Builds a deterministic corpus of realistic crash data (seeded random: up to 60 frames, C++
templates and qualifiers, Rust with hashes and inline frames, library-only frames, Java traces,
with frames shared across crashes the way one product's crashes share them) and prints
signatures per second, median of several runs, from a cold cache and from a warm one.
Target: over 20,000 per second.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from typing import Any

from crashline.common.signature import SignatureGenerator, normalize

NAMESPACES = ["mozilla", "app", "gfx", "net", "dom", "js", "media", "ipc", "base", "ui"]
CLASSES = [
    "Renderer",
    "Parser",
    "Cache",
    "Session",
    "Channel",
    "Worker",
    "Layer",
    "Buffer",
    "Document",
    "Socket",
    "Decoder",
    "Compositor",
    "Timer",
    "Loader",
    "Pool",
]
METHODS = [
    "Run",
    "Paint",
    "Read",
    "Write",
    "Flush",
    "Resolve",
    "Dispatch",
    "Update",
    "Init",
    "Destroy",
    "OnData",
    "Process",
    "Reset",
    "Commit",
    "HandleEvent",
]
TYPES = [
    "int",
    "unsigned long",
    "char const*",
    "std::string const&",
    "nsISupports*",
    "bool",
    "mozilla::Span<unsigned char const, 18446744073709551615ul>",
    "double",
    "void*",
]
RUST_CRATES = ["style", "webrender", "neqo_transport", "glean_core", "app_core", "wgpu_core"]
SYSTEM_TOP = [
    "abort",
    "raise",
    "__pthread_kill_implementation",
    "NtWaitForMultipleObjects",
    "KiUserExceptionDispatcher",
    "memcpy",
    "__memmove_avx_unaligned_erms",
    "free",
    "malloc",
    "_int_free",
    "RtlFreeHeap",
    "objc_msgSend",
    "__assert_fail",
    "std::panicking::rust_panic_with_hook",
    "core::panicking::panic_fmt",
]
MODULES = [
    "app.exe",
    "libapp.so",
    "XUL",
    "ntdll.dll",
    "KERNELBASE.dll",
    "libc.so.6",
    "NVWGF2UMX.DLL",
    "libsystem_kernel.dylib",
    "libGLX_nvidia.so.0",
]


def cpp_symbol(rng: random.Random) -> str:
    ns, cls, method = rng.choice(NAMESPACES), rng.choice(CLASSES), rng.choice(METHODS)
    args = ", ".join(rng.sample(TYPES, rng.randint(0, 3)))
    name = f"{ns}::{cls}::{method}({args})"
    roll = rng.random()
    if roll < 0.3:
        inner = rng.choice(TYPES)
        name = f"{ns}::{cls}<{inner}, {ns}::detail::Policy<{rng.choice(TYPES)}>>::{method}({args})"
    elif roll < 0.4:
        name = f"void {name}"
    if rng.random() < 0.2:
        name += rng.choice([" const", " const &", " &&"])
    if rng.random() < 0.05:
        name = f"`anonymous namespace'::{cls}::{method}({args})"
    return name


def rust_symbol(rng: random.Random) -> str:
    crate, cls, method = rng.choice(RUST_CRATES), rng.choice(CLASSES), rng.choice(METHODS)
    name = f"{crate}::{cls.lower()}::{cls}::{method.lower()}"
    if rng.random() < 0.3:
        name = f"<{crate}::{cls} as core::ops::drop::Drop>::drop"
    elif rng.random() < 0.3:
        name = f"{crate}::{cls.lower()}::{cls}<alloc::vec::Vec<u8>>::{method.lower()}"
    return f"{name}::h{rng.getrandbits(64):016x}"


def make_pools(rng: random.Random) -> tuple[list[dict], list[str]]:
    frames: list[dict[str, Any]] = []
    for _ in range(2500):
        roll = rng.random()
        if roll < 0.6:
            frames.append(
                {
                    "function": cpp_symbol(rng),
                    "module": rng.choice(MODULES[:3]),
                    "file": f"hg:hg.example.org/app:src/{rng.choice(CLASSES)}.cpp:abc",
                    "line": rng.randint(1, 4000),
                }
            )
        elif roll < 0.85:
            frame = {
                "function": rust_symbol(rng),
                "module": "libapp.so",
                "file": f"/builds/src/{rng.choice(RUST_CRATES)}/lib.rs",
                "line": rng.randint(1, 900),
            }
            if rng.random() < 0.4:
                frame["inlines"] = [
                    {
                        "function": rust_symbol(rng),
                        "file": "/builds/src/x.rs",
                        "line": rng.randint(1, 900),
                    }
                ]
            frames.append(frame)
        else:
            frames.append(
                {
                    "module": rng.choice(MODULES),
                    "module_offset": f"0x{rng.getrandbits(20):08x}",
                    "offset": f"0x{rng.getrandbits(40):016x}",
                }
            )
    java = [
        f"java.lang.{rng.choice(['IllegalStateException', 'NullPointerException'])}\n"
        f"\tat org.example.{rng.choice(CLASSES)}.{rng.choice(METHODS)}"
        f"({rng.choice(CLASSES)}.java:{rng.randint(1, 999)})\n"
        "\tat android.os.Looper.loop(Looper.java:1)"
        for _ in range(200)
    ]
    return frames, java


def make_corpus(count: int, seed: int = 20250828) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    pool, java = make_pools(rng)
    weights = [1 / (rank + 1) for rank in range(len(pool))]  # a few frames are everywhere
    corpus = []
    for _ in range(count):
        if rng.random() < 0.08:
            corpus.append({"java_stack_trace": rng.choice(java)})
            continue
        depth = rng.randint(3, 60)
        frames = [{"function": rng.choice(SYSTEM_TOP)} for _ in range(rng.randint(0, 3))]
        frames += rng.choices(pool, weights=weights, k=depth - len(frames))
        data: dict[str, Any] = {
            "os": rng.choice(["Windows NT", "Linux", "Mac OS X", "Android"]),
            "crashing_thread": 0,
            "reason": rng.choice(
                [
                    "EXCEPTION_ACCESS_VIOLATION_READ",
                    "SIGSEGV / SEGV_MAPERR",
                    "EXCEPTION_STACK_OVERFLOW",
                    "SIGABRT",
                ]
            ),
            "threads": [{"frames": frames}],
        }
        if rng.random() < 0.05:
            data["oom_allocation_size"] = rng.choice([64, 1 << 20, 1 << 28])
        if rng.random() < 0.05:
            data["abort_message"] = f"[{rng.randint(1, 9999)}] ###!!! ABORT: bad state: file a.cpp"
        corpus.append(data)
    return corpus


def clear_caches() -> None:
    for function in (
        normalize.cpp_stages,
        normalize.rust_stages,
        normalize.parse_source_file,
        normalize.is_rust_file,
    ):
        function.cache_clear()


def rate(generator: SignatureGenerator, corpus: list[dict[str, Any]]) -> float:
    generate = generator.generate
    start = time.perf_counter()
    for data in corpus:
        generate(data)
    return len(corpus) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crashes", type=int, default=4000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    corpus = make_corpus(args.crashes)
    frames = sum(len(d.get("threads", [{}])[0].get("frames", [])) for d in corpus)
    print(f"corpus: {len(corpus)} crashes, {frames} frames, seed fixed")

    start = time.perf_counter()
    SignatureGenerator()
    print(f"load + validate shipped lists: {(time.perf_counter() - start) * 1000:.1f} ms")

    cold = []
    for _ in range(args.runs):
        clear_caches()
        cold.append(rate(SignatureGenerator(), corpus))  # fresh generator: empty caches
    generator = SignatureGenerator()
    rate(generator, corpus)  # warm up
    warm = [rate(generator, corpus) for _ in range(args.runs)]

    print(f"cold cache: {statistics.median(cold):,.0f} signatures/s (median of {args.runs})")
    print(f"warm cache: {statistics.median(warm):,.0f} signatures/s (median of {args.runs})")
    print("target: > 20,000 signatures/s on one core")


if __name__ == "__main__":
    main()
