//! `mqtt sub`.

use std::io::Write;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use transport_std::{Error, Message, Subscription, TopicFilter};

use crate::args::SubArgs;
use crate::connect::{build, failure, parse_url, qos, Failure};

pub fn run(args: &SubArgs) -> Result<(), Failure> {
    let url = args.url.as_deref().map(parse_url).transpose()?;
    let mut filters = args.topic.clone();
    if let Some(path) = url.as_ref().and_then(|u| u.path.clone()) {
        filters.push(path);
    }
    if filters.is_empty() {
        return Err(Failure::usage(
            "a topic filter is needed: -t FILTER or a URL ending in /FILTER",
        ));
    }
    let (client, target) = build(&args.conn, url.as_ref())?;
    let (tx, rx) = mpsc::channel::<Message>();
    client.on_message(move |m| {
        let _ = tx.send(m.clone());
    });
    let subscriptions = filters
        .iter()
        .map(|f| {
            Ok(Subscription::new(
                TopicFilter::new(f.as_str())?,
                qos(args.qos),
            ))
        })
        .collect::<Result<Vec<_>, Error>>()
        .map_err(|e| failure(&e, &target))?;
    let token = client
        .subscribe_many(subscriptions)
        .map_err(|e| failure(&e, &target))?;
    client.connect().map_err(|e| failure(&e, &target))?;
    let results = token
        .wait(Duration::from_secs(30))
        .map_err(|e| failure(&e, &target))?;
    if let Some((filter, Err(code))) = filters.iter().zip(&results).find(|(_, r)| r.is_err()) {
        return Err(Failure {
            code: 3,
            message: format!("subscription to {filter} refused: {code:?}"),
        });
    }
    let deadline = args
        .timeout
        .map(|s| Instant::now() + Duration::from_secs(s));
    let mut received = 0u64;
    let stdout = std::io::stdout();
    loop {
        if args.count.is_some_and(|c| received >= c) {
            break;
        }
        let wait = deadline.map_or(Duration::from_millis(500), |d| {
            d.saturating_duration_since(Instant::now())
                .min(Duration::from_millis(500))
        });
        match rx.recv_timeout(wait) {
            Ok(m) => {
                if args.no_retained && m.retain() {
                    continue;
                }
                received += 1;
                let mut out = stdout.lock();
                let line = render(&m, args);
                if out.write_all(&line).and_then(|()| out.flush()).is_err() {
                    break; // stdout closed (e.g. piped into `head`)
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    let _ = client.disconnect(Duration::from_secs(2));
                    return Err(Failure::timeout(format!(
                        "timed out after {} s with {received} message(s)",
                        args.timeout.unwrap_or(0)
                    )));
                }
                if !client.is_connected() && args.conn.no_reconnect {
                    return Err(Failure::other(format!("connection to {target} lost")));
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let _ = client.disconnect(Duration::from_secs(5));
    Ok(())
}

/// One message as printed on stdout.
pub fn render(m: &Message, args: &SubArgs) -> Vec<u8> {
    if args.json {
        let mut obj = serde_json::Map::new();
        obj.insert("topic".into(), m.topic().into());
        obj.insert("qos".into(), (m.qos() as u8).into());
        obj.insert("retain".into(), m.retain().into());
        match m.payload_str() {
            Some(text) => obj.insert("payload".into(), text.into()),
            None => obj.insert("payload_base64".into(), base64(m.payload()).into()),
        };
        let mut line = serde_json::Value::Object(obj).to_string().into_bytes();
        line.push(b'\n');
        return line;
    }
    let mut line = Vec::with_capacity(m.topic().len() + m.payload().len() + 2);
    if args.verbose {
        line.extend_from_slice(m.topic().as_bytes());
        line.push(b' ');
    }
    line.extend_from_slice(m.payload());
    if !args.no_newline {
        line.push(b'\n');
    }
    line
}

/// Standard base64 with padding (RFC 4648).
pub fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::base64;

    #[test]
    fn rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (input, expected) in cases {
            assert_eq!(base64(input.as_bytes()), expected);
        }
    }
}
