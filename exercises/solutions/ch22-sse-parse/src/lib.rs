//! Solution of the chapter 22 exercise: read a server-sent event stream.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub name: Option<String>,
    pub data: String,
}

#[derive(Debug, Default)]
pub struct SseReader {
    buffer: String,
    name: Option<String>,
    data: Option<String>,
}

impl SseReader {
    pub fn new() -> Self {
        SseReader::default()
    }

    pub fn push(&mut self, piece: &str) -> Vec<Event> {
        self.buffer.push_str(piece);
        let mut events = Vec::new();
        while let Some(end) = self.buffer.find('\n') {
            let mut line: String = self.buffer.drain(..=end).collect();
            line.pop();
            if line.ends_with('\r') {
                line.pop();
            }
            if line.is_empty() {
                let name = self.name.take();
                if let Some(data) = self.data.take() {
                    events.push(Event { name, data });
                }
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = match line.split_once(':') {
                Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
                None => (line.as_str(), ""),
            };
            match field {
                "data" => match &mut self.data {
                    Some(data) => {
                        data.push('\n');
                        data.push_str(value);
                    }
                    None => self.data = Some(value.to_string()),
                },
                "event" => self.name = Some(value.to_string()),
                _ => {}
            }
        }
        events
    }
}
