pub mod bench;
pub mod compile;
pub mod demo;
pub mod infer;
pub mod keygen;
pub mod party;
pub mod plain;
pub mod preprocess;
