#!/usr/bin/env python3
"""Meridian proof-of-GPU benchmark: the agent-side half of src/shared/verification.

Talks JSON lines over stdin/stdout so it runs the same as a host process or inside a container:
  stdin  line 1: the challenge (VerificationChallenge, src/shared/verification/messages.ts)
  stdout line 1: {"type": "commit", "root", "measured", "backend", "device"}
  stdin  line 2: the spot-check request {"challengeId", "leaves": [...], ...}
  stdout line 2: {"type": "answer", "openings": [{"leaf", "row", "proof"}]}
On failure: {"type": "error", "message"} and exit status 1. Progress goes to stderr.

The seeded generation, canonical rounding, row digests and Merkle tree below must stay identical
to seeded-matrix.ts, canonical-value.ts and merkle.ts; test/verification/python-crosscheck.test.ts
compares the roots. Backends: "cuda" (PyTorch on the GPU: the real benchmark), "numpy" and
"python" (CPU, exact, small n: for the cross-check and for hosts without PyTorch).
"""

import argparse
import base64
import hashlib
import json
import math
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

MASK = 0xFFFFFFFF
VRAM_FRACTION = 0.95


def log(message):
    print(f"gpu-bench: {message}", file=sys.stderr, flush=True)


# --- seeded generation (seeded-matrix.ts) -------------------------------------------------------
# Works on Python ints, numpy int64 arrays and torch int64 tensors alike: every value stays in
# [0, 2^32) and each multiplier is below 2^31, so no product leaves signed 64-bit range.


def hash32(x):
    x = x ^ (x >> 16)
    x = (x * 0x21F0AAAD) & MASK
    x = x ^ (x >> 15)
    x = (x * 0x735A2D97) & MASK
    x = x ^ (x >> 15)
    return x


def matrix_keys(seed_hex):
    words = [int(seed_hex[8 * w : 8 * w + 8], 16) for w in range(8)]
    return (words[0] ^ words[4], words[1] ^ words[5], words[2] ^ words[6], words[3] ^ words[7])


def stream_constant(keys, stream):
    return (keys[1] ^ hash32((stream ^ keys[2]) & MASK) ^ keys[3]) & MASK


def entries(keys, constant, index):
    raw = hash32(hash32(index ^ keys[0]) ^ constant)
    return raw % 5 - 2


# --- canonical rounding (canonical-value.ts) ----------------------------------------------------

FORMATS = {"bf16": (7, 127, 255), "fp16": (10, 15, 31)}


def integer_to_dtype_bits(value, dtype):
    mantissa_bits, bias, max_field = FORMATS[dtype]
    sign = 0x8000 if value < 0 else 0
    magnitude = abs(value)
    if magnitude == 0:
        return sign
    exponent = magnitude.bit_length() - 1
    if exponent <= mantissa_bits:
        significand = magnitude << (mantissa_bits - exponent)
    else:
        shift = exponent - mantissa_bits
        significand = magnitude >> shift
        rest = magnitude - (significand << shift)
        half = 1 << (shift - 1)
        if rest > half or (rest == half and significand & 1):
            significand += 1
        if significand == 1 << (mantissa_bits + 1):
            significand >>= 1
            exponent += 1
    field = exponent + bias
    if field >= max_field:
        return sign | (max_field << mantissa_bits)
    return sign | (field << mantissa_bits) | (significand & ((1 << mantissa_bits) - 1))


def numpy_exact_to_bits(np, exact, dtype):
    """Exact integers (|v| < 2^24, so float32 holds them) to the dtype's bits, round-half-even."""
    as_f32 = exact.astype(np.float32)
    if dtype == "fp16":
        return as_f32.astype(np.float16).view(np.uint16)
    u = as_f32.view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


# --- commitment (merkle.ts) ---------------------------------------------------------------------


def leaf_digest(row_bytes):
    h = hashlib.sha256(b"\x00")
    h.update(row_bytes)  # a buffer over 2 KiB is hashed without the GIL: threads scale
    return h.digest()


def merkle_levels(leaves):
    levels = [leaves]
    while len(levels[-1]) > 1:
        level = levels[-1]
        levels.append(
            [hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level), 2)]
        )
    return levels


def merkle_proof(levels, index):
    proof = []
    for level in levels[:-1]:
        proof.append(level[index ^ 1].hex())
        index >>= 1
    return proof


# --- backends -----------------------------------------------------------------------------------


class Rows:
    """Every block's rows as canonical little-endian uint16 bytes, kept for the openings."""

    def __init__(self, n):
        self.n = n
        self.blocks = []  # each: bytes-like of n*n*2 bytes, row-major

    def row(self, leaf):
        block, i = divmod(leaf, self.n)
        data = self.blocks[block]
        return bytes(data[i * 2 * self.n : (i + 1) * 2 * self.n])

    def leaf_digests(self, pool):
        out = []
        for data in self.blocks:
            view = memoryview(data)
            stride = 2 * self.n
            out.extend(pool.map(lambda i: leaf_digest(view[i * stride : (i + 1) * stride]), range(self.n)))
        return out


def run_cuda(challenge, torch, pool):
    n, blocks, dtype_name = challenge["n"], challenge["blocks"], challenge["dtype"]
    # Split-K reductions in reduced precision would round partial sums; fp32 throughout keeps the
    # integer products exact, so the result is the canonical one.
    torch.backends.cuda.matmul.allow_bf16_reduced_precision_reduction = False
    torch.backends.cuda.matmul.allow_fp16_reduced_precision_reduction = False
    dtype = torch.bfloat16 if dtype_name == "bf16" else torch.float16
    device = torch.device("cuda")
    keys = matrix_keys(challenge["seed"])

    def generate(stream):
        constant = stream_constant(keys, stream)
        out = torch.empty((n, n), dtype=dtype, device=device)
        rows = max(1, (1 << 24) // n)
        for r0 in range(0, n, rows):
            r1 = min(n, r0 + rows)
            index = torch.arange(r0 * n, r1 * n, dtype=torch.int64, device=device)
            out[r0:r1] = entries(keys, constant, index).view(r1 - r0, n).to(dtype)
        return out

    a = generate(0)
    warm = a @ a  # first-use costs (cuBLAS handle, kernel selection) stay out of the timing
    torch.cuda.synchronize()
    del warm
    result = Rows(n)
    matmul_ms = 0.0
    digests = []
    for block in range(blocks):
        b = generate(1 + block)
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        c = a @ b
        end.record()
        end.synchronize()
        matmul_ms += start.elapsed_time(end)
        host = c.view(torch.int16).cpu().numpy().astype("<i2", copy=False)
        result.blocks.append(host.tobytes())
        del b, c
        log(f"block {block + 1}/{blocks}: {matmul_ms:.2f} ms of products so far")
    digests = result.leaf_digests(pool)
    del a
    torch.cuda.empty_cache()

    size = challenge["bandwidthBytes"]
    src = torch.empty(size, dtype=torch.uint8, device=device).fill_(1)
    dst = torch.empty_like(src)
    for _ in range(2):
        dst.copy_(src)
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    rounds = 10
    start.record()
    for _ in range(rounds):
        dst.copy_(src)
    end.record()
    end.synchronize()
    bandwidth = 2 * size * rounds / (start.elapsed_time(end) / 1000) / 1e9
    del src, dst
    torch.cuda.empty_cache()

    target_mib = math.ceil(challenge["vramMib"] * VRAM_FRACTION)
    chunks, held_mib = [], 0
    try:
        while held_mib < target_mib:
            step = min(256, target_mib - held_mib)
            chunks.append(torch.empty(step * 1024 * 1024, dtype=torch.uint8, device=device).fill_(7))
            held_mib += step
        torch.cuda.synchronize()
    except RuntimeError as error:  # out of memory: report what was held
        log(f"VRAM allocation stopped at {held_mib} MiB: {error}")
    del chunks
    torch.cuda.empty_cache()
    measured = {
        "matmulMs": matmul_ms,
        "bandwidthGBps": bandwidth,
        "bandwidthBytes": size,
        "vramAllocatedMib": held_mib,
    }
    backend = f"torch {torch.__version__} cuda {torch.version.cuda}"
    return result, digests, measured, backend, torch.cuda.get_device_name(device)


def run_numpy(challenge, np, pool):
    n, blocks, dtype = challenge["n"], challenge["blocks"], challenge["dtype"]
    keys = matrix_keys(challenge["seed"])
    index = np.arange(n * n, dtype=np.int64)
    a = entries(keys, stream_constant(keys, 0), index).reshape(n, n).astype(np.float64)
    result = Rows(n)
    matmul_ms = 0.0
    for block in range(blocks):
        b = entries(keys, stream_constant(keys, 1 + block), index).reshape(n, n).astype(np.float64)
        started = time.perf_counter()
        exact = a @ b  # float64 holds these integer sums exactly
        matmul_ms += (time.perf_counter() - started) * 1000
        result.blocks.append(numpy_exact_to_bits(np, exact, dtype).astype("<u2").tobytes())
    size = min(challenge["bandwidthBytes"], 64 * 1024 * 1024)
    src = np.ones(size, dtype=np.uint8)
    dst = np.empty_like(src)
    started = time.perf_counter()
    for _ in range(4):
        np.copyto(dst, src)
    bandwidth = 2 * size * 4 / max(time.perf_counter() - started, 1e-9) / 1e9
    measured = {"matmulMs": matmul_ms, "bandwidthGBps": bandwidth, "bandwidthBytes": size, "vramAllocatedMib": 0}
    return result, result.leaf_digests(pool), measured, f"numpy {np.__version__} cpu", "cpu"


def run_python(challenge, pool):
    n, blocks, dtype = challenge["n"], challenge["blocks"], challenge["dtype"]
    if n > 128:
        raise ValueError("the pure-Python backend takes n <= 128")
    keys = matrix_keys(challenge["seed"])
    c0 = stream_constant(keys, 0)
    a = [[entries(keys, c0, i * n + j) for j in range(n)] for i in range(n)]
    result = Rows(n)
    matmul_ms = 0.0
    for block in range(blocks):
        cb = stream_constant(keys, 1 + block)
        b = [[entries(keys, cb, l * n + j) for j in range(n)] for l in range(n)]
        started = time.perf_counter()
        data = bytearray()
        for i in range(n):
            for j in range(n):
                exact = sum(a[i][l] * b[l][j] for l in range(n))
                data += integer_to_dtype_bits(exact, dtype).to_bytes(2, "little")
        matmul_ms += (time.perf_counter() - started) * 1000
        result.blocks.append(bytes(data))
    measured = {"matmulMs": matmul_ms, "bandwidthGBps": 1.0, "bandwidthBytes": 0, "vramAllocatedMib": 0}
    return result, result.leaf_digests(pool), measured, f"python {sys.version.split()[0]} cpu", "cpu"


def choose_backend(wanted):
    if wanted in ("auto", "cuda"):
        try:
            import torch

            if torch.cuda.is_available():
                return "cuda", torch
            if wanted == "cuda":
                raise RuntimeError("PyTorch sees no CUDA device")
        except ImportError:
            if wanted == "cuda":
                raise RuntimeError("PyTorch is not installed") from None
    if wanted in ("auto", "numpy"):
        try:
            import numpy

            return "numpy", numpy
        except ImportError:
            if wanted == "numpy":
                raise RuntimeError("numpy is not installed") from None
    return "python", None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["auto", "cuda", "numpy", "python"], default="auto")
    args = parser.parse_args()
    emit = lambda message: print(json.dumps(message, separators=(",", ":")), flush=True)  # noqa: E731
    try:
        challenge = json.loads(sys.stdin.readline())
        started = time.perf_counter()
        backend, module = choose_backend(args.backend)
        log(f"challenge {challenge['id']}: n={challenge['n']} blocks={challenge['blocks']} {challenge['dtype']} on {backend}")
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 4) as pool:
            if backend == "cuda":
                rows, digests, measured, name, device = run_cuda(challenge, module, pool)
            elif backend == "numpy":
                rows, digests, measured, name, device = run_numpy(challenge, module, pool)
            else:
                rows, digests, measured, name, device = run_python(challenge, pool)
        levels = merkle_levels(digests)
        measured["totalMs"] = (time.perf_counter() - started) * 1000
        emit({"type": "commit", "root": levels[-1][0].hex(), "measured": measured, "backend": name, "device": device})
        line = sys.stdin.readline()
        if not line:
            return 0  # the agent closed the session without asking: nothing to open
        request = json.loads(line)
        openings = [
            {
                "leaf": leaf,
                "row": base64.b64encode(rows.row(leaf)).decode("ascii"),
                "proof": merkle_proof(levels, leaf),
            }
            for leaf in request["leaves"]
        ]
        emit({"type": "answer", "openings": openings})
        return 0
    except Exception as error:  # reported to the agent as a line it can parse, not a traceback
        emit({"type": "error", "message": f"{type(error).__name__}: {error}"})
        return 1


if __name__ == "__main__":
    sys.exit(main())
