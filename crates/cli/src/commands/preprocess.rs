//! `cryptflow preprocess`: writes the exact tensor a photo becomes as a model input, so
//! that it can be checked or fed to another runtime.

use crate::image_input::{load_image, Preprocess};
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct PreprocessArgs {
    /// A .jpg or .png photo.
    pub image: PathBuf,
    /// Where to write the float32 [1, 3, crop, crop] tensor (.npy).
    #[arg(short, long)]
    pub output: PathBuf,
    #[command(flatten)]
    pub preprocess: Preprocess,
}

pub fn run(args: PreprocessArgs) -> Result<()> {
    let tensor = load_image(&args.image, &args.preprocess)?;
    crate::inputs::write_npy(&args.output, &tensor)
}
