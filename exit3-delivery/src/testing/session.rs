//! One SMTP session of the [`SmtpSink`](super::SmtpSink): the server side of RFC 5321,
//! as much as a client such as lettre needs.

use std::{io, sync::Arc};

use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
    sync::watch,
};

use super::{ReceivedMail, Reply, Shared, record};

/// The longest command or data line read at once (RFC 5321 allows 1000 with the CRLF).
const MAX_LINE: u64 = 64 * 1024;
/// The largest mail kept.
const MAX_DATA: usize = 10 * 1024 * 1024;

/// Serves `stream` until the client quits or goes; I/O errors end the session.
pub(super) async fn serve(stream: TcpStream, shared: Arc<Shared>, count: watch::Sender<usize>) {
    let _ = Session {
        shared,
        count,
        from: None,
        recipients: Vec::new(),
    }
    .run(stream)
    .await;
}

struct Session {
    shared: Arc<Shared>,
    count: watch::Sender<usize>,
    /// The transaction under way: `MAIL FROM` given.
    from: Option<String>,
    recipients: Vec<String>,
}

impl Session {
    async fn run(mut self, stream: TcpStream) -> io::Result<()> {
        stream.set_nodelay(true)?;
        let (read, mut write) = stream.into_split();
        let mut reader = BufReader::new(read);
        write.write_all(b"220 exit3-sink ESMTP ready\r\n").await?;
        let mut line = Vec::new();
        loop {
            if !read_line(&mut reader, &mut line).await? {
                return Ok(());
            }
            let command = String::from_utf8_lossy(trim_line_end(&line)).into_owned();
            let (verb, argument) = command
                .split_once(' ')
                .map_or((command.as_str(), ""), |(verb, rest)| (verb, rest.trim()));
            let reply = match verb.to_ascii_uppercase().as_str() {
                "EHLO" | "HELO" => {
                    self.reset();
                    format!("250 exit3-sink greets {argument}")
                }
                "MAIL" => self.mail(argument),
                "RCPT" => self.rcpt(argument),
                "DATA" => {
                    if self.recipients.is_empty() {
                        "503 5.5.1 RCPT first".to_owned()
                    } else {
                        write
                            .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                            .await?;
                        let data = read_data(&mut reader, &mut line).await?;
                        self.finish_data(data)
                    }
                }
                "RSET" => {
                    self.reset();
                    "250 2.0.0 OK".to_owned()
                }
                "NOOP" => "250 2.0.0 OK".to_owned(),
                "QUIT" => {
                    write.write_all(b"221 2.0.0 Bye\r\n").await?;
                    return Ok(());
                }
                "VRFY" => "252 2.5.0 Cannot VRFY, but will accept".to_owned(),
                "STARTTLS" | "AUTH" | "EXPN" | "HELP" | "BDAT" => {
                    "502 5.5.1 Not implemented".to_owned()
                }
                _ => "500 5.5.2 Command not recognized".to_owned(),
            };
            // One write per reply: with two, Nagle and the client's delayed ACK would add
            // tens of milliseconds to every command.
            write.write_all(format!("{reply}\r\n").as_bytes()).await?;
        }
    }

    fn reset(&mut self) {
        self.from = None;
        self.recipients.clear();
    }

    fn mail(&mut self, argument: &str) -> String {
        if self.from.is_some() {
            return "503 5.5.1 MAIL already given".to_owned();
        }
        match path(argument, "FROM:") {
            Some(from) => {
                self.from = Some(from);
                "250 2.1.0 OK".to_owned()
            }
            None => "501 5.5.4 Syntax: MAIL FROM:<address>".to_owned(),
        }
    }

    fn rcpt(&mut self, argument: &str) -> String {
        if self.from.is_none() {
            return "503 5.5.1 MAIL first".to_owned();
        }
        let Some(recipient) = path(argument, "TO:").filter(|to| !to.is_empty()) else {
            return "501 5.5.4 Syntax: RCPT TO:<address>".to_owned();
        };
        match self.shared.rcpt_reply() {
            Some(reply) => {
                if (200..300).contains(&reply.code) {
                    self.recipients.push(recipient);
                }
                line_of(&reply)
            }
            None => {
                self.recipients.push(recipient);
                "250 2.1.5 OK".to_owned()
            }
        }
    }

    fn finish_data(&mut self, data: Option<String>) -> String {
        let from = self.from.take().unwrap_or_default();
        let recipients = std::mem::take(&mut self.recipients);
        let Some(data) = data else {
            return "552 5.3.4 Message too big".to_owned();
        };
        let reply = self.shared.data_reply();
        if let Some(reply) = &reply
            && !(200..300).contains(&reply.code)
        {
            return line_of(reply);
        }
        record(
            &self.shared,
            &self.count,
            ReceivedMail {
                from,
                recipients,
                data,
            },
        );
        reply.map_or_else(
            || "250 2.0.0 OK: queued".to_owned(),
            |reply| line_of(&reply),
        )
    }
}

fn line_of(reply: &Reply) -> String {
    format!("{} {}", reply.code, reply.text)
}

/// Reads one line into `line` (with its line end); `false` at the end of the stream.
async fn read_line<R>(reader: &mut R, line: &mut Vec<u8>) -> io::Result<bool>
where
    R: tokio::io::AsyncBufRead + Unpin,
{
    line.clear();
    let read = (&mut *reader)
        .take(MAX_LINE)
        .read_until(b'\n', line)
        .await?;
    Ok(read > 0)
}

/// Reads a mail's data up to the `.` line, dot-unstuffed, CRLF line ends; `None` when
/// it is larger than [`MAX_DATA`] (still read to its end).
async fn read_data<R>(reader: &mut R, line: &mut Vec<u8>) -> io::Result<Option<String>>
where
    R: tokio::io::AsyncBufRead + Unpin,
{
    let mut data = Vec::new();
    let mut too_big = false;
    loop {
        if !read_line(reader, line).await? {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let content = trim_line_end(line);
        if content == b"." {
            break;
        }
        let content = content.strip_prefix(b".").unwrap_or(content);
        if data.len() + content.len() + 2 > MAX_DATA {
            too_big = true;
        } else {
            data.extend_from_slice(content);
            data.extend_from_slice(b"\r\n");
        }
    }
    Ok((!too_big).then(|| String::from_utf8_lossy(&data).into_owned()))
}

fn trim_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The address of `FROM:<a@b> PARAMS` (after `prefix`, case-insensitive), without the
/// angle brackets; `<>` is the empty address.
fn path(argument: &str, prefix: &str) -> Option<String> {
    let head = argument.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = argument.get(prefix.len()..)?.trim_start();
    let inner = rest.strip_prefix('<')?;
    let end = inner.find('>')?;
    Some(inner[..end].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse_with_parameters_and_any_case() {
        assert_eq!(
            path("FROM:<a@b.example> BODY=8BITMIME", "FROM:").as_deref(),
            Some("a@b.example")
        );
        assert_eq!(path("to: <c@d>", "TO:").as_deref(), Some("c@d"));
        assert_eq!(path("FROM:<>", "FROM:").as_deref(), Some(""));
        assert_eq!(path("FROM:a@b", "FROM:"), None);
        assert_eq!(path("TO:<a@b>", "FROM:"), None);
    }

    #[tokio::test]
    async fn data_is_dot_unstuffed_up_to_the_dot_line() {
        let input: &[u8] = b"Subject: x\r\n\r\n..leading dot\r\n.\r\nafter\r\n";
        let mut reader = BufReader::new(input);
        let mut line = Vec::new();
        let data = read_data(&mut reader, &mut line).await.unwrap().unwrap();
        assert_eq!(data, "Subject: x\r\n\r\n.leading dot\r\n");
        assert!(read_line(&mut reader, &mut line).await.unwrap());
        assert_eq!(line, b"after\r\n");
    }
}
