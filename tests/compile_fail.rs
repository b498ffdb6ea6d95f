//! Every ```rust,compile_fail,E0XXX block must fail to compile, with the error code it names.
//!
//! skeptic has no `compile_fail`; `build.rs` collects these blocks and `tests/harness` compiles each
//! one with the compiler's messages captured.

mod harness;

include!(concat!(env!("OUT_DIR"), "/compile_fail_tests.rs"));
