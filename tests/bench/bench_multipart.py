"""Multipart parsing speed: our parser against python-multipart and Falcon's parser.

Backs the claim in ``crashline/collector/multipart.py`` that finding delimiters with
``bytes.find`` makes our parser faster than the libraries. Each parser reads the same body
in 256 KiB pieces (as the collector reads a request) and hands over every part's content;
prints MB/s of body parsed, the median of ``--repeat`` runs, for a typical report (400 KiB
dump, 40 annotations) and the largest one (25 MiB of dump). Asserts nothing.

    .venv/bin/python tests/bench/bench_multipart.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time

import python_multipart
from bench_collector import realistic_annotations, realistic_minidump
from falcon.media.multipart import MultipartForm, MultipartParseOptions
from falcon.util.reader import BufferedReader

from crashline.collector.client import encode_multipart
from crashline.collector.multipart import MultipartParser

PIECE = 256 * 1024


class Sink:
    def __init__(self):
        self.size = 0

    def part_begin(self, headers):
        pass

    def part_data(self, data):
        self.size += len(data)

    def part_end(self):
        pass


def ours(body: bytes, boundary: bytes) -> int:
    sink = Sink()
    parser = MultipartParser(boundary, sink)
    for start in range(0, len(body), PIECE):
        parser.feed(body[start:start + PIECE])
    parser.close()
    return sink.size


def python_multipart_parser(body: bytes, boundary: bytes) -> int:
    size = 0

    def on_part_data(data, start, end):
        nonlocal size
        size += end - start

    parser = python_multipart.MultipartParser(boundary, {"on_part_data": on_part_data},
                                              max_header_count=64)
    for start in range(0, len(body), PIECE):
        parser.write(body[start:start + PIECE])
    parser.finalize()
    return size


def falcon_parser(body: bytes, boundary: bytes) -> int:
    stream = io.BytesIO(body)
    options = MultipartParseOptions()
    options.max_body_part_count = 0  # no limit
    options.max_body_part_buffer_size = 64 * 1024 * 1024
    form = MultipartForm(BufferedReader(stream.read, len(body), PIECE), boundary, len(body),
                         options)
    size = 0
    for part in form:
        while chunk := part.stream.read(PIECE):
            size += len(chunk)
    return size


PARSERS = {"crashline": ours, "python-multipart": python_multipart_parser,
           "falcon": falcon_parser}


def measure(func, body: bytes, boundary: bytes, repeat: int) -> float:
    rates = []
    for _ in range(repeat):
        started = time.perf_counter()
        func(body, boundary)
        rates.append(len(body) / (time.perf_counter() - started) / 1e6)
    return statistics.median(rates)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    bodies = {
        "typical report (400 KiB dump, 40 annotations)":
            encode_multipart(realistic_annotations(), {"upload_file_minidump":
                                                       realistic_minidump()}),
        "largest report (25 MiB dump)":
            encode_multipart(realistic_annotations(), {"upload_file_minidump":
                                                       os.urandom(25 * 1024 * 1024)}),
    }
    print(f"MB/s of body parsed in {PIECE // 1024} KiB pieces, median of {args.repeat} runs")
    for label, (body, boundary) in bodies.items():
        sizes = {name: func(body, boundary.encode()) for name, func in PARSERS.items()}
        if len(set(sizes.values())) != 1:
            print(f"   parsers disagree on {label}: {sizes}")
            return 1
        rates = {name: measure(func, body, boundary.encode(), args.repeat)
                 for name, func in PARSERS.items()}
        print(f"{label}: " + ", ".join(f"{name} {rate:,.0f}" for name, rate in rates.items())
              + f"  (crashline x{rates['crashline'] / rates['python-multipart']:.1f} "
              f"python-multipart, x{rates['crashline'] / rates['falcon']:.1f} falcon)",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
