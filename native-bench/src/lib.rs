//! Native pieces of geochip shared by the `geochip` binary, the benches and the tests: byte
//! sources for the core's COG reader (local files, HTTP range requests) and the zstd
//! decompressor the core cannot carry (C).

pub mod recipe_files;
pub mod source;
