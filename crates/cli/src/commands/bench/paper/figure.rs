//! Fig. 10: time and communication of ResNet-n against n, in both modes, with a
//! least-squares line through each series (the paper: both grow linearly with depth).

use super::Measured;
use anyhow::{anyhow, Result};
use serde::Serialize;
use std::path::Path;

#[derive(Debug, Serialize)]
pub struct Fig10 {
    pub points: Vec<Point>,
    /// One line per mode and quantity.
    pub fits: Vec<Fit>,
}

#[derive(Debug, Serialize)]
pub struct Point {
    pub depth: u32,
    #[serde(flatten)]
    pub measured: Measured,
}

/// `value ≈ intercept + slope · n` by least squares.
#[derive(Debug, Serialize)]
pub struct Fit {
    pub mode: &'static str,
    /// "seconds" or "GiB".
    pub quantity: &'static str,
    pub slope: f64,
    pub intercept: f64,
    /// 1 for points on a line (and trivially for two points).
    pub r_squared: f64,
    /// The largest |measured − fitted| / measured over the points.
    pub max_relative_residual: f64,
}

/// Below this the series is reported as not linear.
const LINEAR_R_SQUARED: f64 = 0.98;

impl Fig10 {
    /// The ResNet-n rows of `rows` (n in `depths`), fitted.
    pub fn from_rows(rows: &[Measured], depths: &[u32]) -> Self {
        let points: Vec<Point> = depths
            .iter()
            .flat_map(|&n| {
                rows.iter()
                    .filter(move |r| r.net == format!("resnet{n}"))
                    .map(move |r| Point {
                        depth: n,
                        measured: r.clone(),
                    })
            })
            .collect();
        let mut fits = Vec::new();
        for mode in ["semi-honest", "malicious"] {
            for (quantity, value) in QUANTITIES {
                let series: Vec<(f64, f64)> = points
                    .iter()
                    .filter(|p| p.measured.mode == mode)
                    .map(|p| (f64::from(p.depth), value(&p.measured)))
                    .collect();
                if let Some(fit) = fit(mode, quantity, &series) {
                    fits.push(fit);
                }
            }
        }
        Fig10 { points, fits }
    }
}

type Quantity = (&'static str, fn(&Measured) -> f64);
const QUANTITIES: [Quantity; 2] = [("seconds", |m| m.median_s), ("GiB", |m| m.total_gib)];

fn fit(mode: &'static str, quantity: &'static str, series: &[(f64, f64)]) -> Option<Fit> {
    if series.len() < 2 {
        return None;
    }
    let n = series.len() as f64;
    let mean_x = series.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = series.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = series.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    let sxy: f64 = series.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    let syy: f64 = series.iter().map(|p| (p.1 - mean_y).powi(2)).sum();
    if sxx == 0.0 {
        return None;
    }
    let slope = sxy / sxx;
    let intercept = mean_y - slope * mean_x;
    let residual: f64 = series
        .iter()
        .map(|p| (p.1 - intercept - slope * p.0).powi(2))
        .sum();
    let r_squared = if syy == 0.0 {
        1.0
    } else {
        1.0 - residual / syy
    };
    let max_relative_residual = series
        .iter()
        .map(|p| ((p.1 - intercept - slope * p.0) / p.1).abs())
        .fold(0.0, f64::max);
    Some(Fit {
        mode,
        quantity,
        slope,
        intercept,
        r_squared,
        max_relative_residual,
    })
}

pub fn print(fig: &Fig10) {
    if fig.points.is_empty() {
        return;
    }
    println!("\nFig. 10: ResNet-n (the paper plots time and GB against n: both linear)");
    println!(
        "{:>5} {:<12} {:>8} {:>7} {:>9} {:>7} {:>22}",
        "n", "mode", "time s", "vs s-h", "comm GiB", "rounds", "peak MiB P0/P1/P2"
    );
    for p in &fig.points {
        let m = &p.measured;
        println!(
            "{:>5} {:<12} {:>8.2} {:>7} {:>9.3} {:>7} {:>22}",
            p.depth,
            m.mode,
            m.median_s,
            m.over_semi_honest
                .map_or_else(|| "-".to_string(), |x| format!("{x:.2}")),
            m.total_gib,
            m.rounds,
            format!(
                "{:.0} / {:.0} / {:.0}",
                m.peak_rss_mib[0], m.peak_rss_mib[1], m.peak_rss_mib[2]
            ),
        );
    }
    for f in &fig.fits {
        println!(
            "  {:<12} {:<8} ≈ {:.4} + {:.4}·n   R² {:.4}, worst residual {:.1}%{}",
            f.mode,
            f.quantity,
            f.intercept,
            f.slope,
            f.r_squared,
            f.max_relative_residual * 100.0,
            if f.r_squared < LINEAR_R_SQUARED {
                "  (not linear)"
            } else {
                ""
            }
        );
    }
}

/// Two panels, time and communication against n, a line per mode.
pub fn plot(path: &Path, fig: &Fig10) -> Result<()> {
    use plotters::prelude::*;
    let failed = |e: &dyn std::fmt::Display| anyhow!("cannot draw {}: {e}", path.display());
    let root = SVGBackend::new(path, (1000, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| failed(&e))?;
    let (left, right) = root.split_horizontally(500);
    let titles = ["time (s)", "communication (GiB)"];
    for ((area, (_, value)), title) in [left, right].iter().zip(QUANTITIES).zip(titles) {
        let top = fig
            .points
            .iter()
            .map(|p| value(&p.measured))
            .fold(0.0, f64::max)
            .max(1e-3)
            * 1.1;
        let mut chart = ChartBuilder::on(area)
            .caption(format!("ResNet-n: {title}"), ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(55)
            .build_cartesian_2d(0f64..210f64, 0f64..top)
            .map_err(|e| failed(&e))?;
        chart
            .configure_mesh()
            .x_desc("n (layers)")
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_desc(title)
            .draw()
            .map_err(|e| failed(&e))?;
        for (mode, label, color) in [
            ("semi-honest", "semi-honest (Porthos)", BLUE),
            ("malicious", "malicious (Aramis)", RED),
        ] {
            let series: Vec<(f64, f64)> = fig
                .points
                .iter()
                .filter(|p| p.measured.mode == mode)
                .map(|p| (f64::from(p.depth), value(&p.measured)))
                .collect();
            if series.is_empty() {
                continue;
            }
            chart
                .draw_series(LineSeries::new(series.clone(), color.stroke_width(2)))
                .map_err(|e| failed(&e))?
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
            chart
                .draw_series(series.iter().map(|&p| Circle::new(p, 4, color.filled())))
                .map_err(|e| failed(&e))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .border_style(BLACK)
            .background_style(WHITE.mix(0.8))
            .draw()
            .map_err(|e| failed(&e))?;
    }
    root.present().map_err(|e| failed(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_fits_exactly_and_a_bend_does_not() {
        let line: Vec<(f64, f64)> = [18.0, 34.0, 50.0, 101.0].map(|n| (n, 0.5 + 0.1 * n)).into();
        let f = fit("semi-honest", "seconds", &line).expect("four points");
        assert!((f.slope - 0.1).abs() < 1e-12 && (f.intercept - 0.5).abs() < 1e-9);
        assert!((f.r_squared - 1.0).abs() < 1e-12 && f.max_relative_residual < 1e-12);
        let bent: Vec<(f64, f64)> = [18.0, 34.0, 50.0, 101.0, 200.0].map(|n| (n, n * n)).into();
        let f = fit("semi-honest", "seconds", &bent).expect("five points");
        assert!(
            f.r_squared < LINEAR_R_SQUARED,
            "n² fitted with R² {}",
            f.r_squared
        );
        assert!(fit("malicious", "GiB", &line[..1]).is_none());
    }
}
