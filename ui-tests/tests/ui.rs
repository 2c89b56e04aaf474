//! Runs the compile-fail (`fail/*.rs`, each with its expected `.stderr`) and
//! compile-pass (`pass/*.rs`) cases of the `#[actor]` DSL with trybuild.
//!
//! The expected output depends on the compiler version; regenerate it with
//! `TRYBUILD=overwrite cargo test -p ui-tests`, then read every changed `.stderr`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("pass/*.rs");
    t.compile_fail("fail/*.rs");
}
