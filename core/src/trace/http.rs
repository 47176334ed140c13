//! The opt-in debug endpoint: Go's /debug/pprof/ paths on an address the user gives (meant
//! for loopback), so `go tool pprof http://127.0.0.1:PORT/debug/pprof/block` works as it does
//! against a Go server. One plain thread serves requests one at a time (tiny_http).

use std::sync::OnceLock;
use std::time::Duration;

use crate::Error;

static SERVER: OnceLock<String> = OnceLock::new();

/// Starts serving on `addr` ("127.0.0.1:6060"; port 0 picks one). Returns the address bound.
/// Err(Invalid) for an address that does not parse or cannot be bound; a second call returns
/// the first server's address.
pub fn serve(addr: &str) -> Result<String, Error> {
    if let Some(a) = SERVER.get() {
        return Ok(a.clone());
    }
    let server = tiny_http::Server::http(addr).map_err(|_| Error::Invalid)?;
    let bound = server
        .server_addr()
        .to_ip()
        .map(|a| a.to_string())
        .ok_or(Error::Invalid)?;
    if SERVER.set(bound.clone()).is_err() {
        return Ok(SERVER.get().cloned().unwrap_or(bound));
    }
    std::thread::Builder::new()
        .name("goro-debug-http".into())
        .spawn(move || {
            for req in server.incoming_requests() {
                let _ = respond(req);
            }
        })
        .map_err(|_| Error::NoMemory)?;
    Ok(bound)
}

fn respond(req: tiny_http::Request) -> std::io::Result<()> {
    let url = req.url().to_string();
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    let param = |k: &str| {
        query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(key, _)| *key == k)
            .map(|(_, v)| v.to_string())
    };
    let debug = param("debug")
        .and_then(|v| v.parse::<i32>().ok())
        .unwrap_or(0);
    let text = |s: String| (s.into_bytes(), "text/plain; charset=utf-8");
    let (status, (body, ctype)) = match path.trim_end_matches('/') {
        "/debug/pprof" => (200, text(index())),
        "/debug/pprof/goroutine" if debug >= 2 => (200, text(super::dump::dump_text())),
        "/debug/pprof/goroutine" if debug == 1 => (200, text(super::dump::by_stack_text())),
        "/debug/pprof/goroutineleak" if debug >= 1 => {
            (200, text(super::dump::leaks_text(&super::leak::find(0))))
        }
        "/debug/pprof/goroutine"
        | "/debug/pprof/goroutineleak"
        | "/debug/pprof/block"
        | "/debug/pprof/mutex" => {
            let kind = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
            match super::profile(kind) {
                Ok(p) => (200, (p, "application/octet-stream")),
                Err(e) => (500, text(format!("{e}\n"))),
            }
        }
        "/debug/pprof/profile" => {
            let secs = param("seconds")
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(30);
            match super::cpu::profile_for(Duration::from_secs(secs.clamp(1, 600)), 100) {
                Ok(p) => (200, (p, "application/octet-stream")),
                Err(e) => (409, text(format!("cpu profile: {e}\n"))),
            }
        }
        "/debug/goro/leaks" => (200, text(super::dump::leaks_text(&super::leak::find(0)))),
        _ => (404, text("not found: see /debug/pprof/\n".into())),
    };
    let header = tiny_http::Header::from_bytes("Content-Type", ctype).expect("a valid header");
    req.respond(
        tiny_http::Response::from_data(body)
            .with_status_code(status)
            .with_header(header),
    )
}

fn index() -> String {
    "goro debug endpoint\n\n\
     /debug/pprof/goroutine            goroutine profile (pprof)\n\
     /debug/pprof/goroutine?debug=1    goroutines by stack (text)\n\
     /debug/pprof/goroutine?debug=2    every goroutine (text dump)\n\
     /debug/pprof/goroutineleak        leaked goroutines (pprof; ?debug=1: text)\n\
     /debug/pprof/block                block profile (pprof; set the rate first)\n\
     /debug/pprof/mutex                mutex profile (pprof; set the fraction first)\n\
     /debug/pprof/profile?seconds=N    CPU profile for N seconds (pprof)\n\
     /debug/goro/leaks                 leak report (text)\n"
        .into()
}
