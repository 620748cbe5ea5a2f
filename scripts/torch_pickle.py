"""Read tensors from a torch checkpoint (torch.save output) with numpy only, without torch.

Supports both formats torch.save has written since 2017:

* the zip format (torch >= 1.6): ``<root>/data.pkl`` plus one file ``<root>/data/<key>`` per
  storage, and
* the legacy format (torch < 1.6): five pickles in a row (magic number, protocol version,
  sys_info, the object, the list of storage keys), then for each storage key in that order an
  int64 element count followed by the raw little-endian data.

(The even older tar format of torch < 0.4 is detected and refused.)

The unpickler is restricted: the only globals it resolves are ``collections.OrderedDict``,
``torch._utils._rebuild_tensor_v2`` and the typed storage classes (``torch.FloatStorage``, ...),
which become dtype markers. Any other global (``torch.nn.Module`` subclasses, ``_rebuild_parameter``,
numpy reconstructors, os.system, ...) raises ``pickle.UnpicklingError``. Tensors come back as
contiguous numpy arrays, so a saved ``state_dict`` loads as an OrderedDict of name -> ndarray.

    from torch_pickle import load
    state = load("mobilenet_v2-b0353104.pth")          # path or bytes
"""

import collections
import io
import pickle
import struct
import tarfile
import zipfile

import numpy as np

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001

STORAGE_DTYPES = {
    "DoubleStorage": np.float64,
    "FloatStorage": np.float32,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class StorageType:
    """Marker standing in for torch.<X>Storage: just the element dtype."""

    def __init__(self, name):
        self.name = name
        self.dtype = np.dtype(STORAGE_DTYPES[name]).newbyteorder("<")


class Storage:
    """One storage: dtype, element count, and its data once it has been read."""

    def __init__(self, dtype, numel):
        self.dtype = dtype
        self.numel = numel
        self.data = None

    def set_bytes(self, raw):
        if len(raw) != self.numel * self.dtype.itemsize:
            raise pickle.UnpicklingError(f"storage has {len(raw)} bytes, expected {self.numel} x {self.dtype}")
        self.data = np.frombuffer(raw, dtype=self.dtype)


class LazyTensor:
    """A tensor view of a storage whose bytes may not have been read yet."""

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset = storage, int(offset)
        self.size, self.stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
        if any(s < 0 for s in self.size + self.stride) or self.offset < 0:
            raise pickle.UnpicklingError("negative size, stride or offset")
        if all(self.size):
            last = self.offset + sum((n - 1) * s for n, s in zip(self.size, self.stride))
            if last >= storage.numel:
                raise pickle.UnpicklingError(f"tensor {self.size} / {self.stride} + {self.offset} "
                                             f"runs past its storage of {storage.numel} elements")

    def materialize(self):
        data = self.storage.data
        if data is None:
            raise pickle.UnpicklingError("storage data missing")
        if not all(self.size):
            return np.zeros(self.size, dtype=data.dtype.newbyteorder("="))
        item = data.itemsize
        view = np.lib.stride_tricks.as_strided(data[self.offset:], shape=self.size,
                                               strides=[s * item for s in self.stride], writeable=False)
        return np.ascontiguousarray(view).astype(data.dtype.newbyteorder("="))


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    if not isinstance(storage, Storage):
        raise pickle.UnpicklingError("_rebuild_tensor_v2 expects a storage")
    return LazyTensor(storage, storage_offset, size, stride)


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the globals a tensor state_dict needs."""

    def __init__(self, file, storage_loader=None):
        super().__init__(file)
        self.storage_loader = storage_loader  # (storage_type, key, numel) -> Storage
        self.storages = {}

    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if module == "torch" and name in STORAGE_DTYPES:
            return StorageType(name)
        raise pickle.UnpicklingError(f"refusing global {module}.{name}")

    def persistent_load(self, pid):
        if self.storage_loader is None:
            raise pickle.UnpicklingError("persistent id outside the object pickle")
        if not isinstance(pid, tuple) or not pid or pid[0] not in ("storage", b"storage"):
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r:.80}")
        storage_type, key, _location, numel = pid[1:5]
        view_metadata = pid[5] if len(pid) > 5 else None
        if not isinstance(storage_type, StorageType):
            raise pickle.UnpicklingError("persistent id without a storage type")
        if view_metadata is not None:
            raise pickle.UnpicklingError("storage views (torch < 0.4) are not supported")
        key = key.decode() if isinstance(key, bytes) else str(key)
        if key not in self.storages:
            self.storages[key] = self.storage_loader(storage_type, key, int(numel))
        return self.storages[key]


def _restricted_load(f, storage_loader=None):
    unpickler = RestrictedUnpickler(f, storage_loader)
    return unpickler.load(), unpickler.storages


def _materialize(obj):
    if isinstance(obj, LazyTensor):
        return obj.materialize()
    if isinstance(obj, dict):
        out = type(obj)((k, _materialize(v)) for k, v in obj.items())
        return out
    if isinstance(obj, list):
        return [_materialize(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_materialize(v) for v in obj)
    return obj


def _load_zip(data):
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        pkl = [n for n in zf.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
        if len(pkl) != 1:
            raise pickle.UnpicklingError(f"expected one data.pkl in the zip, found {pkl}")
        root = pkl[0][: -len("data.pkl")]
        if f"{root}byteorder" in zf.namelist() and zf.read(f"{root}byteorder").strip() != b"little":
            raise pickle.UnpicklingError("big-endian checkpoints are not supported")

        def loader(storage_type, key, numel):
            storage = Storage(storage_type.dtype, numel)
            storage.set_bytes(zf.read(f"{root}data/{key}"))
            return storage

        obj, _ = _restricted_load(io.BytesIO(zf.read(pkl[0])), loader)
    return _materialize(obj)


def _load_legacy(data):
    f = io.BytesIO(data)
    if _restricted_load(f)[0] != LEGACY_MAGIC:
        raise pickle.UnpicklingError("not a torch checkpoint (bad magic number)")
    if _restricted_load(f)[0] != LEGACY_PROTOCOL:
        raise pickle.UnpicklingError("unsupported legacy protocol version")
    sys_info = _restricted_load(f)[0]
    if not sys_info.get("little_endian", True):
        raise pickle.UnpicklingError("big-endian checkpoints are not supported")
    obj, storages = _restricted_load(f, lambda t, key, numel: Storage(t.dtype, numel))
    keys, _ = _restricted_load(f)
    for key in keys:
        key = key.decode() if isinstance(key, bytes) else str(key)
        storage = storages[key]
        (numel,) = struct.unpack("<q", f.read(8))
        if numel != storage.numel:
            raise pickle.UnpicklingError(f"storage {key}: {numel} elements on disk, {storage.numel} expected")
        storage.set_bytes(f.read(numel * storage.dtype.itemsize))
    if f.read(1):
        raise pickle.UnpicklingError("trailing bytes after the last storage")
    return _materialize(obj)


def load(source):
    """Load a torch checkpoint from a path or bytes; tensors become numpy arrays."""
    data = source if isinstance(source, (bytes, bytearray)) else open(source, "rb").read()
    if data[:4] == b"PK\x03\x04":
        return _load_zip(data)
    if len(data) > 512 and tarfile.is_tarfile(io.BytesIO(data)):
        raise pickle.UnpicklingError("tar-format checkpoints (torch < 0.4) are not supported")
    return _load_legacy(data)
