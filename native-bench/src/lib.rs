//! Native pieces of geochip shared by the `geochip` binary, the benches and the tests: byte
//! sources for the core's COG reader (local files, HTTP range requests) and the zstd
//! decompressor the core cannot carry (C); and the stacking benchmark's generated COGs.

pub mod recipe_files;
pub mod source;
pub mod stack_workload;

/// Pins glibc's allocator thresholds for chunked I/O: buffers under 64 MiB come from the heap
/// and freed memory is kept up to 256 MiB, so a run that has freed large arrays does not
/// serve every later 1 MiB chunk buffer with a fresh, page-faulting `mmap` (glibc's adaptive
/// threshold only grows after frees of at most 32 MiB). The same as
/// `MALLOC_MMAP_THRESHOLD_=67108864 MALLOC_TRIM_THRESHOLD_=268435456`; the `geochip` binary
/// and the Zarr bench call it first. A no-op off Linux/glibc, or where the environment
/// already sets either variable (the user's choice wins).
///
/// ```
/// geochip_bench::tune_allocator();
/// let v = vec![0u8; 1 << 20];
/// assert_eq!(v.len(), 1 << 20);
/// ```
#[allow(unsafe_code)] // two mallopt calls: std cannot set the allocator's thresholds
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_some()
            || std::env::var_os("MALLOC_TRIM_THRESHOLD_").is_some()
        {
            return;
        }
        // SAFETY: mallopt only sets allocator parameters; called before any threads start.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 64 << 20);
            libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
        }
    }
}

/// The Z1 benchmark's array (`benches/zarr.rs` and `geochip bench zarr`): an `n`×`n` float32
/// (y, x) field, smooth plus hash noise, so it compresses, but not trivially.
///
/// ```
/// let a = geochip_bench::z1_field(4);
/// assert_eq!(a.shape(), &[4, 4]);
/// ```
pub fn z1_field(n: usize) -> geochip::LabeledArray {
    let mut v = Vec::with_capacity(n * n);
    for y in 0..n {
        for x in 0..n {
            let h = (x as u64 * 0x9E37_79B9 + y as u64 * 0x85EB_CA6B) % 1000;
            let smooth = ((x as f32) * 0.01).sin() * 100.0 + ((y as f32) * 0.013).cos() * 50.0;
            v.push(smooth + (h as f32) * 0.001);
        }
    }
    geochip::LabeledArray::from_shape_vec(&["y", "x"], &[n, n], v)
        .expect("n*n values for an n×n shape")
}
