"""The compiled kernels against independent references (Arrow, Python dicts, NumPy)."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import attribution._kernels
from attribution._kernels import chain_structure, edge_weights, split_encode, unique_sequences
from tests.numba_cache import run_without_numba_cache


def arrow_split_encode(paths: pa.Array, separator: str) -> tuple[list[int], list[str], list[int]]:
    lists = pc.split_pattern(paths, pattern=separator)
    encoded = pc.dictionary_encode(lists.flatten())
    offsets = np.asarray(lists.offsets) - lists.offsets[0].as_py()
    return offsets.tolist(), encoded.dictionary.to_pylist(), encoded.indices.to_pylist()


def check_split(rows: list[str], separator: str, array_type: pa.DataType | None = None) -> None:
    array = pa.array(rows, type=array_type or pa.string())
    offsets, dictionary, indices = split_encode(array, separator)
    assert offsets.dtype == np.int64
    assert indices.dtype == np.int32
    assert (offsets.tolist(), dictionary, indices.tolist()) == arrow_split_encode(array, separator)


@pytest.mark.parametrize("array_type", [pa.string(), pa.large_string()])
def test_split_encode_edge_cases_match_arrow(array_type: pa.DataType) -> None:
    rows = ["a > b", "", "b", ">", " > ", " >  > x", "é > ü > é", "a > b > a > b", "a >> b"]
    check_split(rows, " > ", array_type)
    check_split(rows, ">", array_type)


def test_split_encode_hand_case() -> None:
    offsets, dictionary, indices = split_encode(pa.array(["a > b", "b", "a > a"]), " > ")
    assert offsets.tolist() == [0, 2, 3, 5]
    assert dictionary == ["a", "b"]
    assert indices.tolist() == [0, 1, 1, 0, 0]


def test_split_encode_reads_a_sliced_array() -> None:
    array = pa.array(["zz > y", "a > b", "c"]).slice(1)
    offsets, dictionary, indices = split_encode(array, " > ")
    assert (offsets.tolist(), dictionary, indices.tolist()) == (
        [0, 2, 3],
        ["a", "b", "c"],
        [0, 1, 2],
    )


def test_split_encode_many_distinct_tokens_grow_the_table() -> None:
    rng = np.random.default_rng(0)
    rows = [" > ".join(f"ch{j}" for j in rng.integers(0, 5000, 5)) for _ in range(5000)]
    check_split(rows, " > ")


def test_split_encode_rejects_an_empty_separator() -> None:
    with pytest.raises(ValueError, match="separator"):
        split_encode(pa.array(["a"]), "")


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(st.text(alphabet="ab >xé\t", max_size=12), min_size=1, max_size=8),
    separator=st.sampled_from([" > ", ">", "ab", "é", "xx"]),
)
def test_split_encode_matches_arrow_split_pattern(rows: list[str], separator: str) -> None:
    check_split(rows, separator)


def python_groups(seqs: list[tuple[int, ...]]) -> tuple[list[int], list[int]]:
    seen: dict[tuple[int, ...], int] = {}
    inverse, first = [], []
    for i, seq in enumerate(seqs):
        if seq not in seen:
            seen[seq] = len(seen)
            first.append(i)
        inverse.append(seen[seq])
    return inverse, first


@settings(max_examples=200, deadline=None)
@given(seqs=st.lists(st.lists(st.integers(0, 3), max_size=4).map(tuple), min_size=1, max_size=40))
def test_unique_sequences_matches_a_dict(seqs: list[tuple[int, ...]]) -> None:
    codes = np.array([c for s in seqs for c in s], dtype=np.int32)
    offsets = np.concatenate([[0], np.cumsum([len(s) for s in seqs])]).astype(np.int64)
    inverse, first = unique_sequences(codes, offsets)
    assert (inverse.tolist(), first.tolist()) == python_groups(seqs)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int32, np.int64, np.int16])
def test_unique_sequences_any_integer_dtype(dtype: type) -> None:
    # prefixes and equal multisets in another order must stay apart
    seqs = [(1, 2), (1, 2, 0), (2, 1), (1, 2), (), (1,), ()]
    codes = np.array([c for s in seqs for c in s], dtype=dtype)
    offsets = np.concatenate([[0], np.cumsum([len(s) for s in seqs])]).astype(np.int64)
    inverse, first = unique_sequences(codes, offsets)
    assert inverse.tolist() == [0, 1, 2, 0, 3, 4, 3]
    assert first.tolist() == [0, 1, 2, 4, 5]


def python_structure(
    paths: list[list[int]], order: int, keep_self_loops: bool
) -> tuple[list[tuple[int, ...]], list[int], list[int], list[tuple[int, int, int]]]:
    """Loop-by-loop reference: states as tuples, numbered in sorted order."""
    per_path = []
    for path in paths:
        grams = (
            [tuple(path)]
            if len(path) < order
            else [tuple(path[i : i + order]) for i in range(len(path) - order + 1)]
        )
        states: list[tuple[int, ...]] = []
        for g in grams:
            if keep_self_loops or not states or states[-1] != g:
                states.append(g)
        per_path.append(states)

    # key order: codes + 1 as digits, short states padded with 0
    def key(state: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(c + 1 for c in state) + (0,) * (order - len(state))

    names = sorted({s for states in per_path for s in states}, key=key)
    ids = {s: i for i, s in enumerate(names)}
    first = [ids[states[0]] for states in per_path]
    last = [ids[states[-1]] for states in per_path]
    edges = [
        (ids[a], ids[b], p)
        for p, states in enumerate(per_path)
        for a, b in itertools.pairwise(states)
    ]
    return names, first, last, edges


@pytest.mark.parametrize("order", [1, 2, 3, 5])
@pytest.mark.parametrize("keep_self_loops", [False, True])
def test_chain_structure_matches_a_python_reference(order: int, keep_self_loops: bool) -> None:
    rng = np.random.default_rng(order)
    paths = [rng.integers(0, 4, rng.integers(1, 9)).tolist() for _ in range(300)]
    touches = np.array([c for p in paths for c in p], dtype=np.int32)
    offsets = np.concatenate([[0], np.cumsum([len(p) for p in paths])]).astype(np.int64)
    state_keys, first, last, edge_id, edge_path, edge_from, edge_to = chain_structure(
        touches, offsets, 4, order, keep_self_loops
    )
    names, r_first, r_last, r_edges = python_structure(paths, order, keep_self_loops)
    base = 5
    digits = [
        tuple(int(k) // base ** (order - 1 - i) % base for i in range(order)) for k in state_keys
    ]
    assert [tuple(d - 1 for d in row if d > 0) for row in digits] == names
    assert first.tolist() == r_first
    assert last.tolist() == r_last
    got = list(
        zip(edge_from[edge_id].tolist(), edge_to[edge_id].tolist(), edge_path.tolist(), strict=True)
    )
    assert got == r_edges
    keys = edge_from * len(names) + edge_to
    assert np.all(np.diff(keys) > 0)  # distinct transitions, numbered in (from, to) order
    assert sorted(set(edge_id.tolist())) == list(range(len(edge_from)))


def test_chain_structure_with_many_states_uses_the_hash_map() -> None:
    # 40 channels at order 4: 41**4 keys exceed the direct table
    rng = np.random.default_rng(1)
    paths = [rng.integers(0, 40, rng.integers(1, 12)).tolist() for _ in range(2000)]
    touches = np.array([c for p in paths for c in p], dtype=np.int32)
    offsets = np.concatenate([[0], np.cumsum([len(p) for p in paths])]).astype(np.int64)
    state_keys, first, last, edge_id, edge_path, edge_from, edge_to = chain_structure(
        touches, offsets, 40, 4, False
    )
    names, r_first, r_last, r_edges = python_structure(paths, 4, False)
    assert len(state_keys) == len(names) > 1024  # the map grew several times
    assert np.all(np.diff(state_keys) > 0)
    assert first.tolist() == r_first
    assert last.tolist() == r_last
    got = list(
        zip(edge_from[edge_id].tolist(), edge_to[edge_id].tolist(), edge_path.tolist(), strict=True)
    )
    assert got == r_edges


def test_edge_weights_equal_bincount() -> None:
    rng = np.random.default_rng(2)
    edge_id = rng.integers(0, 7, 500).astype(np.int32)
    edge_path = np.sort(rng.integers(0, 60, 500)).astype(np.int32)
    weight = rng.integers(0, 5, 60).astype(np.int64)
    np.testing.assert_allclose(
        edge_weights(edge_id, edge_path, weight, 9),
        np.bincount(edge_id, weight[edge_path], 9),
        rtol=0,
        atol=1e-12,
    )


def test_split_encode_long_rows_grow_the_output() -> None:
    # far more tokens per row than the initial guess of 8: the kernel resumes after growing
    rows = [" > ".join(["a", "b", "c"] * 400), "d", " > ".join(f"x{i}" for i in range(3000))]
    check_split(rows, " > ")


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs an unwritable /proc path")
def test_kernels_work_without_a_writable_numba_cache(tmp_path: Path) -> None:
    """No writable cache location: the kernels are compiled in memory, with a warning."""
    script = """
        import warnings
        import pyarrow as pa
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            import kernels_copy
        assert any("cannot cache" in str(w.message) for w in caught), caught
        offsets, names, codes = kernels_copy.split_encode(pa.array(["a > b", "b"]), " > ")
        assert offsets.tolist() == [0, 2, 3] and names == ["a", "b"]
        assert codes.tolist() == [0, 1, 1]
        print("ok")
        """
    out = run_without_numba_cache(
        attribution._kernels.__file__, "kernels_copy.py", script, tmp_path
    )
    assert out.strip().endswith("ok")
