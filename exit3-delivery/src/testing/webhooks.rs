//! [`WebhookReceiver`]: a small HTTP/1.1 server on `127.0.0.1` that answers webhook calls
//! from a script and keeps what it received, for tests that send real webhooks over TCP.

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

/// What the receiver answers, in turn (the last one again once the script ends).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// This status code, empty body.
    Status(u16),
    /// `302 Found` to another address.
    Redirect,
    /// Nothing, for 30 seconds (past any timeout).
    Hang,
}

/// One received call: its headers (lower-case names) and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// Every header, names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
}

impl Received {
    /// The first header called `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether one of the `webhook-signature` entries is the Standard Webhooks signature
    /// of this call with `secret` (`whsec_…`), checked as a receiver checks it.
    pub fn signed_with(&self, secret: &str) -> bool {
        let Some(key) = secret
            .strip_prefix("whsec_")
            .and_then(|k| STANDARD.decode(k).ok())
        else {
            return false;
        };
        let (Some(id), Some(ts), Some(sigs)) = (
            self.header("webhook-id"),
            self.header("webhook-timestamp"),
            self.header("webhook-signature"),
        ) else {
            return false;
        };
        let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(&key) else {
            return false;
        };
        mac.update(format!("{id}.{ts}.{}", self.body).as_bytes());
        let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
        sigs.split(' ').any(|s| s == expected)
    }
}

/// The receiver; it runs until the process ends.
#[derive(Debug, Clone)]
pub struct WebhookReceiver {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl WebhookReceiver {
    /// Starts a receiver on a free port of 127.0.0.1 that answers `script` in turn.
    pub async fn start(script: Vec<Answer>) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/hook", listener.local_addr()?);
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&received);
        tokio::spawn(async move {
            let mut turn = 0;
            while let Ok((socket, _)) = listener.accept().await {
                let answer = script
                    .get(turn)
                    .or(script.last())
                    .cloned()
                    .unwrap_or(Answer::Status(200));
                turn += 1;
                tokio::spawn(serve(socket, answer, Arc::clone(&log)));
            }
        });
        Ok(Self { url, received })
    }

    /// Its URL (`http://127.0.0.1:PORT/hook`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// What it received so far.
    pub fn received(&self) -> Vec<Received> {
        self.received
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits until it received `count` calls (or `timeout` passed), and answers them.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let got = self.received();
            if got.len() >= count || tokio::time::Instant::now() >= deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Reads one request, records it, answers and closes.
async fn serve(mut socket: TcpStream, answer: Answer, log: Arc<Mutex<Vec<Received>>>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let (head_end, length) = loop {
        let n = socket.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            break (end + 4, length);
        }
    };
    while buf.len() < head_end + length {
        let n = socket.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let headers = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_lowercase(), v.trim().to_owned()))
        .collect();
    let body = String::from_utf8_lossy(&buf[head_end..]).into_owned();
    log.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Received { headers, body });
    let reply = match answer {
        Answer::Status(code) => {
            format!("HTTP/1.1 {code} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        }
        Answer::Redirect => "HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:1/x\r\n\
             content-length: 0\r\nconnection: close\r\n\r\n"
            .to_owned(),
        Answer::Hang => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            return;
        }
    };
    let _ = socket.write_all(reply.as_bytes()).await;
    let _ = socket.shutdown().await;
}
