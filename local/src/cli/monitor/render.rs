//! The monitor's screen, drawn with ratatui into whatever area the terminal has: the
//! numbers that matter pinned at the top, the entity list cut to what fits ("+N more"), so
//! the screen never scrolls. Pure: everything it shows comes in.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline};

use super::model::History;
use crate::status::{AggregateView, Counters, FunctionTotals};

/// A read of the stack failing: since when, and why (the whole error chain).
#[derive(Debug, Clone, PartialEq)]
pub struct Stale {
    pub since: DateTime<Utc>,
    pub error: String,
}

/// Everything one frame shows besides the history.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    pub stack: &'a str,
    pub endpoint: &'a str,
    pub now: DateTime<Utc>,
    pub stale: Option<Stale>,
    /// Colours (off with `NO_COLOR`).
    pub colour: bool,
    /// The keys line at the bottom.
    pub keys: &'a str,
}

pub(super) struct Paint {
    pub(super) colour: bool,
}

impl Paint {
    pub(super) fn style(&self, c: Color) -> Style {
        if self.colour {
            Style::default().fg(c)
        } else {
            Style::default()
        }
    }
    pub(super) fn bold(&self) -> Style {
        Style::default().add_modifier(Modifier::BOLD)
    }
    pub(super) fn span<'a>(&self, text: impl Into<String>, c: Color) -> Span<'a> {
        Span::styled(text.into(), self.style(c))
    }
    /// Red when `bad`, green otherwise.
    pub(super) fn flag<'a>(&self, text: impl Into<String>, bad: bool) -> Span<'a> {
        self.span(text, if bad { Color::Red } else { Color::Green })
    }
}

fn alarm_colour(state: &str) -> Color {
    match state {
        "OK" => Color::Green,
        "ALARM" => Color::Red,
        _ => Color::Yellow,
    }
}

/// An alarm's name without the stack's common prefix (`realtime-data-processor-dev-`).
fn short(name: &str) -> &str {
    let parts: Vec<&str> = name.splitn(5, '-').collect();
    match parts.as_slice() {
        ["realtime", _, _, _, rest] => rest,
        _ => name,
    }
}

fn rate(v: f64) -> String {
    if v >= 100.0 || v == 0.0 {
        format!("{v:.0}/s")
    } else {
        format!("{v:.1}/s")
    }
}

/// The title line (what is watched, where, the clock, and live, PARTIAL or STALE) and,
/// while looks fail, since when and why.
pub(super) fn header<'a>(
    title: String,
    c: &Context<'_>,
    partial: bool,
    p: &Paint,
    width: u16,
) -> Vec<Line<'a>> {
    let clock = c.now.format("%H:%M:%S UTC").to_string();
    // On as many lines as the width needs (a long name on a narrow terminal).
    let mut lines = flow(
        Span::styled(title, p.bold()),
        vec![
            Span::raw(format!("· {} ", c.endpoint)),
            Span::raw(format!("· {clock} · ")),
            match (&c.stale, partial) {
                (Some(_), _) => p.span("STALE", Color::Red),
                (None, true) => p.span("PARTIAL", Color::Yellow),
                (None, false) => p.span("live", Color::Green),
            },
        ],
        width,
    );
    if let Some(s) = &c.stale {
        lines.push(Line::from(vec![
            Span::styled("STALE    ", p.bold()),
            p.span(
                format!(
                    "since {} ({} s), reads fail: {}",
                    s.since.format("%H:%M:%S"),
                    (c.now - s.since).num_seconds(),
                    s.error
                ),
                Color::Red,
            ),
        ]));
    }
    lines
}

/// The lines above the charts: header, rates, backlog, latency, done, errors, alarms
/// (wrapped to `width`).
fn summary<'a>(h: &History, c: &Context<'_>, p: &Paint, width: u16) -> Vec<Line<'a>> {
    let partial = h.latest().is_some_and(|l| !l.report.unread.is_empty());
    let mut lines = header(
        format!("realtime · stack {} ", c.stack),
        c,
        partial,
        p,
        width,
    );
    let Some(latest) = h.latest() else {
        lines.push(Line::raw("waiting for the first look at the stack…"));
        return lines;
    };
    for u in &latest.report.unread {
        let text = format!("{}: {}", u.what, u.error);
        lines.extend(wrapped("UNREAD   ", &text, width, p.style(Color::Red), p));
    }
    let (m, f) = (&latest.report.mapping, &latest.report.function);
    let r = h.rates();
    lines.push(Line::from(vec![
        Span::styled("rates    ", p.bold()),
        Span::raw(format!(
            "in {}  counted {}  ",
            rate(r.read),
            rate(r.counted)
        )),
        p.flag(format!("rejected {}  ", rate(r.rejected)), r.rejected > 0.0),
        p.flag(
            format!(
                "given up {} batch/s",
                rate(r.given_up_batches).trim_end_matches("/s")
            ),
            r.given_up_batches > 0.0,
        ),
        Span::raw(format!("  ({:.0} s)", r.seconds)),
    ]));
    let behind = m.records_read.saturating_sub(m.records_done);
    lines.push(Line::from(vec![
        Span::styled("backlog  ", p.bold()),
        p.flag(
            format!("iterator age {:.1} s", m.iterator_age_ms as f64 / 1000.0),
            m.iterator_age_ms > 60_000,
        ),
        Span::raw(format!("  read, not yet done {behind} records")),
    ]));
    let now_ms = c.now.timestamp_millis();
    let latency = match h.logs.latency(now_ms, 60) {
        Some((p50, p99, n)) => format!("p50 {p50} ms  p99 {p99} ms  ({n} batches, last 60 s)"),
        None => "no batch in the last 60 s".to_owned(),
    };
    lines.push(Line::from(vec![
        Span::styled("latency  ", p.bold()),
        Span::raw(latency),
    ]));
    let waiting = latest.report.failed_batches_waiting;
    // One moment of the mapping: the records done, by what became of them (the function's
    // counts are of user records; a KPL aggregate holds several).
    lines.extend(flow(
        Span::styled("done     ", p.bold()),
        vec![
            Span::raw(format!("{}:  ", m.records_done)),
            Span::raw(format!("counted {}  ", f.counted)),
            Span::raw(format!("duplicates {}  ", f.duplicates)),
            p.flag(format!("quarantined {}  ", f.rejected), f.rejected > 0),
            p.flag(
                format!(
                    "given up {} ({} batches)  ",
                    m.records_given_up, m.batches_failed
                ),
                m.batches_failed > 0,
            ),
            p.flag(
                format!(
                    "waiting for redrive {} batches",
                    waiting.map_or_else(|| "?".to_owned(), |n| n.to_string())
                ),
                waiting != Some(0),
            ),
        ]
        .into_iter()
        .chain(kpl_note(m, f))
        .collect(),
        width,
    ));
    let trouble = m.function_errors > 0 || h.logs.last_problem.is_some();
    let errors = vec![
        Span::styled("errors   ", p.bold()),
        p.flag(
            format!(
                "function {}  partial {}  problems logged {}",
                m.function_errors, m.partial_failures, h.logs.problems
            ),
            trouble,
        ),
    ];
    lines.push(Line::from(errors));
    if let Some((time, what)) = &h.logs.last_problem {
        lines.extend(problem(
            "last     ",
            time,
            what,
            width,
            p.style(Color::Red),
            p,
        ));
    }
    let alarms = latest
        .report
        .alarms
        .iter()
        .map(|(name, a)| alarm_span(name, &a.state, a.not_evaluated_locally.is_some(), p))
        .collect();
    lines.extend(flow(Span::styled("alarms   ", p.bold()), alarms, width));
    lines
}

/// An alarm as the alarms line shows it: its short name and state in the state's colour;
/// INSUFFICIENT_DATA reads "no data"; an alarm nothing here can move (`not_here`) says so
/// in grey, whatever its state.
pub(super) fn alarm_span<'a>(name: &str, state: &str, not_here: bool, p: &Paint) -> Span<'a> {
    let (shown, colour) = match (not_here, state) {
        (true, _) => ("not evaluated here", Color::DarkGray),
        (false, "INSUFFICIENT_DATA") => ("no data", alarm_colour(state)),
        (false, s) => (s, alarm_colour(s)),
    };
    p.span(format!("{} {shown}  ", short(name)), colour)
}

/// A logged problem under `label`: its time of day (from an RFC 3339 stamp) and what, on up
/// to two lines.
pub(super) fn problem<'a>(
    label: &'a str,
    time: &str,
    what: &str,
    width: u16,
    style: Style,
    p: &Paint,
) -> Vec<Line<'a>> {
    let at = time.get(11..19).unwrap_or(time);
    wrapped(label, &format!("{at} {what}"), width, style, p)
}

/// `label` then `text` cut into up to two lines of `width` (the cause is at the end of
/// an error chain, so the second line matters).
pub(super) fn wrapped<'a>(
    label: &'a str,
    text: &str,
    width: u16,
    style: Style,
    p: &Paint,
) -> Vec<Line<'a>> {
    let chars: Vec<char> = text.chars().collect();
    let room = usize::from(width).saturating_sub(label.len()).max(1);
    chars
        .chunks(room)
        .take(2)
        .enumerate()
        .map(|(i, part)| {
            let head = if i == 0 {
                Span::styled(label, p.bold())
            } else {
                Span::raw(" ".repeat(label.len()))
            };
            Line::from(vec![
                head,
                Span::styled(part.iter().collect::<String>(), style),
            ])
        })
        .collect()
}

/// The entity list's title in `room` columns: the longest form that fits, shorter forms
/// keeping the numbers rather than cutting a sentence.
fn list_title(entities: usize, aggregates: usize, dated: &str, room: usize) -> String {
    [
        format!(
            "latest window of {entities} entities ({aggregates} aggregates in the table{dated})"
        ),
        format!("{entities} entities, {aggregates} aggregates{dated}"),
        format!("{entities} entities{dated}"),
    ]
    .into_iter()
    .find(|t| t.chars().count() <= room)
    .unwrap_or_else(|| format!("{entities} entities"))
}

/// Said when the split adds up to more than done: KPL aggregates held several user records
/// each, and the function counts user records where the mapping counts Kinesis records.
fn kpl_note<'a>(m: &Counters, f: &FunctionTotals) -> Option<Span<'a>> {
    let outcomes = f.counted + f.duplicates + f.rejected + m.records_given_up;
    (outcomes > m.records_done).then(|| {
        Span::raw(format!(
            "  (done is of Kinesis records, the split of {outcomes} user records: KPL)"
        ))
    })
}

/// `label` then `spans`, on as many lines as `width` needs (a span is never split; the
/// next lines are indented under the label).
pub(super) fn flow<'a>(label: Span<'a>, spans: Vec<Span<'a>>, width: u16) -> Vec<Line<'a>> {
    let indent = label.content.chars().count();
    let mut lines = Vec::new();
    let mut line = vec![label];
    let mut used = indent;
    for span in spans {
        let len = span.content.chars().count();
        if used + len > usize::from(width) && line.len() > 1 {
            let full = std::mem::replace(&mut line, vec![Span::raw(" ".repeat(indent))]);
            lines.push(Line::from(full));
            used = indent;
        }
        used += len;
        line.push(span);
    }
    lines.push(Line::from(line));
    lines
}

/// One entity row, cut to `width`.
fn entity_row<'a>(a: &AggregateView, width: u16) -> Line<'a> {
    let mut text = format!("{:<16} {} {:>6}", a.entity, a.window, a.count);
    for (m, s) in &a.metrics {
        text.push_str(&format!(
            "  {m} {:.2}",
            s["avg"].as_f64().unwrap_or_default()
        ));
    }
    for (e, n) in &a.events {
        text.push_str(&format!("  {e}={n}"));
    }
    Line::raw(text.chars().take(usize::from(width)).collect::<String>())
}

/// Draws the whole screen into `frame`.
pub fn draw(frame: &mut Frame<'_>, h: &History, c: &Context<'_>) {
    let p = Paint { colour: c.colour };
    let area = frame.area();
    let lines = summary(h, c, &p, area.width);
    let top = u16::try_from(lines.len()).unwrap_or(u16::MAX);
    let chart = if area.height >= top + 8 { 3 } else { 0 };
    let [head, charts, list, keys] = Layout::vertical([
        Constraint::Length(top),
        Constraint::Length(chart),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(lines), head);
    if chart > 0 {
        draw_charts(frame, h, c, charts);
    }
    draw_entities(frame, h, list);
    keys_line(frame, keys, c, &p);
}

/// The keys line at the bottom.
pub(super) fn keys_line(frame: &mut Frame<'_>, area: Rect, c: &Context<'_>, p: &Paint) {
    frame.render_widget(
        Paragraph::new(Line::from(p.span(c.keys.to_owned(), Color::DarkGray))),
        area,
    );
}

fn draw_charts(frame: &mut Frame<'_>, h: &History, c: &Context<'_>, area: Rect) {
    let p = Paint { colour: c.colour };
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(area);
    let now_ms = c.now.timestamp_millis();
    let history = super::model::HISTORY_SECS;
    let read = h.read_per_span(now_ms, usize::from(left.width));
    let title = |max| format!("records in/s, last {history} s (max {max})");
    chart(frame, left, &read, title, p.style(Color::Cyan));
    let p99 = h.logs.p99_per_span(now_ms, usize::from(right.width));
    let title = |max| format!("batch p99 ms, last {history} s (max {max})");
    chart(frame, right, &p99, title, p.style(Color::Magenta));
}

/// A titled sparkline of the newest values that fit `area`'s width.
pub(super) fn chart(
    frame: &mut Frame<'_>,
    area: Rect,
    values: &[u64],
    title: impl Fn(u64) -> String,
    style: Style,
) {
    let shown = &values[values.len().saturating_sub(usize::from(area.width))..];
    let max = shown.iter().max().copied().unwrap_or(0);
    frame.render_widget(Paragraph::new(title(max)), Rect { height: 1, ..area });
    frame.render_widget(
        Sparkline::default().data(shown).style(style),
        Rect {
            y: area.y + 1,
            height: area.height.saturating_sub(1),
            ..area
        },
    );
}

fn draw_entities(frame: &mut Frame<'_>, h: &History, area: Rect) {
    if area.height == 0 {
        return;
    }
    // The latest look that read the table (a failing read keeps the last list, dated).
    let Some((latest, aggregates)) = h
        .snapshots
        .iter()
        .rev()
        .find_map(|s| Some((s, s.report.aggregates_in_table?)))
    else {
        if h.latest().is_some() {
            frame.render_widget(
                Paragraph::new("the metrics table has not been read yet"),
                area,
            );
        }
        return;
    };
    let table_unread = h
        .latest()
        .is_some_and(|l| l.report.aggregates_in_table.is_none());
    let dated = match DateTime::from_timestamp_millis(latest.at_ms) {
        Some(t) if table_unread => format!(", as of {}", t.format("%H:%M:%S")),
        _ => String::new(),
    };
    let mut entities: Vec<&AggregateView> = latest.report.latest.iter().collect();
    // Busiest first: the latest window's count, then the name.
    entities.sort_by(|a, b| b.count.cmp(&a.count).then(a.entity.cmp(&b.entity)));
    let columns = format!("{:<16} {:<20} {:>6}  ", "entity", "window", "count");
    let room = usize::from(area.width).saturating_sub(columns.len());
    let title = list_title(entities.len(), aggregates, &dated, room);
    let mut lines = vec![Line::styled(
        (columns + &title)
            .chars()
            .take(usize::from(area.width))
            .collect::<String>(),
        Style::default().add_modifier(Modifier::BOLD),
    )];
    let room = usize::from(area.height) - 1;
    let cut = entities.len() > room;
    let rows = if cut { room.saturating_sub(1) } else { room };
    lines.extend(
        entities
            .iter()
            .take(rows)
            .map(|a| entity_row(a, area.width)),
    );
    if cut {
        lines.push(Line::raw(format!("+{} more", entities.len() - rows)));
    }
    frame.render_widget(Paragraph::new(lines), area);
}
