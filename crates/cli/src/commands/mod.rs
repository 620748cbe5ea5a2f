pub mod bench;
pub mod demo;
pub mod infer;
pub mod party;
pub mod plain;
