//! I/O calls that park on EAGAIN: read, write, accept, connect, and TCP / Unix listen and dial.
//!
//! Each tries the system call first and waits only when it would block (one wait of the wait
//! protocol, wait/mod.rs, on the fd's source), as Go's internal/poll.FD does (fd.Read: read, on EAGAIN pd.waitRead, again). The fd is
//! registered and put in O_NONBLOCK mode on its first use here (one fcntl per registration,
//! remembered in the fd's record), so the common path is one lock-free-looking lock and the
//! system call itself. Errors come back as values (`IoError::Os(errno)`), read right after
//! the call that set them, never across a park (errno is thread-local and a goroutine may move).
//!
//! Name resolution (getaddrinfo) blocks its thread: it runs inside `blocking_begin` /
//! `blocking_end`, so the worker's other goroutines move to another thread meanwhile (Go runs
//! cgo lookups the same way; its pure-Go resolver is out of scope here).
//!
//! Rejected: recv/send with MSG_DONTWAIT instead of O_NONBLOCK (sockets only; pipes and ttys
//! need the flag anyway); a resolver of our own (getaddrinfo honours nsswitch and /etc/hosts).

//! This module is the layer above both the poller (netpoll/, below the scheduler, which idle
//! workers block in) and the wait protocol: every I/O wait is a `wait::wait` on an fd source,
//! so an fd can also be one case of a select beside channels and a context.

use std::ffi::CString;

use crate::clock::Deadline;
pub use crate::netpoll::{close, FdSource, IoError, READ, WRITE};
use crate::netpoll::{errno, prepare, Prepared, DIR_READ, DIR_WRITE};
use crate::reason::WaitReason;
use crate::wait::{self, Case, Source};
use crate::Error;

impl Source for FdSource {
    fn try_now(&self) -> Option<bool> {
        match FdSource::try_now(self) {
            Ok(true) => Some(true),
            Ok(false) => None,
            // Closed by goro_fd_close, or no longer open: the wait is over, not ok.
            Err(_) => Some(false),
        }
    }

    fn register(&self, w: &std::sync::Arc<crate::park::Waiter>, case: usize) -> bool {
        FdSource::register(self, w, case)
    }

    fn unregister(&self, w: &std::sync::Arc<crate::park::Waiter>) {
        FdSource::unregister(self, w)
    }

    fn reason(&self) -> WaitReason {
        WaitReason::IoWait
    }
}

/// A source for `fd` becoming ready for any of `events` (READ | WRITE), for a wait of several
/// cases (`wait::Case::Source`); ok is false when `close` ran on it. Starts the runtime (its
/// workers poll). Err(Invalid) for a bad fd or events.
pub fn source(fd: i32, events: u32) -> Result<FdSource, Error> {
    crate::sched::init();
    FdSource::new(fd, events)
}

/// Waits until `fd` is ready for any of `events` (READ | WRITE). Parks a goroutine, blocks a
/// plain thread. Err: WouldBlock (NoWait and not ready), TimedOut, Closed (`close` ran while it
/// waited), Invalid (bad fd or events).
pub fn wait(fd: i32, events: u32, deadline: Deadline) -> Result<(), Error> {
    let src = source(fd, events)?;
    // SAFETY: a source case carries no pointers.
    match unsafe { wait::wait(&[Case::Source(&src)], deadline, None) } {
        Ok((_, true)) => Ok(()),
        Ok((_, false)) => Err(Error::Closed),
        Err(e) => Err(e),
    }
}

/// After EAGAIN: the call itself was the "try" of the wait, so the source asks no poll(2);
/// its try is the latch alone (set by an event since the call: try the call again). It must
/// complete whenever `register` says "ready" (the wait::Source contract), or the wait would
/// go round for ever.
struct AfterEagain(FdSource);

impl Source for AfterEagain {
    fn try_now(&self) -> Option<bool> {
        match self.0.latched() {
            Ok(true) => Some(true),
            Ok(false) => None,
            Err(_) => Some(false),
        }
    }
    fn register(&self, w: &std::sync::Arc<crate::park::Waiter>, case: usize) -> bool {
        self.0.register(w, case)
    }
    fn unregister(&self, w: &std::sync::Arc<crate::park::Waiter>) {
        self.0.unregister(w)
    }
    fn reason(&self) -> WaitReason {
        WaitReason::IoWait
    }
}

/// The call said EAGAIN for `dir` (`tick` read before it): waits for the next event. Ok means
/// "try the call again" (an event came, or the fd was closed: the retry finds out which).
fn wait_eagain(p: &Prepared, dir: usize, tick: u32, deadline: Deadline) -> Result<(), IoError> {
    if deadline == Deadline::NoWait {
        return Err(Error::WouldBlock.into());
    }
    p.clear_latch(dir, tick)?;
    let src = AfterEagain(p.source(dir));
    // SAFETY: a source case carries no pointers.
    match unsafe { wait::wait(&[Case::Source(&src)], deadline, None) } {
        Ok((_, true)) => Ok(()),
        Ok((_, false)) => Err(Error::Closed.into()),
        Err(e) => Err(e.into()),
    }
}

/// Reads up to `buf.len()` bytes; Ok(0) at end of file. Waits (parks) while nothing is there.
pub fn read(fd: i32, buf: &mut [u8], deadline: Deadline) -> Result<usize, IoError> {
    let p = prepare(fd)?;
    loop {
        let tick = p.tick(DIR_READ)?;
        // SAFETY: reads at most buf.len() bytes into the buffer we borrow mutably.
        let rc = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if rc >= 0 {
            return Ok(rc as usize);
        }
        match errno() {
            libc::EINTR => continue,
            libc::EAGAIN => wait_eagain(&p, DIR_READ, tick, deadline)?,
            e => return Err(IoError::Os(e)),
        }
    }
}

/// Writes all of `buf`, waiting while the fd is full. Returns the bytes written and, if not
/// all were, why. Sockets are written with MSG_NOSIGNAL (a reset peer gives EPIPE, not SIGPIPE);
/// a pipe whose reader is gone raises SIGPIPE as write(2) does.
pub fn write(fd: i32, buf: &[u8], deadline: Deadline) -> (usize, Option<IoError>) {
    let p = match prepare(fd) {
        Ok(p) => p,
        Err(e) => return (0, Some(e)),
    };
    let mut done = 0;
    while done < buf.len() {
        let tick = match p.tick(DIR_WRITE) {
            Ok(t) => t,
            Err(e) => return (done, Some(e)),
        };
        let rest = &buf[done..];
        let rc = if p.socket {
            // SAFETY: sends from the slice we borrow; at most its length.
            unsafe { libc::send(fd, rest.as_ptr().cast(), rest.len(), libc::MSG_NOSIGNAL) }
        } else {
            // SAFETY: as above.
            unsafe { libc::write(fd, rest.as_ptr().cast(), rest.len()) }
        };
        if rc >= 0 {
            done += rc as usize;
            continue;
        }
        match errno() {
            libc::EINTR => {}
            libc::EAGAIN => {
                if let Err(e) = wait_eagain(&p, DIR_WRITE, tick, deadline) {
                    return (done, Some(e));
                }
            }
            e => return (done, Some(IoError::Os(e))),
        }
    }
    (done, None)
}

/// Accepts a connection; the new fd is non-blocking and close-on-exec (TCP: TCP_NODELAY, as
/// Go sets it).
pub fn accept(fd: i32, deadline: Deadline) -> Result<i32, IoError> {
    let p = prepare(fd)?;
    loop {
        let tick = p.tick(DIR_READ)?;
        // SAFETY: no address is asked for; a bad fd only gives an error.
        let c = unsafe {
            libc::accept4(
                fd,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            )
        };
        if c >= 0 {
            nodelay(c);
            return Ok(c);
        }
        match errno() {
            libc::EINTR | libc::ECONNABORTED => continue,
            libc::EAGAIN => wait_eagain(&p, DIR_READ, tick, deadline)?,
            e => return Err(IoError::Os(e)),
        }
    }
}

fn nodelay(fd: i32) {
    let one: libc::c_int = 1;
    // SAFETY: sets an int option from a local; not a TCP socket (Unix) only gives an error.
    unsafe {
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_NODELAY,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
}

/// Connects socket `fd` to the address (`addr` a sockaddr of `len` bytes), waiting until the
/// connection is made, refused (Os(ECONNREFUSED)) or the deadline passes.
///
/// # Safety
/// `addr` points at `len` readable bytes.
pub unsafe fn connect(
    fd: i32,
    addr: *const libc::sockaddr,
    len: libc::socklen_t,
    deadline: Deadline,
) -> Result<(), IoError> {
    prepare(fd)?;
    // SAFETY: the caller's contract.
    let rc = unsafe { libc::connect(fd, addr, len) };
    if rc == 0 {
        return Ok(());
    }
    match errno() {
        libc::EINPROGRESS | libc::EINTR | libc::EALREADY => {}
        e => return Err(IoError::Os(e)),
    }
    wait(fd, WRITE, deadline)?;
    let mut err: libc::c_int = 0;
    let mut elen = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: reads an int option into a local of the stated size.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ERROR,
            (&mut err as *mut libc::c_int).cast(),
            &mut elen,
        )
    };
    if rc != 0 {
        return Err(IoError::Os(errno()));
    }
    if err != 0 {
        return Err(IoError::Os(err));
    }
    Ok(())
}

/// Which kind of socket a network name asks for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Net {
    Tcp(libc::c_int),
    Unix,
}

fn network(name: &str) -> Result<Net, IoError> {
    Ok(match name {
        "tcp" => Net::Tcp(libc::AF_UNSPEC),
        "tcp4" => Net::Tcp(libc::AF_INET),
        "tcp6" => Net::Tcp(libc::AF_INET6),
        "unix" => Net::Unix,
        _ => return Err(Error::Invalid.into()),
    })
}

/// "host:port", "[v6]:port", ":port" (any address) into (host, port).
fn split_host_port(a: &str) -> Result<(Option<String>, String), IoError> {
    let i = a.rfind(':').ok_or(IoError::Goro(Error::Invalid))?;
    let (h, p) = (&a[..i], &a[i + 1..]);
    if p.is_empty() {
        return Err(Error::Invalid.into());
    }
    let h = h
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(h);
    Ok(((!h.is_empty()).then(|| h.to_string()), p.to_string()))
}

/// getaddrinfo, inside blocking_begin / blocking_end (it may block on DNS).
fn resolve(
    host: Option<&str>,
    port: &str,
    family: libc::c_int,
    passive: bool,
) -> Result<Vec<(libc::sockaddr_storage, libc::socklen_t, libc::c_int)>, IoError> {
    let host = match host {
        Some(h) => Some(CString::new(h).map_err(|_| IoError::Goro(Error::Invalid))?),
        None => None,
    };
    let port = CString::new(port).map_err(|_| IoError::Goro(Error::Invalid))?;
    // SAFETY: an all-zero addrinfo is the documented way to start the hints.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_family = family;
    hints.ai_socktype = libc::SOCK_STREAM;
    hints.ai_flags = if passive { libc::AI_PASSIVE } else { 0 } | libc::AI_ADDRCONFIG;
    let mut res: *mut libc::addrinfo = std::ptr::null_mut();
    crate::sched::blocking_begin();
    // SAFETY: NUL-terminated strings and hints that live across the call; `res` receives a
    // list we free below.
    let rc = unsafe {
        libc::getaddrinfo(
            host.as_ref().map_or(std::ptr::null(), |h| h.as_ptr()),
            port.as_ptr(),
            &hints,
            &mut res,
        )
    };
    crate::sched::blocking_end();
    if rc != 0 {
        // EAI_* codes are not errnos: a name that does not resolve reads as "no such host"
        // the nearest errno can say (Go gives a DNSError); a system error keeps its errno.
        return Err(IoError::Os(if rc == libc::EAI_SYSTEM {
            errno()
        } else {
            libc::EHOSTUNREACH
        }));
    }
    let mut out = Vec::new();
    let mut p = res;
    while !p.is_null() {
        // SAFETY: `p` walks the list getaddrinfo gave us, not freed yet.
        let ai = unsafe { &*p };
        // SAFETY: an all-zero sockaddr_storage is a valid value.
        let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        let n = (ai.ai_addrlen as usize).min(std::mem::size_of::<libc::sockaddr_storage>());
        // SAFETY: copies ai_addrlen (capped) bytes from the entry's address into our storage.
        unsafe {
            std::ptr::copy_nonoverlapping(
                ai.ai_addr.cast::<u8>(),
                (&mut ss as *mut libc::sockaddr_storage).cast::<u8>(),
                n,
            )
        };
        out.push((ss, n as libc::socklen_t, ai.ai_family));
        p = ai.ai_next;
    }
    // SAFETY: the list from getaddrinfo, freed once.
    unsafe { libc::freeaddrinfo(res) };
    if out.is_empty() {
        return Err(IoError::Os(libc::EHOSTUNREACH));
    }
    Ok(out)
}

fn unix_addr(path: &str) -> Result<(libc::sockaddr_un, libc::socklen_t), IoError> {
    // SAFETY: an all-zero sockaddr_un is a valid value.
    let mut sa: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    sa.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let b = path.as_bytes();
    if b.is_empty() || b.len() >= sa.sun_path.len() || b.contains(&0) {
        return Err(Error::Invalid.into());
    }
    for (d, s) in sa.sun_path.iter_mut().zip(b) {
        *d = *s as libc::c_char;
    }
    let len = std::mem::size_of::<libc::sa_family_t>() + b.len() + 1;
    Ok((sa, len as libc::socklen_t))
}

fn socket(family: libc::c_int) -> Result<i32, IoError> {
    // SAFETY: plain syscall with constant flags.
    let fd = unsafe {
        libc::socket(
            family,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    };
    if fd < 0 {
        Err(IoError::Os(errno()))
    } else {
        Ok(fd)
    }
}

/// Connects to `address` on `net` ("tcp", "tcp4", "tcp6": "host:port"; "unix": a path), trying
/// each resolved address in turn until `deadline`. Returns a non-blocking, close-on-exec fd.
pub fn dial(net: &str, address: &str, deadline: Deadline) -> Result<i32, IoError> {
    match network(net)? {
        Net::Unix => {
            let (sa, len) = unix_addr(address)?;
            let fd = socket(libc::AF_UNIX)?;
            // SAFETY: `sa` is a sockaddr_un of `len` valid bytes.
            let r = unsafe { connect(fd, (&sa as *const libc::sockaddr_un).cast(), len, deadline) };
            match r {
                Ok(()) => Ok(fd),
                Err(e) => {
                    let _ = close(fd);
                    Err(e)
                }
            }
        }
        Net::Tcp(family) => {
            let (host, port) = split_host_port(address)?;
            let addrs = resolve(host.as_deref(), &port, family, false)?;
            let mut last = IoError::Os(libc::EHOSTUNREACH);
            for (ss, len, fam) in addrs {
                let fd = socket(fam)?;
                // SAFETY: `ss` holds `len` bytes of the address getaddrinfo gave.
                let r = unsafe {
                    connect(
                        fd,
                        (&ss as *const libc::sockaddr_storage).cast(),
                        len,
                        deadline,
                    )
                };
                match r {
                    Ok(()) => {
                        nodelay(fd);
                        return Ok(fd);
                    }
                    Err(e) => {
                        let _ = close(fd);
                        last = e;
                        if matches!(e, IoError::Goro(Error::TimedOut | Error::WouldBlock)) {
                            break;
                        }
                    }
                }
            }
            Err(last)
        }
    }
}

/// Listens on `address` ("tcp*": "host:port", ":port" or "host:0" for any port; "unix": a path
/// that must not exist yet). `backlog` <= 0 means SOMAXCONN. Returns a non-blocking fd.
pub fn listen(net: &str, address: &str, backlog: i32) -> Result<i32, IoError> {
    let backlog = if backlog <= 0 {
        libc::SOMAXCONN
    } else {
        backlog
    };
    let bind_listen = |fd: i32, sa: *const libc::sockaddr, len: libc::socklen_t| {
        // SAFETY: `sa` points at `len` bytes of an address the caller built.
        if unsafe { libc::bind(fd, sa, len) } != 0 || unsafe { libc::listen(fd, backlog) } != 0 {
            let e = errno();
            let _ = close(fd);
            return Err(IoError::Os(e));
        }
        Ok(fd)
    };
    match network(net)? {
        Net::Unix => {
            let (sa, len) = unix_addr(address)?;
            let fd = socket(libc::AF_UNIX)?;
            bind_listen(fd, (&sa as *const libc::sockaddr_un).cast(), len)
        }
        Net::Tcp(family) => {
            let (host, port) = split_host_port(address)?;
            let addrs = resolve(host.as_deref(), &port, family, true)?;
            let mut last = IoError::Os(libc::EADDRNOTAVAIL);
            for (ss, len, fam) in addrs {
                let fd = socket(fam)?;
                let one: libc::c_int = 1;
                // SAFETY: sets an int option from a local.
                unsafe {
                    libc::setsockopt(
                        fd,
                        libc::SOL_SOCKET,
                        libc::SO_REUSEADDR,
                        (&one as *const libc::c_int).cast(),
                        std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                    )
                };
                match bind_listen(fd, (&ss as *const libc::sockaddr_storage).cast(), len) {
                    Ok(fd) => return Ok(fd),
                    Err(e) => last = e,
                }
            }
            Err(last)
        }
    }
}

/// The local port of a TCP socket (after `listen` on port 0).
pub fn local_port(fd: i32) -> Result<u16, IoError> {
    // SAFETY: an all-zero sockaddr_storage is a valid value.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: getsockname writes at most `len` bytes into our storage.
    if unsafe {
        libc::getsockname(
            fd,
            (&mut ss as *mut libc::sockaddr_storage).cast(),
            &mut len,
        )
    } != 0
    {
        return Err(IoError::Os(errno()));
    }
    match ss.ss_family as libc::c_int {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in.
            let sin =
                unsafe { &*(&ss as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            Ok(u16::from_be(sin.sin_port))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says the storage holds a sockaddr_in6.
            let sin6 =
                unsafe { &*(&ss as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            Ok(u16::from_be(sin6.sin6_port))
        }
        _ => Err(Error::Invalid.into()),
    }
}
