//! Photos as model inputs, with the standard ImageNet preprocessing: resize the shorter
//! side, center-crop, scale to [0, 1], normalize per channel, NCHW float32.

use crate::inputs::usage;
use anyhow::{Context, Result};
use clap::Args;
use cryptflow_ring::Tensor;
use image::imageops::FilterType;
use std::path::Path;

#[derive(Args, Clone, Debug)]
pub struct Preprocess {
    /// For image inputs: the shorter side is resized to this before cropping.
    #[arg(long, default_value_t = 256)]
    pub resize: u32,
    /// For image inputs: the side of the center crop (the model's input size).
    #[arg(long, default_value_t = 224)]
    pub crop: u32,
    /// For image inputs: per-channel mean (R,G,B) subtracted after scaling to [0, 1].
    #[arg(long, value_delimiter = ',', default_values_t = [0.485, 0.456, 0.406])]
    pub mean: Vec<f32>,
    /// For image inputs: per-channel standard deviation (R,G,B).
    #[arg(long, value_delimiter = ',', default_values_t = [0.229, 0.224, 0.225])]
    pub std: Vec<f32>,
}

impl Default for Preprocess {
    fn default() -> Self {
        Preprocess {
            resize: 256,
            crop: 224,
            mean: vec![0.485, 0.456, 0.406],
            std: vec![0.229, 0.224, 0.225],
        }
    }
}

/// Whether a path names an image file (by extension).
pub fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| ["jpg", "jpeg", "png"].contains(&e.to_ascii_lowercase().as_str()))
}

/// Decodes and preprocesses a photo into a `[1, 3, crop, crop]` tensor.
pub fn load_image(path: &Path, p: &Preprocess) -> Result<Tensor<f32>> {
    load(path, p).map_err(|e| usage(e.context(format!("cannot use {} as input", path.display()))))
}

fn load(path: &Path, p: &Preprocess) -> Result<Tensor<f32>> {
    if p.mean.len() != 3
        || p.std.len() != 3
        || p.std.iter().any(|&s| s <= 0.0)
        || p.crop == 0
        || p.resize < p.crop
    {
        anyhow::bail!(
            "--mean and --std need three values (std > 0), and --resize must be at least --crop"
        );
    }
    let image = image::ImageReader::open(path)
        .with_context(|| format!("cannot open {}", path.display()))?
        .with_guessed_format()?
        .decode()
        .context("not a readable PNG or JPEG image")?
        .to_rgb8();
    let (w, h) = image.dimensions();
    let (nw, nh) = if w <= h {
        (
            p.resize,
            (u64::from(h) * u64::from(p.resize) / u64::from(w.max(1))) as u32,
        )
    } else {
        (
            (u64::from(w) * u64::from(p.resize) / u64::from(h.max(1))) as u32,
            p.resize,
        )
    };
    let resized = image::imageops::resize(&image, nw, nh, FilterType::Triangle);
    let (x0, y0) = ((nw - p.crop) / 2, (nh - p.crop) / 2);
    let side = p.crop as usize;
    let mut data = vec![0f32; 3 * side * side];
    for y in 0..p.crop {
        for x in 0..p.crop {
            let pixel = resized.get_pixel(x0 + x, y0 + y);
            for c in 0..3 {
                let v = f32::from(pixel[c]) / 255.0;
                data[(c * side + y as usize) * side + x as usize] = (v - p.mean[c]) / p.std[c];
            }
        }
    }
    Ok(Tensor::new(vec![1, 3, side, side], data)?)
}
