//! Synchronisation for goroutines and threads alike: WaitGroup and Mutex.

mod mutex;
mod waitgroup;

pub use mutex::Mutex;
pub use waitgroup::WaitGroup;
