#!/usr/bin/env python3
"""Meridian proof-of-GPU benchmark: the agent-side half of src/shared/verification.

Talks JSON lines over stdin/stdout so it runs the same as a host process or inside a container:
  stdin  line 1: the challenge (VerificationChallenge, src/shared/verification/messages.ts; no seed)
  stdout line 1: {"type": "prepared"} once VRAM was filled, bandwidth measured and kernels warmed
  stdin  line 2: the release {"challengeId", "phase", "seed", "releasedAt", "expiresAt"}: timed
  where "phase" is "memory" (the challenge has a memory phase):
    stdout: {"type": "filled"} once the working set is filled from that seed
    stdin:  the walk's release (phase "walk": the lanes' seed, its own timed window)
    stdout: {"type": "walk", "root"} once the working set is walked
    stdin:  the compute phase's release
  stdout line 2: {"type": "commit", "root", "measured", "backend", "device"}
  stdin  line 3: the spot-check request {"challengeId", "leaves": [...], "walkGroups"?: [...], ...}
  stdout line 3: {"type": "answer", "openings": [{"leaf", "row", "digests", "proof"}], "walk"?: [...]}
On failure: {"type": "error", "message"} and exit status 1. Progress goes to stderr.

The seeded generation, canonical rounding, row digests and block Merkle tree below must stay
identical to seeded-matrix.ts, canonical-value.ts, row-digest.ts and merkle.ts;
test/verification/python-crosscheck.test.ts compares the roots. Backends: "cuda" (PyTorch on the
GPU: the real benchmark), "numpy" and "python" (CPU, exact, small n: for the cross-check and for
hosts without PyTorch).
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
DIGEST_STREAM = 0xFFFFFFFF  # row-digest.ts: the digest keys' stream, past every B block


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


# Entries lie in [-half, half] (seeded-matrix.ts): bf16 challenges take 9-bit integers, which no
# int8 or fp8 path holds; fp16 challenges keep [-2, 2] so C fits fp16's range.
ENTRY_HALF = {"bf16": 256, "fp16": 2}


def matrix_keys(seed_hex, dtype="bf16"):
    words = [int(seed_hex[8 * w : 8 * w + 8], 16) for w in range(8)]
    return (words[0] ^ words[4], words[1] ^ words[5], words[2] ^ words[6], words[3] ^ words[7], ENTRY_HALF[dtype])


def stream_constant(keys, stream):
    return (keys[1] ^ hash32((stream ^ keys[2]) & MASK) ^ keys[3]) & MASK


def entries(keys, constant, index):
    raw = hash32(hash32(index ^ keys[0]) ^ constant)
    return raw % (2 * keys[4] + 1) - keys[4]


# --- row digests (row-digest.ts) ----------------------------------------------------------------
# d_i = sum_j hash32(bits_ij ^ K_j) mod 2^32; each term < 2^32, so an int64 sum of n <= 2^14 of
# them stays exact and the mask at the end is the wrap.


def digest_keys(keys, column):
    return hash32(hash32(column ^ keys[0]) ^ stream_constant(keys, DIGEST_STREAM))


def row_digests(bits, key):
    """bits: (rows, n) int64 array/tensor of 16-bit patterns; key: (n,) K_j. One digest per row."""
    return hash32(bits ^ key).sum(-1) & MASK


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
    """Exact integers to the dtype's bits, round-half-even, straight from float64 (which holds them
    exactly): bf16 sums of 9-bit entries pass 2^24, where a float32 step would round twice."""
    if dtype == "fp16":  # fp16 entries are in [-2, 2]: |v| <= 2^14, exact in float32
        return exact.astype(np.float32).astype(np.float16).view(np.uint16)
    u = exact.astype(np.float64).view(np.uint64)
    one = np.uint64(1)
    r = (u + np.uint64((1 << 44) - 1) + ((u >> np.uint64(45)) & one)) >> np.uint64(45)
    sign = (r >> np.uint64(18)) & one
    field = ((r >> np.uint64(7)) & np.uint64(0x7FF)).astype(np.int64)
    mantissa = (r & np.uint64(0x7F)).astype(np.int64)
    bits = (sign.astype(np.int64) << 15) | (np.where(field == 0, 0, field - 1023 + 127) << 7) | mantissa
    return bits.astype(np.uint16)


# --- commitment (merkle.ts) ---------------------------------------------------------------------


def leaf_digest(data):
    h = hashlib.sha256(b"\x00")
    h.update(data)  # a buffer over 2 KiB is hashed without the GIL: threads scale
    return h.digest()


def merkle_levels(leaves):
    depth = max(0, math.ceil(math.log2(len(leaves))))
    level = list(leaves)
    level += [leaf_digest(b"")] * ((1 << depth) - len(level))  # merkle.ts pads with the empty vector
    levels = [level]
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


# --- the memory phase (memory-walk.ts, walk-commitment.ts) --------------------------------------
# The same on numpy int64 arrays and torch int64 tensors: every value in [0, 2^32), multipliers
# below 2^31, so no product leaves signed 64-bit range.

CHUNK_WORDS = 16
WORD_ROUNDS = 16
FOLD_MULTIPLIER = 0x5BD1E995
WORD_STREAM, LANE_STREAM, CHECKPOINT_STREAM, START_STREAM = 0xFFFFFFF0, 0xFFFFFFF1, 0xFFFFFFF2, 0xFFFFFFF3


def walk_constants(fill_keys, walk_keys):
    """The working set's constants from the memory seed, the lanes' from the walk seed."""
    return {
        "k0": fill_keys[0],
        "k1": fill_keys[1],
        "word": stream_constant(fill_keys, WORD_STREAM),
        "lane": stream_constant(fill_keys, LANE_STREAM),
        "start": stream_constant(walk_keys, START_STREAM),
        "checkpoint": stream_constant(walk_keys, CHECKPOINT_STREAM),
    }


def working_set_words(c, index):
    """Words `index` (int64 array/tensor) of the working set."""
    a = (index & MASK) ^ c["k0"]
    b = (index >> 32) ^ c["k1"]
    for r in range(WORD_ROUNDS):
        a = hash32(((a ^ c["word"]) + b + r) & MASK)
        b = hash32(((b ^ c["lane"]) + a) & MASK)
    return a ^ b


def lane_starts(c, lanes):
    return hash32(hash32(lanes ^ c["start"]) ^ c["lane"])


def walk_step(state, chunk, step):
    """state: (L,) int64; chunk: (L, 16) int64 words; step: the step number."""
    v = state
    for j in range(CHUNK_WORDS):
        v = ((v ^ chunk[:, j]) * FOLD_MULTIPLIER) & MASK
        v = v ^ (v >> 15)
    return hash32(v ^ step)


def checkpoint_keys(c, index):
    return hash32(hash32(index ^ c["start"]) ^ c["checkpoint"])


class Walk:
    """A walk's checkpoints (lanes x segments, uint32) and its tree over group-digest pages."""

    def __init__(self, spec, np, checkpoints, digests):
        self.spec, self.np, self.checkpoints = spec, np, checkpoints
        self.digests = digests.astype("<u4")
        per_page = spec["pageGroups"]
        pages = [self.digests[p : p + per_page].tobytes() for p in range(0, len(self.digests), per_page)]
        self.pages = pages
        self.levels = merkle_levels([leaf_digest(page) for page in pages])
        self.root = self.levels[-1][0].hex()

    def open(self, group):
        spec = self.spec
        lanes = self.checkpoints[group * spec["groupLanes"] : (group + 1) * spec["groupLanes"]]
        page = group // spec["pageGroups"]
        return {
            "group": group,
            "checkpoints": base64.b64encode(lanes.astype("<u4").tobytes()).decode("ascii"),
            "page": base64.b64encode(self.pages[page]).decode("ascii"),
            "proof": merkle_proof(self.levels, page),
        }


def group_digests(np, c, spec, checkpoints):
    """checkpoints: (lanes, segments) int64 -> one digest per group of lanes (numpy)."""
    index = np.arange(checkpoints.size, dtype=np.int64).reshape(checkpoints.shape)
    terms = hash32(checkpoints ^ checkpoint_keys(c, index))
    return terms.reshape(-1, spec["groupLanes"] * spec["segments"]).sum(-1) & MASK


def numpy_fill(np, spec, fill_seed):
    keys = matrix_keys(fill_seed)
    c = walk_constants(keys, keys)  # the working set depends on the memory seed alone
    words = spec["words"]
    store = np.empty(words, dtype=np.uint32)
    step_words = 1 << 22
    for start in range(0, words, step_words):
        index = np.arange(start, min(words, start + step_words), dtype=np.int64)
        store[start : start + len(index)] = working_set_words(c, index)
    return store


def numpy_walk(np, spec, fill_seed, store, walk_seed):
    c = walk_constants(matrix_keys(fill_seed), matrix_keys(walk_seed))
    lanes = spec["lanes"]
    table = store.reshape(-1, CHUNK_WORDS)
    chunks = table.shape[0]
    state = lane_starts(c, np.arange(lanes, dtype=np.int64))
    checkpoints = np.empty((lanes, spec["segments"]), dtype=np.int64)
    step = 0
    for segment in range(spec["segments"]):
        for _ in range(spec["segmentSteps"]):
            state = walk_step(state, table[state % chunks].astype(np.int64), step)
            step += 1
        checkpoints[:, segment] = state
    return Walk(spec, np, checkpoints, group_digests(np, c, spec, checkpoints))


FILL_BLOCK = 1 << 24  # words a fill step makes: eager int64 temporaries stay ~128 MiB each


def fill_block(torch, index, k0, k1, word, lane):
    """Working-set words at `index` as int32; the keys are 0-d tensors, so a compiled copy does
    not specialise (and recompile) on a seed."""
    w = working_set_words({"k0": k0, "k1": k1, "word": word, "lane": lane}, index)
    return torch.where(w >= 1 << 31, w - (1 << 32), w).to(torch.int32)


def torch_fill(torch, spec, fill_seed, device, block):
    """The working set filled in place on the GPU, FILL_BLOCK words a step (NOT yet run on a GPU)."""
    keys = matrix_keys(fill_seed)
    c = walk_constants(keys, keys)
    k0, k1, word, lane = (torch.tensor(c[k], dtype=torch.int64, device=device) for k in ("k0", "k1", "word", "lane"))
    words = spec["words"]
    store = torch.empty(words, dtype=torch.int32, device=device)
    base = torch.arange(FILL_BLOCK, dtype=torch.int64, device=device)
    for start in range(0, words, FILL_BLOCK):
        count = min(FILL_BLOCK, words - start)
        # Always a whole block (the tail's extra words are dropped), so one compiled shape serves.
        store[start : start + count] = block(base + start, k0, k1, word, lane)[:count]
    torch.cuda.synchronize()
    return store


def torch_walk(torch, np, spec, fill_seed, store, walk_seed, device, step_block):
    """The walk on the GPU over the filled working set, lanes stepped by a compiled block."""
    c = walk_constants(matrix_keys(fill_seed), matrix_keys(walk_seed))
    lanes = spec["lanes"]
    table = store.view(-1, CHUNK_WORDS)
    chunks = table.shape[0]
    state = lane_starts(c, torch.arange(lanes, dtype=torch.int64, device=device))
    checkpoints = torch.empty((lanes, spec["segments"]), dtype=torch.int64, device=device)
    # Step numbers as a tensor, so the compiled step does not specialise (and recompile) on each.
    steps = torch.arange(spec["segments"] * spec["segmentSteps"], dtype=torch.int64, device=device)
    step = 0
    for segment in range(spec["segments"]):
        for _ in range(spec["segmentSteps"]):
            state = step_block(state, table, chunks, steps[step])
            step += 1
        checkpoints[:, segment] = state
    torch.cuda.synchronize()
    del store, table
    host = checkpoints.cpu().numpy()
    return Walk(spec, np, host, group_digests(np, c, spec, host))


# --- backends -----------------------------------------------------------------------------------
# Each has prepare() (before the seed: memory tests, warm-up), run(seed) -> (digest vectors as
# bytes, one per block; matmul_ms) and row(block, i) -> the canonical bytes of one row, recomputed
# when opened: blocks are dropped as soon as they are digested, so memory never grows with them.


class CudaBackend:
    def __init__(self, challenge, torch):
        self.torch = torch
        self.n, self.blocks = challenge["n"], challenge["blocks"]
        self.challenge = challenge
        # Split-K reductions in reduced precision would round partial sums; fp32 throughout keeps
        # the result within the one bf16 ulp of the exact product that the verifier allows.
        torch.backends.cuda.matmul.allow_bf16_reduced_precision_reduction = False
        torch.backends.cuda.matmul.allow_fp16_reduced_precision_reduction = False
        self.dtype = torch.bfloat16 if challenge["dtype"] == "bf16" else torch.float16
        self.device = torch.device("cuda")
        self.name = f"torch {torch.__version__} cuda {torch.version.cuda}"
        self.device_name = torch.cuda.get_device_name(self.device)
        n, dtype, device = self.n, self.dtype, self.device

        # Keys are tensors, not Python ints, so the compiled kernels do not specialise on a seed:
        # compiled once in prepare(), they run unchanged after the release.
        half = ENTRY_HALF[challenge["dtype"]]

        def generate(k0, constant):
            index = torch.arange(n * n, dtype=torch.int64, device=device).view(n, n)
            return (hash32(hash32(index ^ k0) ^ constant) % (2 * half + 1) - half).to(dtype)

        def digest(c, key):
            bits = c.view(torch.int16).to(torch.int64) & 0xFFFF
            return row_digests(bits, key)

        def walk_step_gpu(state, table, chunks, step):
            return walk_step(state, table[state % chunks].to(torch.int64) & MASK, step)

        def fill_gpu(index, k0, k1, word, lane):
            return fill_block(torch, index, k0, k1, word, lane)

        self.walk_step = self.walk_step_eager = walk_step_gpu
        self.fill_block = self.fill_block_eager = fill_gpu
        self.generate_eager, self.digest_eager = generate, digest
        self.generate, self.digest = generate, digest
        try:
            # One fused kernel each: unfused, generating B and digesting C cost more memory traffic
            # than the product itself, and the commit window is sized for the product.
            self.generate = torch.compile(generate, dynamic=False)
            self.digest = torch.compile(digest, dynamic=False)
            # One gather and one fused fold per step: unfused, 16 words' folds are ~50 launches a
            # step and the walk would be launch-bound, not bandwidth-bound (NOT yet run on a GPU).
            self.walk_step = torch.compile(walk_step_gpu, dynamic=False)
            # The fill fused: unfused it is ~300 passes of int64 temporaries over every block.
            self.fill_block = torch.compile(fill_gpu, dynamic=False)
        except Exception as error:  # noqa: BLE001 — no compiler here: eager, and say so
            log(f"torch.compile unavailable ({error}); eager kernels may not make the window")

    def prepare(self):
        torch, device = self.torch, self.device
        target_mib = math.ceil(self.challenge["vramMib"] * VRAM_FRACTION)
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

        size = self.challenge["bandwidthBytes"]
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

        # Warm-up with throwaway keys: compiles the kernels, creates the cuBLAS handle and picks
        # the GEMM, all outside the timed window.
        zero = torch.zeros((), dtype=torch.int64, device=device)
        key = torch.zeros(self.n, dtype=torch.int64, device=device)
        try:
            a = self.generate(zero, zero)
            self.digest(a @ a, key)
        except Exception as error:  # noqa: BLE001 — a compiler that fails at run time: eager
            log(f"compiled kernels failed ({error}); running eager")
        spec = self.challenge.get("memory")
        if spec is not None:
            # The memory phase's kernels compiled here too, at the shapes they will see (the table
            # only allocated, not written), so no compilation lands inside the fill or walk window.
            try:
                index = torch.arange(FILL_BLOCK, dtype=torch.int64, device=device)
                self.fill_block(index, zero, zero, zero, zero)
                del index
                table = torch.empty(spec["words"], dtype=torch.int32, device=device).view(-1, CHUNK_WORDS)
                state = torch.zeros(spec["lanes"], dtype=torch.int64, device=device)
                self.walk_step(state, table, table.shape[0], zero)
                del table, state
                torch.cuda.synchronize()
                torch.cuda.empty_cache()
            except Exception as error:  # noqa: BLE001 — a compiler that fails at run time: eager
                log(f"compiled memory-phase kernels failed ({error}); running eager")
                self.fill_block, self.walk_step = self.fill_block_eager, self.walk_step_eager
            self.generate, self.digest = self.generate_eager, self.digest_eager
            a = self.generate(zero, zero)
            self.digest(a @ a, key)
        torch.cuda.synchronize()
        del a
        return {"bandwidthGBps": bandwidth, "bandwidthBytes": size, "vramAllocatedMib": held_mib}

    def fill(self, seed):
        self.filled = (seed, torch_fill(self.torch, self.challenge["memory"], seed, self.device, self.fill_block))

    def walk(self, seed):
        import numpy

        fill_seed, store = self.filled
        self.filled = None
        spec = self.challenge["memory"]
        self.walked = torch_walk(self.torch, numpy, spec, fill_seed, store, seed, self.device, self.walk_step)
        return self.walked.root

    def run(self, seed):
        torch, device, n = self.torch, self.device, self.n
        keys = matrix_keys(seed, self.challenge["dtype"])
        self.keys = keys
        self.k0 = torch.tensor(keys[0], dtype=torch.int64, device=device)
        self.constants = torch.tensor(
            [stream_constant(keys, stream) for stream in range(self.blocks + 1)], dtype=torch.int64, device=device
        )
        column = torch.arange(n, dtype=torch.int64, device=device)
        key = digest_keys(keys, column)
        self.a = self.generate(self.k0, self.constants[0])
        events, digests = [], []
        for block in range(self.blocks):
            b = self.generate(self.k0, self.constants[1 + block])
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            c = self.a @ b
            end.record()
            events.append((start, end))
            digests.append(self.digest(c, key))  # int64 < 2^32: n·8 bytes a block stay on the GPU
            del b, c
        torch.cuda.synchronize()
        matmul_ms = sum(start.elapsed_time(end) for start, end in events)
        host = torch.stack(digests).cpu().numpy().astype("<u4")
        log(f"{self.blocks} blocks: {matmul_ms:.1f} ms of products")
        return [host[block].tobytes() for block in range(self.blocks)], matmul_ms

    def row(self, block, i):
        b = self.generate(self.k0, self.constants[1 + block])
        c = self.a @ b  # the whole product, as committed: the same GEMM, the same rounding
        return c[i].view(self.torch.int16).cpu().numpy().astype("<i2", copy=False).tobytes()


class NumpyBackend:
    def __init__(self, challenge, np):
        self.np = np
        self.n, self.blocks, self.dtype_name = challenge["n"], challenge["blocks"], challenge["dtype"]
        self.challenge = challenge
        self.name, self.device_name = f"numpy {np.__version__} cpu", "cpu"

    def prepare(self):
        np = self.np
        size = min(self.challenge["bandwidthBytes"], 64 * 1024 * 1024)
        src = np.ones(size, dtype=np.uint8)
        dst = np.empty_like(src)
        started = time.perf_counter()
        for _ in range(4):
            np.copyto(dst, src)
        bandwidth = 2 * size * 4 / max(time.perf_counter() - started, 1e-9) / 1e9
        return {"bandwidthGBps": bandwidth, "bandwidthBytes": size, "vramAllocatedMib": 0}

    def fill(self, seed):
        self.filled = (seed, numpy_fill(self.np, self.challenge["memory"], seed))

    def walk(self, seed):
        fill_seed, store = self.filled
        self.filled = None
        self.walked = numpy_walk(self.np, self.challenge["memory"], fill_seed, store, seed)
        return self.walked.root

    def _matrix(self, stream):
        np, n = self.np, self.n
        index = np.arange(n * n, dtype=np.int64)
        return entries(self.keys, stream_constant(self.keys, stream), index).reshape(n, n).astype(np.float64)

    def _bits(self, exact):
        return numpy_exact_to_bits(self.np, exact, self.dtype_name)

    def run(self, seed):
        np = self.np
        self.keys = matrix_keys(seed, self.dtype_name)
        key = digest_keys(self.keys, np.arange(self.n, dtype=np.int64))
        self.a = self._matrix(0)
        vectors, matmul_ms = [], 0.0
        for block in range(self.blocks):
            b = self._matrix(1 + block)
            started = time.perf_counter()
            exact = self.a @ b  # float64 holds these integer sums exactly
            matmul_ms += (time.perf_counter() - started) * 1000
            digests = row_digests(self._bits(exact).astype(np.int64), key)
            vectors.append(digests.astype("<u4").tobytes())
        return vectors, matmul_ms

    def row(self, block, i):
        exact = self.a[i : i + 1] @ self._matrix(1 + block)
        return self._bits(exact)[0].astype("<u2").tobytes()


class PythonBackend:
    def __init__(self, challenge):
        self.n, self.blocks, self.dtype_name = challenge["n"], challenge["blocks"], challenge["dtype"]
        if self.n > 128:
            raise ValueError("the pure-Python backend takes n <= 128")
        self.name, self.device_name = f"python {sys.version.split()[0]} cpu", "cpu"

    def prepare(self):
        return {"bandwidthGBps": 1.0, "bandwidthBytes": 0, "vramAllocatedMib": 0}

    def fill(self, seed):
        raise ValueError("the pure-Python backend has no memory phase: use numpy or cuda")

    def walk(self, seed):
        raise ValueError("the pure-Python backend has no memory phase: use numpy or cuda")

    def _matrix(self, stream):
        n, constant = self.n, stream_constant(self.keys, stream)
        return [[entries(self.keys, constant, i * n + j) for j in range(n)] for i in range(n)]

    def _row_bits(self, b, i):
        n, a = self.n, self.a
        return [integer_to_dtype_bits(sum(a[i][l] * b[l][j] for l in range(n)), self.dtype_name) for j in range(n)]

    def run(self, seed):
        self.keys = matrix_keys(seed, self.dtype_name)
        key = [digest_keys(self.keys, j) for j in range(self.n)]
        self.a = self._matrix(0)
        vectors, matmul_ms = [], 0.0
        for block in range(self.blocks):
            b = self._matrix(1 + block)
            started = time.perf_counter()
            rows = [self._row_bits(b, i) for i in range(self.n)]
            matmul_ms += (time.perf_counter() - started) * 1000
            digests = [sum(hash32(bits ^ k) for bits, k in zip(row, key)) & MASK for row in rows]
            vectors.append(b"".join(d.to_bytes(4, "little") for d in digests))
        return vectors, matmul_ms

    def row(self, block, i):
        return b"".join(v.to_bytes(2, "little") for v in self._row_bits(self._matrix(1 + block), i))


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
        kind, module = choose_backend(args.backend)
        log(f"challenge {challenge['id']}: n={challenge['n']} blocks={challenge['blocks']} {challenge['dtype']} on {kind}")
        if kind == "cuda":
            backend = CudaBackend(challenge, module)
        elif kind == "numpy":
            backend = NumpyBackend(challenge, module)
        else:
            backend = PythonBackend(challenge)
        memory = backend.prepare()
        emit({"type": "prepared"})
        line = sys.stdin.readline()
        if not line:
            return 0  # the agent closed the session before the release
        release = json.loads(line)
        if release.get("phase") == "memory":
            backend.fill(release["seed"])
            emit({"type": "filled"})
            line = sys.stdin.readline()
            if not line:
                return 0  # the agent closed the session after the fill
            release = json.loads(line)
            if release.get("phase") != "walk":
                raise ValueError(f"expected the walk's release, got {release.get('phase')}")
            emit({"type": "walk", "root": backend.walk(release["seed"])})
            line = sys.stdin.readline()
            if not line:
                return 0  # the agent closed the session after the memory phase
            release = json.loads(line)
        started = time.perf_counter()
        vectors, matmul_ms = backend.run(release["seed"])
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 4) as pool:
            leaves = list(pool.map(leaf_digest, vectors))
        levels = merkle_levels(leaves)
        measured = {"matmulMs": max(matmul_ms, 1e-3), **memory, "totalMs": (time.perf_counter() - started) * 1000}
        emit({"type": "commit", "root": levels[-1][0].hex(), "measured": measured, "backend": backend.name, "device": backend.device_name})
        line = sys.stdin.readline()
        if not line:
            return 0  # the agent closed the session without asking: nothing to open
        request = json.loads(line)
        n = challenge["n"]
        openings = []
        for leaf in request["leaves"]:
            block, i = divmod(leaf, n)
            openings.append(
                {
                    "leaf": leaf,
                    "row": base64.b64encode(backend.row(block, i)).decode("ascii"),
                    "digests": base64.b64encode(vectors[block]).decode("ascii"),
                    "proof": merkle_proof(levels, block),
                }
            )
        answer = {"type": "answer", "openings": openings}
        if request.get("walkGroups") is not None:
            answer["walk"] = [backend.walked.open(group) for group in request["walkGroups"]]
        emit(answer)
        return 0
    except Exception as error:  # reported to the agent as a line it can parse, not a traceback
        emit({"type": "error", "message": f"{type(error).__name__}: {error}"})
        return 1


if __name__ == "__main__":
    sys.exit(main())
