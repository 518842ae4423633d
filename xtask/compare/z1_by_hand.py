"""Z1 by hand: zarr-python and tensorstore on geochip's Z1 layout (float32 8192², 512² chunks,
uncompressed), whole-array and random single-chunk reads, beside plain reads of the chunk files.
Not yet part of `cargo xtask compare`; run with a venv holding zarr>=3 and tensorstore:

    python xtask/compare/z1_by_hand.py

Writes and deletes /tmp/z1/u.zarr (256 MiB). See book/src/benchmarks.md for the figures.
"""
import time, numpy as np, zarr, tensorstore as ts, random, shutil, os
n, c = 8192, 512
os.makedirs("/tmp/z1", exist_ok=True)
root = "/tmp/z1/u.zarr"
shutil.rmtree(root, ignore_errors=True)
a = np.arange(n*n, dtype=np.float32).reshape(n, n)
z = zarr.create_array(root, shape=(n, n), chunks=(c, c), dtype="float32", compressors=None, fill_value=0)
z[:] = a
def best(f, k=3):
    f(); t = []
    for _ in range(k):
        s = time.perf_counter(); f(); t.append(time.perf_counter() - s)
    return min(t)
nbytes = a.nbytes
zr = zarr.open_array(root, mode="r")
t = best(lambda: zr[:])
print(f"zarr-python {zarr.__version__} whole read: {nbytes/t/1e9:.3f} GB/s")
store = ts.open({"driver": "zarr3", "kvstore": {"driver": "file", "path": root}}).result()
t = best(lambda: store.read().result())
print(f"tensorstore whole read: {nbytes/t/1e9:.3f} GB/s")
rng = random.Random(1)
idx = [(rng.randrange(n//c), rng.randrange(n//c)) for _ in range(64)]
def chunks_zarr():
    for i, j in idx: zr[i*c:(i+1)*c, j*c:(j+1)*c]
def chunks_ts():
    for i, j in idx: store[i*c:(i+1)*c, j*c:(j+1)*c].read().result()
def plain():
    for i, j in idx:
        with open(f"{root}/c/{i}/{j}", "rb") as f: f.read()
for name, f in (("zarr-python", chunks_zarr), ("tensorstore", chunks_ts), ("plain read", plain)):
    print(f"{name} single chunk: {best(f)/64*1e3:.3f} ms")
t = best(lambda: [open(f"{root}/c/{i}/{j}","rb").read() for i in range(n//c) for j in range(n//c)])
print(f"plain read of all chunk files: {nbytes/t/1e9:.3f} GB/s")
shutil.rmtree(root)
