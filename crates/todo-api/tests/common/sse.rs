//! Reading server-sent events as a client does: blocks separated by a
//! blank line, `event:`, `id:` and `data:` fields, comment lines ignored.

use serde_json::Value;

/// One event of a stream.
#[derive(Debug, Clone, PartialEq)]
pub struct SseEvent {
    pub event: String,
    pub id: String,
    pub data: Value,
}

/// Collects the bytes of a stream and hands out its whole events.
#[derive(Debug, Default)]
pub struct SseParser {
    buffer: String,
    /// Comment lines seen (heartbeats).
    pub comments: usize,
}

impl SseParser {
    /// The events completed by `bytes`.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        self.buffer.push_str(&String::from_utf8_lossy(bytes));
        let mut events = Vec::new();
        while let Some(end) = self.buffer.find("\n\n") {
            let block: String = self.buffer.drain(..end + 2).collect();
            let mut event = SseEvent {
                event: "message".into(),
                id: String::new(),
                data: Value::Null,
            };
            let mut data = None;
            for line in block.lines() {
                if line.starts_with(':') {
                    self.comments += 1;
                } else if let Some(value) = line.strip_prefix("event:") {
                    event.event = value.trim_start().to_owned();
                } else if let Some(value) = line.strip_prefix("id:") {
                    event.id = value.trim_start().to_owned();
                } else if let Some(value) = line.strip_prefix("data:") {
                    data = Some(value.trim_start().to_owned());
                }
            }
            if let Some(data) = data {
                event.data = serde_json::from_str(&data).expect("event data is JSON");
                events.push(event);
            }
        }
        events
    }
}
