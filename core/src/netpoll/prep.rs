//! What the I/O calls (core/src/io) need of an fd's record before a system call: the fd
//! registered and in O_NONBLOCK mode (`prepare`, once per registration), the event count of a
//! direction read before the call (`tick`), and, after EAGAIN, the latch cleared unless an
//! event came meanwhile (`clear_latch`) and a source to wait on (`source`). Nothing here
//! waits: waiting is the wait protocol's, in the I/O layer above.

use super::desc::{self, Reg};
use super::{errno, FdSource, READ, WRITE};
use crate::Error;

/// What an I/O call can fail with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoError {
    /// A goro status: WouldBlock (no wait asked), TimedOut, Closed (`close` ran), Invalid.
    Goro(Error),
    /// The system call failed with this errno.
    Os(i32),
}

impl From<Error> for IoError {
    fn from(e: Error) -> IoError {
        IoError::Goro(e)
    }
}

/// An fd made ready for the I/O calls: registered, O_NONBLOCK, and which registration.
pub(crate) struct Prepared {
    pub(crate) fd: i32,
    desc: &'static desc::PollDesc,
    seq: u32,
    pub(crate) socket: bool,
}

/// Registers `fd` and sets O_NONBLOCK once per registration (the common path: one lock).
pub(crate) fn prepare(fd: i32) -> Result<Prepared, IoError> {
    if fd < 0 {
        return Err(Error::Invalid.into());
    }
    let d = desc::get(fd)?;
    {
        let st = d.lock();
        if st.reg != Reg::None && st.nonblock {
            return Ok(Prepared {
                fd,
                desc: d,
                seq: st.seq,
                socket: st.socket,
            });
        }
    }
    let src = FdSource::new(fd, READ)?;
    // SAFETY: fcntl on an fd the caller handed us; a bad fd only gives an error.
    let fl = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if fl < 0 {
        return Err(IoError::Os(errno()));
    }
    if fl & libc::O_NONBLOCK == 0 {
        // SAFETY: as above.
        if unsafe { libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK) } < 0 {
            return Err(IoError::Os(errno()));
        }
    }
    let mut st = d.lock();
    if st.seq == src.seq {
        st.nonblock = true;
    }
    Ok(Prepared {
        fd,
        desc: d,
        seq: src.seq,
        socket: st.socket,
    })
}

impl Prepared {
    /// The event count of `dir`, read before a system call. Err(Closed) once `close` ran on
    /// the fd since `prepare`.
    pub(crate) fn tick(&self, dir: usize) -> Result<u32, IoError> {
        let st = self.desc.lock();
        if st.seq != self.seq {
            return Err(Error::Closed.into());
        }
        Ok(st.dir[dir].tick)
    }

    /// The system call just said EAGAIN for `dir`, and `tick` is that direction's event count
    /// read before the call: no poll(2) is needed to know the fd is not ready. Clears the
    /// latch unless an event came since `tick` (then a wait finds it set at once).
    /// Err(Closed) once `close` ran.
    pub(crate) fn clear_latch(&self, dir: usize, tick: u32) -> Result<(), Error> {
        let mut st = self.desc.lock();
        if st.seq != self.seq {
            return Err(Error::Closed);
        }
        if st.dir[dir].tick == tick {
            st.dir[dir].ready = false;
        }
        Ok(())
    }

    /// A source for a wait on direction `dir` of this registration.
    pub(crate) fn source(&self, dir: usize) -> FdSource {
        FdSource {
            fd: self.fd,
            events: if dir == super::DIR_READ { READ } else { WRITE },
            desc: self.desc,
            seq: self.seq,
        }
    }
}
