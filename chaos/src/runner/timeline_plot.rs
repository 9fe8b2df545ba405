//! The timeline picture of a run: fault windows (shaded by kind) against operation latency (top)
//! and acknowledged operations per second (bottom). Written twice: `timeline.svg` with axes and
//! labels, and `timeline.png` (plotters' bitmap backend) without text, because this machine has no
//! fonts and plotters' bitmap text needs one.

use std::path::Path;

use plotters::{coord::Shift, prelude::*};

use super::Report;
use crate::history::{History, Outcome};

/// Width of one throughput bucket, in seconds.
const BUCKET_S: f64 = 0.25;
const SIZE: (u32, u32) = (1400, 700);

/// What the picture shows, in seconds and milliseconds.
struct Timeline {
    end_s: f64,
    /// (start, end, colour index) of each fault.
    faults: Vec<(f64, f64, usize, String)>,
    ok: Vec<(f64, f64)>,
    failed: Vec<(f64, f64)>,
    unknown: Vec<f64>,
    max_latency_ms: f64,
    throughput: Vec<(f64, f64)>,
}

fn family(name: &str) -> usize {
    match name.split('-').next().unwrap_or("") {
        "kill" => 0,
        "pause" => 1,
        "partition" => 2,
        _ => 3,
    }
}

const FAULT_COLOURS: [RGBColor; 4] = [
    RGBColor(230, 90, 90),
    RGBColor(240, 170, 60),
    RGBColor(90, 130, 230),
    RGBColor(170, 100, 200),
];

impl Timeline {
    fn new(history: &History, report: &Report) -> Self {
        let s = |ns: u64| ns as f64 / 1e9;
        let mut t = Timeline {
            end_s: 1.0,
            faults: Vec::new(),
            ok: Vec::new(),
            failed: Vec::new(),
            unknown: Vec::new(),
            max_latency_ms: 10.0,
            throughput: Vec::new(),
        };
        for f in &report.faults {
            let a = f.inject_ms / 1000.0;
            let b = f.heal_ms.map(|h| h / 1000.0).unwrap_or(a + 0.05);
            t.faults.push((a, b, family(&f.name), f.name.clone()));
        }
        let mut buckets: Vec<f64> = Vec::new();
        for op in &history.ops {
            let at = s(op.invoke_ns);
            t.end_s = t.end_s.max(at);
            match (&op.outcome, op.complete_ns) {
                (Outcome::Ok(_), Some(done)) => {
                    let lat = (done - op.invoke_ns) as f64 / 1e6;
                    t.max_latency_ms = t.max_latency_ms.max(lat);
                    t.ok.push((at, lat));
                    let b = (s(done) / BUCKET_S) as usize;
                    if buckets.len() <= b {
                        buckets.resize(b + 1, 0.0);
                    }
                    buckets[b] += 1.0 / BUCKET_S;
                }
                (Outcome::Fail, Some(done)) => {
                    t.failed.push((at, (done - op.invoke_ns) as f64 / 1e6))
                }
                _ => t.unknown.push(at),
            }
        }
        t.throughput = buckets
            .iter()
            .enumerate()
            .map(|(i, v)| (i as f64 * BUCKET_S, *v))
            .collect();
        t.end_s = t.end_s.max(t.throughput.len() as f64 * BUCKET_S) + 0.5;
        t.max_latency_ms *= 1.05;
        t
    }
}

fn err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow::anyhow!("drawing: {e:?}")
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    t: &Timeline,
    text: bool,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(err)?;
    let (top, bottom) = root.split_vertically(SIZE.1 * 3 / 5);
    let max_tp = t.throughput.iter().map(|p| p.1).fold(1.0, f64::max) * 1.1;
    let panels: [(&DrawingArea<DB, Shift>, f64, &str); 2] = [
        (
            &top,
            t.max_latency_ms,
            "latency of answered operations (ms); red ticks: unanswered",
        ),
        (&bottom, max_tp, "acknowledged operations per second"),
    ];
    for (i, (area, y_max, label)) in panels.into_iter().enumerate() {
        let mut builder = ChartBuilder::on(area);
        builder.margin(10);
        if text {
            builder
                .caption(label, ("sans-serif", 16))
                .x_label_area_size(30)
                .y_label_area_size(60);
        }
        let mut chart = builder
            .build_cartesian_2d(0f64..t.end_s, 0f64..y_max)
            .map_err(err)?;
        if text {
            chart
                .configure_mesh()
                .x_desc("seconds since start")
                .light_line_style(WHITE)
                .draw()
                .map_err(err)?;
        }
        chart
            .draw_series(t.faults.iter().map(|(a, b, c, _)| {
                Rectangle::new(
                    [(*a, 0.0), (*b, y_max)],
                    FAULT_COLOURS[*c].mix(0.25).filled(),
                )
            }))
            .map_err(err)?;
        if text && i == 0 {
            chart
                .draw_series(t.faults.iter().map(|(a, _, c, name)| {
                    Text::new(
                        name.clone(),
                        (*a, y_max * 0.97),
                        ("sans-serif", 11).into_font().color(&FAULT_COLOURS[*c]),
                    )
                }))
                .map_err(err)?;
        }
        if i == 0 {
            chart
                .draw_series(
                    t.ok.iter()
                        .map(|p| Circle::new(*p, 1, GREEN.mix(0.5).filled())),
                )
                .map_err(err)?;
            chart
                .draw_series(
                    t.failed
                        .iter()
                        .map(|p| Circle::new(*p, 2, RGBColor(255, 140, 0).filled())),
                )
                .map_err(err)?;
            chart
                .draw_series(t.unknown.iter().map(|x| {
                    PathElement::new(vec![(*x, y_max * 0.9), (*x, y_max)], RED.stroke_width(1))
                }))
                .map_err(err)?;
        } else {
            chart
                .draw_series(LineSeries::new(
                    t.throughput.iter().copied(),
                    BLUE.stroke_width(2),
                ))
                .map_err(err)?;
        }
    }
    root.present().map_err(err)?;
    Ok(())
}

/// Writes `timeline.svg` and `timeline.png` into `dir`.
pub fn draw_timeline(history: &History, report: &Report, dir: &Path) -> anyhow::Result<()> {
    let t = Timeline::new(history, report);
    let svg = dir.join("timeline.svg");
    draw(SVGBackend::new(&svg, SIZE).into_drawing_area(), &t, true)?;
    let png = dir.join("timeline.png");
    draw(
        BitMapBackend::new(&png, SIZE).into_drawing_area(),
        &t,
        false,
    )?;
    Ok(())
}
