//! `results/footprint.png`: memory at rest and idle CPU against the number of services, both
//! healers, two panels (30 s probes for both; text in DejaVu Sans from fonts-dejavu-core).

use plotters::prelude::*;
use serde_json::Value;
use std::path::Path;

const FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

fn series(figures: &[Value], what: &str, who: &str) -> Vec<(f64, f64)> {
    figures
        .iter()
        .filter(|f| f["what"] == what && f["setting"] == super::run::PORT_30)
        .filter_map(|f| Some((f["services"].as_f64()?, f[who]["median"].as_f64()?)))
        .collect()
}

pub fn draw(figures: &[Value], out: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let font: &'static [u8] = Box::leak(std::fs::read(FONT)?.into_boxed_slice());
    plotters::style::register_font("sans-serif", FontStyle::Normal, font)
        .map_err(|_| "cannot load DejaVu Sans")?;
    let root = BitMapBackend::new(out, (1200, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let panels = root.split_evenly((1, 2));
    for (panel, (what, y_label)) in panels.iter().zip([
        ("VmRSS at rest", "VmRSS at rest (MiB)"),
        ("idle CPU", "idle CPU (% of one core)"),
    ]) {
        let lines = [
            ("MiracleMax", series(figures, what, "miraclemax"), BLUE),
            ("Monit", series(figures, what, "monit"), RED),
        ];
        let top = lines
            .iter()
            .flat_map(|l| l.1.iter().map(|p| p.1))
            .fold(0.0f64, f64::max)
            * 1.2
            + 1e-3;
        let mut chart = ChartBuilder::on(panel)
            .caption(format!("{what}, 30 s probes"), ("sans-serif", 22))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d((0.8f64..700f64).log_scale(), 0f64..top)?;
        chart
            .configure_mesh()
            .x_desc("services watched (log scale)")
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_desc(y_label)
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 16))
            .draw()?;
        for (name, points, color) in lines {
            chart
                .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2))
                });
            chart.draw_series(points.iter().map(|p| Circle::new(*p, 4, color.filled())))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font(("sans-serif", 16))
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
    }
    root.present()?;
    Ok(())
}
