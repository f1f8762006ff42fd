//! A tiny HTTP/1.1 server on 127.0.0.1 for the fetch tests: it records each request and lets
//! the test write the raw answer. It stops when dropped, or after `LIFETIME` at the latest.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

const LIFETIME: Duration = Duration::from_secs(30);
const IDLE: Duration = Duration::from_secs(5);

#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        let mut matching = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name));
        matching.next().map(|(_, value)| value.as_str())
    }
}

type Handler = dyn Fn(&Request, &mut TcpStream) -> io::Result<()> + Send + Sync;

pub struct TestServer {
    base: String,
    requests: Arc<Mutex<Vec<Request>>>,
    connections: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl TestServer {
    /// Serves every request with `handler`, keeping connections open between requests.
    pub fn start(
        handler: impl Fn(&Request, &mut TcpStream) -> io::Result<()> + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = TestServer {
            base,
            requests: Arc::default(),
            connections: Arc::default(),
            stop: Arc::default(),
        };
        let handler: Arc<Handler> = Arc::new(handler);
        let (requests, connections, stop) = (
            server.requests.clone(),
            server.connections.clone(),
            server.stop.clone(),
        );
        thread::spawn(move || {
            let started = Instant::now();
            while !stop.load(Ordering::Relaxed) && started.elapsed() < LIFETIME {
                match listener.accept() {
                    Ok((stream, _)) => {
                        connections.fetch_add(1, Ordering::Relaxed);
                        let (handler, requests) = (handler.clone(), requests.clone());
                        thread::spawn(move || serve(stream, &*handler, &requests));
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        thread::sleep(Duration::from_millis(5))
                    }
                    Err(_) => break,
                }
            }
        });
        server
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn serve(stream: TcpStream, handler: &Handler, requests: &Mutex<Vec<Request>>) {
    let setup = stream
        .set_nonblocking(false)
        .and_then(|()| stream.set_read_timeout(Some(IDLE)));
    let (Ok(()), Ok(reader)) = (setup, stream.try_clone()) else {
        return;
    };
    let mut reader = BufReader::new(reader);
    let mut stream = stream;
    while let Some(request) = read_request(&mut reader) {
        requests.lock().unwrap().push(request.clone());
        if handler(&request, &mut stream).is_err() {
            return;
        }
    }
}

fn read_request(reader: &mut impl BufRead) -> Option<Request> {
    let mut line = String::new();
    reader.read_line(&mut line).ok().filter(|&n| n > 0)?;
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).ok().filter(|&n| n > 0)?;
        let header = line.trim_end();
        if header.is_empty() {
            return Some(Request {
                method,
                target,
                headers,
            });
        }
        let (name, value) = header.split_once(':')?;
        headers.push((name.to_owned(), value.trim().to_owned()));
    }
}

/// Writes a complete response with a Content-Length, leaving the connection open.
pub fn respond(
    stream: &mut TcpStream,
    status: &str,
    headers: &[&str],
    body: &[u8],
) -> io::Result<()> {
    let mut head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\n", body.len());
    for header in headers {
        head.push_str(header);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()
}

/// Writes a 200 response in chunked transfer coding, one write and a pause per chunk.
pub fn respond_chunked(
    stream: &mut TcpStream,
    headers: &[&str],
    chunks: &[&[u8]],
) -> io::Result<()> {
    let mut head = String::from("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n");
    for header in headers {
        head.push_str(header);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    for chunk in chunks {
        stream.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())?;
        stream.write_all(chunk)?;
        stream.write_all(b"\r\n")?;
        stream.flush()?;
        thread::sleep(Duration::from_millis(20));
    }
    stream.write_all(b"0\r\n\r\n")?;
    stream.flush()
}
