//! The monitor of a deployed stack (`watch --outputs …` on a terminal): the same screen
//! rules as the local one, fed by what AWS reports: the mappings' state and last result,
//! the last minutes of the metrics that matter (with per-minute sparklines), the batches
//! waiting for `redrive`, the latest problem in the function's logs, alarms in colour.
//! Pure: the report and the context come in.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::style::Color;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::Screen;
use super::model::LogSignals;
use super::render::{Context, Paint, alarm_span, chart, flow, header, keys_line, problem, wrapped};
use crate::status_deployed::DeployedReport;

/// The latest look at a deployed stack, and this process's own warnings (the SDK's
/// retries, say), which go to a file while the view owns the terminal.
#[derive(Debug, Default)]
pub struct DeployedScreen {
    pub latest: Option<DeployedReport>,
    pub own: LogSignals,
}

impl Screen for DeployedScreen {
    type Report = DeployedReport;
    fn push(&mut self, _at_ms: i64, report: DeployedReport) {
        self.latest = Some(report);
    }
    fn own_line(&mut self, line: &str) {
        self.own.add_own(line);
    }
    fn draw(&self, frame: &mut Frame<'_>, ctx: &Context<'_>) {
        draw(frame, self.latest.as_ref(), &self.own, ctx);
    }
}

/// A metric's value over the period, by its name.
fn value(r: &DeployedReport, name: &str) -> Option<f64> {
    r.metrics
        .iter()
        .find(|m| m.name == name)
        .and_then(|m| m.value)
}

/// A metric's per-minute values, by its name.
fn per_minute(r: &DeployedReport, name: &str) -> Vec<u64> {
    r.metrics
        .iter()
        .find(|m| m.name == name)
        .map(|m| {
            m.per_minute
                .iter()
                .map(|v| v.max(0.0).round() as u64)
                .collect()
        })
        .unwrap_or_default()
}

fn count(v: Option<f64>) -> String {
    // `+ 0.0`: an empty sum is -0.0, shown as 0.
    v.map_or_else(|| "-".to_owned(), |v| format!("{:.0}", v + 0.0))
}

/// Healthy results of a Kinesis mapping (anything else is a problem Lambda reports).
fn healthy(result: &str) -> bool {
    matches!(result, "OK" | "No records processed" | "")
}

fn summary<'a>(
    r: Option<&DeployedReport>,
    own: &LogSignals,
    c: &Context<'_>,
    p: &Paint,
    width: u16,
) -> Vec<Line<'a>> {
    let partial = r.is_some_and(|r| !r.unread.is_empty());
    let title = format!("deployed {} ", c.stack);
    let mut lines = header(title, c, partial, p, width);
    let Some(r) = r else {
        lines.push(Line::raw("waiting for the first look at the stack…"));
        return lines;
    };
    for u in &r.unread {
        let text = format!("{}: {}", u.what, u.error);
        lines.extend(wrapped("UNREAD   ", &text, width, p.style(Color::Red), p));
    }
    if r.mappings.is_empty() {
        lines.push(Line::from(vec![
            Span::styled("mapping  ", p.bold()),
            p.span("none found for the function", Color::Red),
        ]));
    }
    for m in &r.mappings {
        let bad = m.state != "Enabled" || !healthy(&m.last_processing_result);
        lines.extend(flow(
            Span::styled("mapping  ", p.bold()),
            vec![
                p.flag(format!("{}  ", m.state), m.state != "Enabled"),
                p.flag(
                    format!("last result {}  ", m.last_processing_result),
                    !healthy(&m.last_processing_result),
                ),
                Span::raw(if bad {
                    format!("({})", m.state_transition_reason)
                } else {
                    String::new()
                }),
            ],
            width,
        ));
    }
    let v = |name| value(r, name);
    let errors = v("Errors").unwrap_or(0.0) + v("Throttles").unwrap_or(0.0);
    lines.extend(flow(
        Span::styled(format!("{:<9}", format!("{} min", r.minutes)), p.bold()),
        vec![
            Span::raw(format!("in {}  ", count(v("IncomingRecords")))),
            Span::raw(format!("counted {}  ", count(v("RecordsProcessed")))),
            Span::raw(format!("duplicates {}  ", count(v("DuplicatesSkipped")))),
            p.flag(
                format!(
                    "quarantined {}  ",
                    count(v(function::telemetry::REJECTED_METRIC))
                ),
                v(function::telemetry::REJECTED_METRIC).unwrap_or(0.0) > 0.0,
            ),
            p.flag(
                format!(
                    "storage failures {}",
                    count(v(function::telemetry::ITEM_FAILURES_METRIC))
                ),
                v(function::telemetry::ITEM_FAILURES_METRIC).unwrap_or(0.0) > 0.0,
            ),
        ],
        width,
    ));
    let age = v("IteratorAge");
    lines.extend(flow(
        Span::styled("lambda   ", p.bold()),
        vec![
            Span::raw(format!("invocations {}  ", count(v("Invocations")))),
            p.flag(
                format!(
                    "errors {}  throttles {}  ",
                    count(v("Errors")),
                    count(v("Throttles"))
                ),
                errors > 0.0,
            ),
            p.flag(
                format!(
                    "iterator age max {}  ",
                    age.map_or_else(|| "-".to_owned(), |a| format!("{:.1} s", a / 1000.0))
                ),
                age.unwrap_or(0.0) > 60_000.0,
            ),
            p.flag(
                format!(
                    "delivery failures {}",
                    count(v("DestinationDeliveryFailures"))
                ),
                v("DestinationDeliveryFailures").unwrap_or(0.0) > 0.0,
            ),
        ],
        width,
    ));
    let waiting = r.failed_batches_waiting;
    lines.push(Line::from(vec![
        Span::styled("kept     ", p.bold()),
        p.flag(
            format!(
                "{} batches waiting for redrive",
                waiting.map_or_else(|| "?".to_owned(), |n| n.to_string())
            ),
            waiting != Some(0),
        ),
    ]));
    if let Some(pr) = &r.last_problem {
        let red = p.style(Color::Red);
        lines.extend(problem("last     ", &pr.time, &pr.what, width, red, p));
    }
    if let Some((time, what)) = &own.last_problem {
        let what = format!("{what} ({} in all)", own.problems);
        let yellow = p.style(Color::Yellow);
        lines.extend(problem("watch    ", time, &what, width, yellow, p));
    }
    let alarms = r
        .alarms
        .iter()
        .map(|(name, state)| alarm_span(name, state, false, p))
        .collect();
    lines.extend(flow(Span::styled("alarms   ", p.bold()), alarms, width));
    lines
}

/// Draws the whole screen into `frame`.
pub fn draw(frame: &mut Frame<'_>, r: Option<&DeployedReport>, own: &LogSignals, c: &Context<'_>) {
    let p = Paint { colour: c.colour };
    let area = frame.area();
    let lines = summary(r, own, c, &p, area.width);
    let top = u16::try_from(lines.len()).unwrap_or(u16::MAX);
    let [head, charts, _, keys] = Layout::vertical([
        Constraint::Length(top),
        Constraint::Length(if area.height >= top + 5 { 4 } else { 0 }),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(lines), head);
    if let (Some(r), true) = (r, charts.height > 0) {
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                .areas(charts);
        let title = |max| format!("records in per minute (max {max})");
        chart(
            frame,
            left,
            &per_minute(r, "IncomingRecords"),
            title,
            p.style(Color::Cyan),
        );
        let title = |max| format!("iterator age max ms per minute (max {max})");
        let age = per_minute(r, "IteratorAge");
        chart(frame, right, &age, title, p.style(Color::Magenta));
    }
    keys_line(frame, keys, c, &p);
}
