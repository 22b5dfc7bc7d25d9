"""Compiled kernels for the hot loops of path parsing and Markov chains.

Each kernel is a numba function that makes one pass over flat NumPy arrays and releases the GIL;
the public wrappers below validate inputs and return plain arrays. They replace chains of NumPy
and Arrow operations whose temporaries (tens of millions of elements) cost more than the work.

* :func:`split_encode` -- split path strings and dictionary-encode the channel tokens;
* :func:`unique_sequences` -- exact grouping of equal code sequences (equal paths);
* :func:`chain_structure` -- states, first/last states and transitions of an order-``k`` chain;
* :func:`edge_weights` -- the weight of each distinct transition.

Every kernel is loaded when the module is imported (from numba's on-disk cache; compiled on the
first import after installation or an edit). Inside a kernel no array is reallocated in a hot
loop: numba would then reload and reference-count it on every iteration.

Tokenizer
---------
:func:`split_encode` splits every string of an Arrow string array on a literal separator and
dictionary-encodes the raw tokens in one pass over the bytes, with a numba kernel that works on
the array's buffers in place (no per-token Python or Arrow objects):

* a string is split left to right at each non-overlapping occurrence of the separator (the
  semantics of Arrow's ``split_pattern`` and of ``str.split``); an empty string is one empty
  token, and a leading, trailing or doubled separator gives an empty token;
* each raw token gets the id of its first occurrence, found through an open-addressing hash table
  (FNV-1a, linear probing) whose hits are confirmed byte by byte, so equal ids mean equal bytes.

UTF-8 is self-synchronising, so a separator can only match at character boundaries and every
token is valid UTF-8. Tokens are returned raw: trimming whitespace and checking for empty names
is left to the caller, which sees each distinct token once. The kernel releases the GIL, so
batches can be tokenized on several threads.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numba
import numpy as np
import pyarrow as pa

__all__ = ["chain_structure", "edge_weights", "split_encode", "unique_sequences"]

_CACHE_WARNED = False


def _compiled(func: Callable[..., Any]) -> Any:
    """Compile ``func`` with numba (``nogil``), cached on disk when a cache dir is writable.

    numba caches next to this file (``__pycache__``) or in its user cache directory
    (``NUMBA_CACHE_DIR``, else ``~/.cache``); with neither writable it refuses ``cache=True``, and
    the kernels are then compiled in memory, in every process (a warning says so once).
    """
    global _CACHE_WARNED
    try:
        return numba.njit(nogil=True, cache=True)(func)
    except RuntimeError as exc:  # "cannot cache function ...: no locator available"
        if not _CACHE_WARNED:
            _CACHE_WARNED = True
            warnings.warn(
                f"numba cannot cache pathlift's compiled kernels ({exc}); they will be compiled "
                "in every process. Set NUMBA_CACHE_DIR to a writable directory.",
                RuntimeWarning,
                stacklevel=2,
            )
        return numba.njit(nogil=True)(func)


_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


@_compiled
def _tokenize_into(
    data: np.ndarray,
    offsets: np.ndarray,
    sep: np.ndarray,
    row: int,
    codes: np.ndarray,
    n_tokens: int,
    counts: np.ndarray,
    slots: np.ndarray,
    tok_start: np.ndarray,
    tok_len: np.ndarray,
    tok_hash: np.ndarray,
    n_distinct: int,
) -> tuple[int, int, int]:  # pragma: no cover - compiled
    """Tokenize rows from ``row`` on until done or until the arrays may be too small.

    A row is started only when ``codes`` and the hash table have room for its worst case
    (every separator splits), so no array is reallocated inside the loop (a reallocation there
    costs the loop its speed). Returns ``(next row, n_tokens, n_distinct)``; the caller grows
    the arrays and calls again while ``next row < n_rows``.
    """
    n_rows = offsets.shape[0] - 1
    m = sep.shape[0]
    first = sep[0]
    mask = slots.shape[0] - 1
    while row < n_rows:
        pos = offsets[row]
        end = offsets[row + 1]
        worst = (end - pos) // m + 1
        if n_tokens + worst > codes.shape[0] or 2 * (n_distinct + worst) > slots.shape[0]:
            break
        start = pos
        h = _FNV_OFFSET
        count = 0
        while True:
            at_sep = False
            if pos == end:
                at_sep = True
            elif data[pos] == first and pos + m <= end:
                at_sep = True
                for k in range(1, m):
                    if data[pos + k] != sep[k]:
                        at_sep = False
                        break
            if not at_sep:
                h = (h ^ np.uint64(data[pos])) * _FNV_PRIME
                pos += 1
                continue
            # token data[start:pos] is complete: look it up, confirming hits byte by byte
            length = pos - start
            slot = np.int64(h & np.uint64(mask))
            code = -1
            while True:
                cand = slots[slot]
                if cand < 0:
                    break
                if tok_hash[cand] == h and tok_len[cand] == length:
                    s = tok_start[cand]
                    same = True
                    for k in range(length):
                        if data[s + k] != data[start + k]:
                            same = False
                            break
                    if same:
                        code = cand
                        break
                slot = (slot + 1) & mask
            if code < 0:
                code = n_distinct
                tok_start[code] = start
                tok_len[code] = length
                tok_hash[code] = h
                slots[slot] = code
                n_distinct += 1
            codes[n_tokens] = code
            n_tokens += 1
            count += 1
            if pos == end:
                break
            pos += m
            start = pos
            h = _FNV_OFFSET
        counts[row] = count
        row += 1
    return row, n_tokens, n_distinct


@_compiled
def _count_byte(data: np.ndarray, lo: int, hi: int, byte: int) -> int:  # pragma: no cover
    n = 0
    for i in range(lo, hi):
        n += data[i] == byte
    return n


@_compiled
def _rehash(tok_hash: np.ndarray, n_distinct: int, cap: int) -> np.ndarray:  # pragma: no cover
    slots = np.full(cap, -1, dtype=np.int32)
    mask = cap - 1
    for d in range(n_distinct):
        j = np.int64(tok_hash[d] & np.uint64(mask))
        while slots[j] >= 0:
            j = (j + 1) & mask
        slots[j] = d
    return slots


def _tokenize(
    data: np.ndarray, offsets: np.ndarray, sep: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Run :func:`_tokenize_into` over all rows, growing its arrays between calls.

    Returns the token codes, the number of tokens of each row, and the start and length (in
    ``data``) of the first occurrence of each distinct token.
    """
    n_rows = offsets.shape[0] - 1
    # every token ends at a separator or at the end of its row: an upper bound on the count
    bound = n_rows + _count_byte(data, int(offsets[0]), int(offsets[-1]), sep[0])
    codes = np.empty(max(64, bound), dtype=np.int32)
    counts = np.zeros(n_rows, dtype=np.int64)
    cap = 1024
    slots = np.full(cap, -1, dtype=np.int32)
    tok_start = np.empty(cap // 2, dtype=np.int64)
    tok_len = np.empty(cap // 2, dtype=np.int64)
    tok_hash = np.empty(cap // 2, dtype=np.uint64)
    row = n_tokens = n_distinct = 0
    while True:
        row, n_tokens, n_distinct = _tokenize_into(
            data, offsets, sep, row, codes, n_tokens, counts,
            slots, tok_start, tok_len, tok_hash, n_distinct,
        )  # fmt: skip
        if row == n_rows:
            break
        worst = int(offsets[row + 1] - offsets[row]) // sep.shape[0] + 1
        if n_tokens + worst > codes.shape[0]:
            codes = np.concatenate(
                [codes[:n_tokens], np.empty(max(codes.shape[0], worst), np.int32)]
            )
        if 2 * (n_distinct + worst) > cap:
            while 2 * (n_distinct + worst) > cap:
                cap *= 2
            slots = _rehash(tok_hash, n_distinct, cap)
            tok_start = _grown(tok_start, n_distinct, cap // 2)
            tok_len = _grown(tok_len, n_distinct, cap // 2)
            tok_hash = _grown(tok_hash, n_distinct, cap // 2)
    return codes[:n_tokens], counts, tok_start[:n_distinct], tok_len[:n_distinct]


def _grown(array: np.ndarray, used: int, size: int) -> np.ndarray:
    out = np.empty(size, dtype=array.dtype)
    out[:used] = array[:used]
    return out


def _buffers(paths: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Return the data bytes and the row offsets (int64) of a string array, without copying."""
    if pa.types.is_large_string(paths.type):
        offset_type: type[np.integer] = np.int64
    elif pa.types.is_string(paths.type):
        offset_type = np.int32
    else:
        raise TypeError(f"expected a string array, got {paths.type}")
    _, offsets_buf, data_buf = paths.buffers()
    n = len(paths)
    offsets = np.frombuffer(offsets_buf, dtype=offset_type)[paths.offset : paths.offset + n + 1]
    if data_buf is None or data_buf.size == 0:
        data = np.zeros(1, dtype=np.uint8)
    else:
        data = np.frombuffer(data_buf, dtype=np.uint8)
    return data, offsets.astype(np.int64)


def split_encode(paths: pa.Array, separator: str) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Split path strings on ``separator`` and dictionary-encode the raw tokens.

    Parameters
    ----------
    paths
        An Arrow ``string`` or ``large_string`` array without nulls.
    separator
        A non-empty literal separator.

    Returns
    -------
    offsets
        ``int64`` array of ``len(paths) + 1`` token offsets: row ``i``'s tokens are
        ``indices[offsets[i]:offsets[i + 1]]``.
    dictionary
        The distinct raw tokens (untrimmed), in order of first appearance.
    indices
        ``int32`` index into ``dictionary`` of every token.
    """
    if not separator:
        raise ValueError("the path separator must not be empty")
    data, row_offsets = _buffers(paths)
    sep = np.frombuffer(separator.encode("utf-8"), dtype=np.uint8)
    codes, counts, starts, lengths = _tokenize(data, row_offsets, sep)
    view = memoryview(data.data)
    dictionary = [
        str(view[s : s + n], "utf-8")
        for s, n in zip(starts.tolist(), lengths.tolist(), strict=True)
    ]
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return offsets, dictionary, codes


# --------------------------------------------------------------------------------------------
# Exact grouping of integer sequences
# --------------------------------------------------------------------------------------------


@_compiled
def _group_sequences(
    codes: np.ndarray, offsets: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:  # pragma: no cover - compiled
    n = offsets.shape[0] - 1
    cap = 16
    while cap < 2 * n:
        cap *= 2
    mask = cap - 1
    # slot -> (group, hash): the hash sits next to the group, so a probe touches one cache line
    table = np.full((cap, 2), -1, dtype=np.int64)
    inverse = np.empty(n, dtype=np.int64)
    first = np.empty(n, dtype=np.int64)
    n_groups = 0
    # hash every sequence first: the probes below then do not wait on the hashing
    hashes = np.empty(n, dtype=np.uint64)
    for row in range(n):
        h = _FNV_OFFSET ^ np.uint64(offsets[row + 1] - offsets[row])
        for i in range(offsets[row], offsets[row + 1]):
            h = (h ^ np.uint64(codes[i])) * _FNV_PRIME
        hashes[row] = h ^ (h >> np.uint64(29))
    for row in range(n):
        a = offsets[row]
        b = offsets[row + 1]
        h = hashes[row]
        tag = np.int64(h >> np.uint64(1))  # non-negative, so never the empty marker
        slot = np.int64(h & np.uint64(mask))
        group = -1
        while True:
            g = table[slot, 0]
            if g < 0:
                break
            if table[slot, 1] == tag:
                rep = first[g]
                ra = offsets[rep]
                length = b - a
                if offsets[rep + 1] - ra == length:
                    same = True
                    for k in range(length):
                        if codes[ra + k] != codes[a + k]:
                            same = False
                            break
                    if same:
                        group = g
                        break
            slot = (slot + 1) & mask
        if group < 0:
            group = n_groups
            table[slot, 0] = group
            table[slot, 1] = tag
            first[group] = row
            n_groups += 1
        inverse[row] = group
    return inverse, first[:n_groups], n_groups


def unique_sequences(codes: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group equal integer sequences exactly.

    Sequence ``i`` is ``codes[offsets[i]:offsets[i + 1]]``. Returns ``inverse`` (``int64`` group
    of each sequence, groups numbered by first appearance) and ``first`` (``int64`` index of the
    first sequence of each group). Sequences are hashed (FNV-1a over the codes and the length)
    into an open-addressing table; a hash hit counts only after the codes compare equal.
    """
    codes = np.ascontiguousarray(codes)
    if codes.dtype not in (np.uint8, np.uint16, np.int32, np.int64):
        codes = codes.astype(np.int64)
    inverse, first, _ = _group_sequences(codes, np.ascontiguousarray(offsets, dtype=np.int64))
    return inverse, first


# --------------------------------------------------------------------------------------------
# Markov chain structure, any order
# --------------------------------------------------------------------------------------------

#: integer keys up to this universe are numbered through a direct table instead of a hash map
_DIRECT_TABLE_MAX = 1 << 20


@_compiled
def _map_insert(
    keys: np.ndarray, ids: np.ndarray, n: int, key: int
) -> tuple[int, np.ndarray, np.ndarray, int]:  # pragma: no cover - compiled
    """Id of ``key`` in an open-addressing map (``n`` entries, ids by insertion); grows it."""
    mask = keys.shape[0] - 1
    h = np.uint64(key) * np.uint64(0x9E3779B97F4A7C15)
    slot = np.int64((h >> np.uint64(20)) & np.uint64(mask))
    while ids[slot] >= 0:
        if keys[slot] == key:
            return ids[slot], keys, ids, n
        slot = (slot + 1) & mask
    keys[slot] = key
    ids[slot] = n
    new = n
    n += 1
    if 2 * n > keys.shape[0]:  # keep the load factor under one half
        cap = keys.shape[0] * 2
        mask = cap - 1
        new_keys = np.empty(cap, dtype=np.int64)
        new_ids = np.full(cap, -1, dtype=np.int64)
        for j in range(keys.shape[0]):
            if ids[j] >= 0:
                h = np.uint64(keys[j]) * np.uint64(0x9E3779B97F4A7C15)
                t = np.int64((h >> np.uint64(20)) & np.uint64(mask))
                while new_ids[t] >= 0:
                    t = (t + 1) & mask
                new_keys[t] = keys[j]
                new_ids[t] = ids[j]
        keys, ids = new_keys, new_ids
    return new, keys, ids, n


@_compiled
def _number(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """Return the id of each key (ids in key order) and the sorted distinct keys (hash map)."""
    out = np.empty(keys.shape[0], dtype=np.int64)
    map_keys = np.empty(1024, dtype=np.int64)
    map_ids = np.full(1024, -1, dtype=np.int64)
    n = 0
    for i in range(keys.shape[0]):
        out[i], map_keys, map_ids, n = _map_insert(map_keys, map_ids, n, keys[i])
    found = np.empty(n, dtype=np.int64)
    for j in range(map_keys.shape[0]):
        if map_ids[j] >= 0:
            found[map_ids[j]] = map_keys[j]
    order = np.argsort(found)
    rank = np.empty(n, dtype=np.int64)
    for r in range(n):
        rank[order[r]] = r
    for i in range(keys.shape[0]):
        out[i] = rank[out[i]]
    return out, found[order]


@_compiled
def _state_occurrences(
    touches: np.ndarray,
    offsets: np.ndarray,
    order: int,
    base: int,
    keep_self_loops: bool,
    table: np.ndarray,
    out: np.ndarray,
    per_path: np.ndarray,
) -> int:  # pragma: no cover - compiled
    """Visit the state key of every state occurrence, in path order.

    Runs of equal consecutive states collapse to one unless ``keep_self_loops``. With an empty
    ``out``, marks ``table[key] = 1`` for every key seen. Otherwise writes each occurrence to
    ``out`` (``table[key]`` when ``table`` is a key-to-id table, the key itself when ``table``
    is empty) and the number of states of each path to ``per_path``. Returns the number of
    occurrences.
    """
    n_occ = 0
    mark = out.shape[0] == 0
    lookup = table.shape[0] > 0
    for p in range(offsets.shape[0] - 1):
        a = offsets[p]
        b = offsets[p + 1]
        last_start = a if b - a < order else b - order  # a path shorter than k is one state
        prev = -1
        first_occ = n_occ
        for s in range(a, last_start + 1):
            key = 0
            for i in range(order):
                digit = touches[s + i] + 1 if s + i < b else 0
                key = key * base + digit
            if key == prev and not keep_self_loops:
                continue
            if mark:
                table[key] = 1
            elif lookup:
                out[n_occ] = table[key]
            else:
                out[n_occ] = key
            n_occ += 1
            prev = key
        if not mark:
            per_path[p] = n_occ - first_occ
    return n_occ


@_compiled
def _rank_table(table: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """Turn a 0/1 presence table into ids by key order (-1 where absent); return the keys."""
    n = 0
    for key in range(table.shape[0]):
        if table[key] > 0:
            n += 1
    keys = np.empty(n, dtype=np.int64)
    n = 0
    for key in range(table.shape[0]):
        if table[key] > 0:
            table[key] = n
            keys[n] = key
            n += 1
        else:
            table[key] = -1
    return keys


@_compiled
def _chain_structure(
    touches: np.ndarray, offsets: np.ndarray, order: int, base: int, keep_self_loops: bool
) -> tuple[np.ndarray, ...]:  # pragma: no cover - compiled
    n_paths = offsets.shape[0] - 1
    per_path = np.empty(n_paths, dtype=np.int32)
    none = np.empty(0, dtype=np.int64)
    # 1. the state id of every state occurrence, ids in key order
    universe = 0
    if order * np.log2(base) <= 20:
        universe = base**order
    table = np.zeros(universe, dtype=np.int64)  # key -> state id, for a small key universe
    if universe > 0:  # mark the keys present, rank them, write ids
        _state_occurrences(touches, offsets, order, base, keep_self_loops, table, none, per_path)
        state_keys = _rank_table(table)
        state = np.empty(touches.shape[0], dtype=np.int32)  # ids < 2**31: half the memory
        n_occ = _state_occurrences(
            touches, offsets, order, base, keep_self_loops, table, state, per_path
        )
    else:  # keys straight to a hash map
        keys = np.empty(touches.shape[0], dtype=np.int64)
        n_occ = _state_occurrences(
            touches, offsets, order, base, keep_self_loops, none, keys, per_path
        )
        ids, state_keys = _number(keys[:n_occ])
        state = ids.astype(np.int32)
    n_states = state_keys.shape[0]
    # 2. first and last state of each path, and every transition inside a path. A transition
    # from state s goes to s's last k-1 channels plus one more (a short path's state has no
    # successor), so (from, last digit of to) identifies it and sorts like (from, to).
    last_digit = state_keys % base
    first = np.empty(n_paths, dtype=np.int64)
    last = np.empty(n_paths, dtype=np.int64)
    n_edges_occ = n_occ - n_paths
    edge_path = np.empty(n_edges_occ, dtype=np.int32)
    edge_universe = n_states * base
    direct = edge_universe <= _DIRECT_TABLE_MAX
    ekeys = np.empty(n_edges_occ if not direct else 0, dtype=np.int64)
    etable = np.zeros(edge_universe if direct else 0, dtype=np.int64)
    i = 0
    j = 0
    for p in range(n_paths):
        c = per_path[p]
        first[p] = state[i]
        last[p] = state[i + c - 1]
        for t in range(i, i + c - 1):
            key = state[t] * base + last_digit[state[t + 1]]
            if direct:
                etable[key] = 1
            else:
                ekeys[j] = key
            edge_path[j] = p
            j += 1
        i += c
    edge_id = np.empty(n_edges_occ, dtype=np.int32)
    if direct:
        edge_keys = _rank_table(etable)
        i = 0
        j = 0
        for p in range(n_paths):
            c = per_path[p]
            for t in range(i, i + c - 1):
                edge_id[j] = etable[state[t] * base + last_digit[state[t + 1]]]
                j += 1
            i += c
    else:
        ids, edge_keys = _number(ekeys)
        for j in range(n_edges_occ):
            edge_id[j] = ids[j]
    edge_from = edge_keys // base
    edge_to = np.empty(edge_keys.shape[0], dtype=np.int64)
    if universe > 0:  # the successor's key is the source's last k-1 digits and the new one
        for e in range(edge_keys.shape[0]):
            key = (state_keys[edge_from[e]] * base + edge_keys[e] % base) % universe
            edge_to[e] = table[key]
        return (state_keys, first, last, edge_id, edge_path, edge_from, edge_to)
    i = 0
    j = 0
    for p in range(n_paths):
        c = per_path[p]
        for t in range(i, i + c - 1):
            edge_to[edge_id[j]] = state[t + 1]
            j += 1
        i += c
    return (state_keys, first, last, edge_id, edge_path, edge_from, edge_to)


def chain_structure(
    touches: np.ndarray, offsets: np.ndarray, n_channels: int, order: int, keep_self_loops: bool
) -> tuple[np.ndarray, ...]:
    """States and transitions of an order-``k`` Markov chain over paths, in one pass.

    The states of a path are its sliding ``k``-grams of channels (a path shorter than ``k`` is a
    single state); with ``keep_self_loops=False`` runs of equal consecutive states collapse to
    one. A state is keyed by its channel codes plus one as base-``(n_channels + 1)`` digits,
    unused digits 0 (so a short path's state never equals a full ``k``-gram); states are numbered
    in key order, and distinct transitions in ``(from, to)`` order.

    Returns
    -------
    tuple
        ``state_keys`` (``int64``, sorted), ``first`` and ``last`` (``int64`` state of each
        path's first and last state), ``edge_id`` and ``edge_path`` (``int32``: the distinct
        transition and the path of every transition occurrence, in path order), ``edge_from``
        and ``edge_to`` (``int64`` states of each distinct transition).
    """
    return _chain_structure(
        np.ascontiguousarray(touches, dtype=np.int32),
        np.ascontiguousarray(offsets, dtype=np.int64),
        int(order),
        int(n_channels) + 1,
        bool(keep_self_loops),
    )


@_compiled
def _edge_sums(
    edge_id: np.ndarray, edge_path: np.ndarray, weight: np.ndarray, n_edges: int
) -> np.ndarray:  # pragma: no cover - compiled
    out = np.zeros(n_edges, dtype=np.float64)
    for j in range(edge_id.shape[0]):
        out[edge_id[j]] += weight[edge_path[j]]
    return out


def edge_weights(
    edge_id: np.ndarray, edge_path: np.ndarray, weight: np.ndarray, n_edges: int
) -> np.ndarray:
    """Total weight of each distinct transition: the sum of ``weight[path]`` over occurrences.

    Equal to ``np.bincount(edge_id, weight[edge_path], n_edges)`` without the temporary.
    """
    return _edge_sums(edge_id, edge_path, np.ascontiguousarray(weight, dtype=np.float64), n_edges)


def _load() -> None:
    """Load every kernel now (from numba's on-disk cache, compiling on first use).

    Loading the first kernel initialises numba's code generator (about 0.15 s); doing it at
    import keeps that one-off cost out of the first parse.
    """
    one = np.zeros(1, dtype=np.int32)
    two = np.array([0, 1], dtype=np.int64)
    # from buffers: pa.array of Python strings would import pandas
    text = pa.py_buffer(b"a > b")
    offsets = pa.py_buffer(np.array([0, 5], dtype=np.int32).tobytes())
    split_encode(pa.StringArray.from_buffers(1, offsets, text), " > ")
    unique_sequences(one, two)
    chain_structure(one, two, 1, 1, False)
    edge_weights(np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32), np.ones(1), 0)


_load()
