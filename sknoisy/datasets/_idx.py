"""Reading IDX files (the MNIST file format), plain or gzipped, with an optional sha256 check.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of
dimensions), then one big-endian uint32 per dimension, then the values in C order.
Only the unsigned-byte type (code 0x08) is supported, which is what MNIST-style
datasets use.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import zlib
from pathlib import Path

import numpy as np

__all__ = ["read_idx_ubyte"]

_UBYTE_CODE = 0x08
# Large enough that the Python loop is negligible, small enough not to double peak memory.
_CHUNK_BYTES = 1 << 22


def _read_exact(stream, n_bytes: int, path: Path, what: str) -> bytes:
    data = stream.read(n_bytes)
    if len(data) != n_bytes:
        raise ValueError(
            f"IDX file {str(path)!r} is corrupt: it ends inside the {what} "
            f"(expected {n_bytes} bytes, got {len(data)}). Replace the file."
        )
    return data


def read_idx_ubyte(
    path: Path, *, expected_ndim: int, expected_sha256: str | None = None
) -> np.ndarray:
    """Read an unsigned-byte IDX file into a uint8 array of the shape its header gives.

    Files whose name ends in ``.gz`` are decompressed on the fly. When
    ``expected_sha256`` is given, the sha256 of the *decompressed* bytes (header
    included) is computed while reading and compared; nothing is written to disk.

    Raises
    ------
    ValueError
        Naming the file, for a bad magic number, an unexpected number of
        dimensions, a body shorter or longer than the header announces, an
        unreadable gzip stream, or a sha256 mismatch.
    """
    path = Path(path)
    opener = gzip.open if path.name.endswith(".gz") else open
    hasher = hashlib.sha256() if expected_sha256 is not None else None
    try:
        with opener(path, "rb") as stream:
            magic = _read_exact(stream, 4, path, "magic number")
            if magic[0] != 0 or magic[1] != 0 or magic[2] != _UBYTE_CODE:
                raise ValueError(
                    f"IDX file {str(path)!r} has a bad magic number {magic.hex()!r}; expected "
                    f"'0000{_UBYTE_CODE:02x}' followed by the number of dimensions. The file "
                    "is corrupt or not an unsigned-byte IDX file."
                )
            ndim = magic[3]
            if ndim != expected_ndim:
                raise ValueError(
                    f"IDX file {str(path)!r} has {ndim} dimensions; expected {expected_ndim}. "
                    "Check that images and labels files have not been swapped."
                )
            dims_raw = _read_exact(stream, 4 * ndim, path, "dimension sizes")
            shape = tuple(int(d) for d in np.frombuffer(dims_raw, dtype=">u4"))
            if hasher is not None:
                hasher.update(magic)
                hasher.update(dims_raw)

            n_values = math.prod(shape)
            values = np.empty(n_values, dtype=np.uint8)
            view = memoryview(values)
            filled = 0
            while filled < n_values:
                got = stream.readinto(view[filled:filled + _CHUNK_BYTES])
                if not got:
                    break
                if hasher is not None:
                    hasher.update(view[filled:filled + got])
                filled += got
            if filled < n_values:
                raise ValueError(
                    f"IDX file {str(path)!r} is truncated: its header announces shape {shape} "
                    f"({n_values} values) but only {filled} follow. Replace the file."
                )
            if stream.read(1):
                raise ValueError(
                    f"IDX file {str(path)!r} is longer than its header announces (shape "
                    f"{shape}, {n_values} values). The file is corrupt; replace it."
                )
    except (OSError, EOFError, zlib.error) as exc:
        # gzip.BadGzipFile is an OSError; a cut-off gzip stream raises EOFError.
        raise ValueError(
            f"Could not read IDX file {str(path)!r}: {exc}. The file is corrupt or not "
            "what its name says (a '.gz' name must hold gzip data)."
        ) from exc

    if hasher is not None:
        digest = hasher.hexdigest()
        if digest != expected_sha256:
            raise ValueError(
                f"sha256 mismatch for {str(path)!r} (computed on the unpacked bytes): expected "
                f"{expected_sha256}, got {digest}. Reinstall the files (apt-get install "
                "--reinstall dataset-fashion-mnist), or pass verify=False if you deliberately "
                "use other files in the same format."
            )
    return values.reshape(shape)
