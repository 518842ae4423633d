//! Native pieces of geochip shared by the `geochip` binary, the benches and the tests: byte
//! sources for the core's COG reader (local files, HTTP range requests) and the zstd
//! decompressor the core cannot carry (C); and the stacking benchmark's generated COGs.

pub mod recipe_files;
pub mod source;
pub mod stack_workload;
