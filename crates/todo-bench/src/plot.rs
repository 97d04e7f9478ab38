//! The bench's plot: throughput against connections for each workload, the
//! API on each backend beside its ceiling, as an SVG (no fonts needed).

use std::path::Path;

use plotters::prelude::{
    BLACK, BLUE, ChartBuilder, Circle, Color, IntoDrawingArea, IntoFont, IntoLogRange, LineSeries,
    PathElement, RED, RGBColor, SVGBackend, SeriesLabelPosition, WHITE,
};

use todo_load::workload::Workload;

use crate::results::{Part, WorkloadPoint, load};

/// Why the plot could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("no workload results to plot in {0}")]
    NoData(String),
    #[error("drawing failed: {0}")]
    Draw(String),
}

const GREEN: RGBColor = RGBColor(0, 140, 60);
const ORANGE: RGBColor = RGBColor(230, 120, 0);

/// Draws `path` from the workload results in `out`.
pub fn plot(out: &Path, path: &Path) -> Result<(), PlotError> {
    let mut points: Vec<WorkloadPoint> = Vec::new();
    for part in [Part::WorkloadsPostgres, Part::WorkloadsSqlite] {
        points.extend(load::<Vec<WorkloadPoint>>(out, part.file_name()).unwrap_or_default());
    }
    if points.is_empty() {
        return Err(PlotError::NoData(out.display().to_string()));
    }
    let draw = |error: &dyn std::fmt::Display| PlotError::Draw(error.to_string());
    let root = SVGBackend::new(path, (1600, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| draw(&e))?;
    let panels = root.split_evenly((1, Workload::ALL.len()));
    let max = points
        .iter()
        .flat_map(|p| [p.api.throughput, p.ceiling.throughput])
        .fold(10.0_f64, f64::max)
        * 2.0;
    let max_connections = points.iter().map(|p| p.connections).max().unwrap_or(256) as f64 * 1.5;
    for (panel, workload) in panels.iter().zip(Workload::ALL) {
        let mut chart = ChartBuilder::on(panel)
            .caption(format!("{workload}"), ("sans-serif", 20).into_font())
            .margin(8)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(
                (8.0_f64..max_connections).log_scale(),
                (1.0_f64..max).log_scale(),
            )
            .map_err(|e| draw(&e))?;
        chart
            .configure_mesh()
            .x_desc("connections")
            .y_desc("requests/s")
            .draw()
            .map_err(|e| draw(&e))?;
        let series: [(&str, &str, bool, RGBColor); 4] = [
            ("postgres", "API on PostgreSQL", false, BLUE),
            ("postgres", "pgbench ceiling", true, GREEN),
            ("sqlite", "API on SQLite", false, RED),
            ("sqlite", "rusqlite ceiling", true, ORANGE),
        ];
        for (backend, label, ceiling, color) in series {
            let line: Vec<(f64, f64)> = points
                .iter()
                .filter(|p| p.backend == backend && p.workload == workload)
                .map(|p| {
                    let y = if ceiling {
                        p.ceiling.throughput
                    } else {
                        p.api.throughput
                    };
                    (p.connections as f64, y.max(1.0))
                })
                .collect();
            if line.is_empty() {
                continue;
            }
            chart
                .draw_series(LineSeries::new(line.clone(), color.stroke_width(2)))
                .map_err(|e| draw(&e))?
                .label(label)
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], color));
            chart
                .draw_series(
                    line.into_iter()
                        .map(|xy| Circle::new(xy, 3, color.filled())),
                )
                .map_err(|e| draw(&e))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .border_style(BLACK)
            .background_style(WHITE.mix(0.8))
            .draw()
            .map_err(|e| draw(&e))?;
    }
    root.present().map_err(|e| draw(&e))
}
