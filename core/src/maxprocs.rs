//! The CPUs this process may really use: the default GOMAXPROCS.
//!
//! Go's runtime (`src/runtime/cgroup_linux.go`, `src/internal/runtime/cgroup`, since Go 1.25)
//! and uber-go/automaxprocs before it start from the CPUs in the `sched_getaffinity` mask and
//! lower that to the cgroup CPU quota. The quota matters because CFS bandwidth control counts
//! CPU time, not CPUs: a container allowed 2 CPUs' worth on a 64-CPU machine, running 64 worker
//! threads, spends its quota in the first few milliseconds of each period and then has every
//! thread stalled until the next one, which shows up as tail latency and as long pauses
//! whenever one thread waits for another that the kernel is not running.
//!
//! # How the quota is found
//!
//! 1. `/proc/self/cgroup` names this process's cgroup: the v1 line whose controllers include
//!    `cpu` (`4:cpu,cpuacct:/docker/abc`), or else the v2 line `0::/some/path`.
//! 2. `/proc/self/mountinfo` says where that hierarchy is mounted: fstype `cgroup` with `cpu`
//!    among its super options, or fstype `cgroup2`. The cgroup path is taken relative to the
//!    mount's root (field 4), as automaxprocs does: in a container without a cgroup namespace
//!    the mount's root is `/docker/abc` and the process's cgroup is the mount point itself.
//! 3. Every directory from the process's cgroup up to the mount point is read (`cpu.max`, or
//!    `cpu.cfs_quota_us` with `cpu.cfs_period_us`) and the smallest quota wins, because the
//!    kernel enforces every level: an unlimited leaf under a limited parent is limited. Go opens
//!    only the leaf's files (`OpenCPU` in `internal/runtime/cgroup`), as does automaxprocs.
//!
//! On a hybrid system (v1 and v2 both mounted) the v1 `cpu` controller wins when it is mounted,
//! as in Go: a controller bound to a v1 hierarchy is absent from the v2 one.
//!
//! # Rounding
//!
//! A quota is an average: 1.5 CPUs means 150ms of CPU time in each 100ms period, to be spent in
//! any shape. It is rounded up (1.5 -> 2), as Go does, so a burst can use the whole quota early
//! in a period instead of leaving half a CPU unused; automaxprocs rounds down and wastes it.
//! The result is at least 1, as goro's contract says; Go raises a quota below 2 to 2, which
//! goro does not follow, so a 1-CPU container gets one worker thread.
//!
//! # Rejected
//!
//! - `std::thread::available_parallelism` alone: it also reads the cgroup quota, but rounds it
//!   down. It is only the fallback when `sched_getaffinity` fails.
//! - Assuming the v2 mount is `/sys/fs/cgroup` (automaxprocs does): mountinfo is authoritative.
//! - Reporting errors: a missing or malformed file counts as "no limit" at that level, so the
//!   worst case is Go's old default (every CPU in the mask), never a panic at start-up.
//!
//! The environment variable `GOMAXPROCS` overrides all of this, as in Go: see
//! [`default_maxprocs`].

use std::fs;
use std::path::{Path, PathBuf};

/// The most CPUs [`affinity_cpus`] asks the kernel about: 2^16 words of 64 bits, 4M CPUs.
/// Linux's own limit (`NR_CPUS`, `CONFIG_NR_CPUS_RANGE_END`) is 8192 today.
const MAX_MASK_WORDS: usize = 1 << 16;

/// Returns the number of CPUs this process may really use.
///
/// That is the number of CPUs in the calling thread's affinity mask (or
/// `std::thread::available_parallelism` if the mask cannot be read), capped by the cgroup CPU
/// quota of this process rounded up, and never less than 1. It reads `/proc/self/cgroup`,
/// `/proc/self/mountinfo` and the cgroup files under the mount points found there, on every
/// call; callers that need it often cache it.
pub fn num_cpu() -> usize {
    let cpus = affinity_cpus().unwrap_or_else(fallback_cpus);
    let cgroup = fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    cap_by_quota(cpus, cgroup_cpu_quota(&cgroup, &mountinfo, Path::new("/")))
}

/// Returns the GOMAXPROCS a runtime should start with.
///
/// The environment variable `GOMAXPROCS` when it holds an integer of at least 1 (see
/// [`parse_gomaxprocs`]); otherwise, as Go does with an invalid value, it is ignored and
/// [`num_cpu`] decides.
pub fn default_maxprocs() -> usize {
    // A value that is not Unicode is as invalid as any other: ignored.
    let env = std::env::var("GOMAXPROCS").ok();
    parse_gomaxprocs(env.as_deref()).unwrap_or_else(num_cpu)
}

/// Parses a value of the environment variable `GOMAXPROCS` as Go's runtime does.
///
/// Go (`schedinit` in `src/runtime/proc.go`) takes the value only if its `atoi32` accepts it
/// and it is greater than 0: ASCII digits only (no sign, no spaces), fitting in an `int32`.
/// Returns `None` for an absent or invalid value.
#[must_use]
pub fn parse_gomaxprocs(value: Option<&str>) -> Option<usize> {
    let value = value?;
    // Go's atoi32 also takes a leading '-', but then the value is below 1 and ignored anyway.
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i32 = value.parse().ok()?;
    if n >= 1 {
        usize::try_from(n).ok()
    } else {
        None
    }
}

/// Returns the cgroup CPU quota of a process, in CPUs (1.5 for "150000 100000"), or `None`
/// when no level of its cgroup limits it.
///
/// `proc_self_cgroup` and `proc_self_mountinfo` are the contents of the process's
/// `/proc/self/cgroup` and `/proc/self/mountinfo`. `root` is prepended to every mount point
/// read from the mountinfo: `/` for the real system, a fixture tree in tests. The quota is
/// the smallest found from the process's own cgroup up through every parent to the mount
/// point; see the module documentation for the rules. Malformed input gives `None` or skips
/// the malformed level; it never panics.
#[must_use]
pub fn cgroup_cpu_quota(
    proc_self_cgroup: &str,
    proc_self_mountinfo: &str,
    root: &Path,
) -> Option<f64> {
    // The v1 cpu controller first (Go's order): if it is mounted, v2 cannot hold it.
    for version in [Version::V1, Version::V2] {
        let Some(path) = cgroup_path(proc_self_cgroup, version) else {
            continue;
        };
        if let Some((mount_point, rel)) = locate(proc_self_mountinfo, version, path) {
            return smallest_quota(version, &under(root, &mount_point), rel);
        }
    }
    None
}

/// Caps `cpus` by `quota` rounded up, and keeps the result at least 1.
fn cap_by_quota(cpus: usize, quota: Option<f64>) -> usize {
    let cpus = cpus.max(1);
    match quota {
        // `as` saturates: a quota too large for usize leaves `cpus` as it is.
        Some(quota) => cpus.min((quota.ceil() as usize).max(1)),
        None => cpus,
    }
}

/// Counts the CPUs in the calling thread's affinity mask, or `None` if it cannot be read.
fn affinity_cpus() -> Option<usize> {
    // Start with glibc's fixed cpu_set_t (1024 CPUs) and double while the kernel answers
    // EINVAL, which it does when the mask is shorter than its nr_cpu_ids (Go's runtime uses a
    // fixed 8 KiB mask instead).
    let word_bytes = std::mem::size_of::<libc::c_ulong>();
    let mut words = std::mem::size_of::<libc::cpu_set_t>() / word_bytes;
    while words <= MAX_MASK_WORDS {
        let mut mask: Vec<libc::c_ulong> = vec![0; words];
        let bytes = words * word_bytes;
        // SAFETY: `mask` is a live, writable, zeroed buffer of exactly `bytes` bytes, aligned
        // as `cpu_set_t` is (that type is an array of `c_ulong`); the kernel and libc write at
        // most `bytes` bytes into it and keep no pointer after returning. Pid 0 names the
        // calling thread, so there is no other process whose lifetime matters.
        let rc = unsafe {
            libc::sched_getaffinity(0, bytes, mask.as_mut_ptr().cast::<libc::cpu_set_t>())
        };
        if rc == 0 {
            let n: u32 = mask.iter().map(|word| word.count_ones()).sum();
            return usize::try_from(n).ok().filter(|&n| n > 0);
        }
        if std::io::Error::last_os_error().raw_os_error() != Some(libc::EINVAL) {
            return None;
        }
        words *= 2;
    }
    None
}

/// The CPU count when the affinity mask cannot be read. Note that std rounds the cgroup quota
/// down where goro rounds up; [`cap_by_quota`] cannot raise it again, and this path is rare.
fn fallback_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// The cgroup version that holds the process's `cpu` controller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Version {
    /// One hierarchy per controller set; quota in `cpu.cfs_quota_us` / `cpu.cfs_period_us`.
    V1,
    /// The unified hierarchy; quota in `cpu.max`.
    V2,
}

/// Finds the process's cgroup path for `version` in the contents of `/proc/self/cgroup`.
///
/// Each line is `hierarchy-ID:controller-list:cgroup-path`. For v1 it is the line whose
/// controller list holds `cpu` (not `cpuacct`); for v2 the line with hierarchy ID 0.
fn cgroup_path(proc_self_cgroup: &str, version: Version) -> Option<&str> {
    proc_self_cgroup.lines().find_map(|line| {
        // The path comes last and may itself contain ':'.
        let mut fields = line.splitn(3, ':');
        let (id, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
        let found = match version {
            Version::V1 => id != "0" && has_cpu(controllers),
            Version::V2 => id == "0",
        };
        found.then_some(path)
    })
}

/// Whether a comma-separated list (cgroup controllers, mount super options) names `cpu`.
fn has_cpu(list: &str) -> bool {
    list.split(',').any(|item| item == "cpu")
}

/// One line of `/proc/self/mountinfo`, the fields this module needs, unescaped.
struct Mount<'a> {
    /// Field 4: the directory of the mounted filesystem (here: the cgroup) at the mount point.
    root: String,
    /// Field 5: where it is mounted, relative to the process's root directory.
    mount_point: String,
    /// Field 9: the filesystem type.
    fstype: &'a str,
    /// Field 11: per-superblock options; for a v1 cgroup they name its controllers.
    super_options: &'a str,
}

/// Parses one line of `/proc/self/mountinfo`, or `None` if it is malformed.
///
/// ```text
/// 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
/// (1)(2)(3)   (4)   (5)      (6)      (7)   (8) (9)   (10)         (11)
/// ```
///
/// Field (7) is zero or more optional fields, ended by the separator (8) `-`. No field holds
/// a space: the kernel writes a space in a path as `\040` (see `proc_pid_mountinfo(5)`).
fn parse_mount(line: &str) -> Option<Mount<'_>> {
    let fields: Vec<&str> = line.split(' ').collect();
    // The separator is the first lone "-" after the six fixed fields.
    let sep = 6 + fields.get(6..)?.iter().position(|&field| field == "-")?;
    Some(Mount {
        root: unescape(fields[3])?,
        mount_point: unescape(fields[4])?,
        fstype: fields.get(sep + 1)?,
        // Field 10, the mount source, is not needed but must be there.
        super_options: fields.get(sep + 3)?,
    })
}

/// Undoes the kernel's `show_path` escaping in a mountinfo path: `\` followed by three octal
/// digits stands for one byte (`\040` is a space). `None` if a sequence is broken.
fn unescape(field: &str) -> Option<String> {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let digits = bytes.get(i + 1..i + 4)?;
        let mut value: u32 = 0;
        for &digit in digits {
            if !(b'0'..=b'7').contains(&digit) {
                return None;
            }
            value = value * 8 + u32::from(digit - b'0');
        }
        out.push(u8::try_from(value).ok()?);
        i += 4;
    }
    String::from_utf8(out).ok()
}

/// Finds the mount of the `version` hierarchy through which `cgroup_path` is visible.
///
/// Returns the mount point and `cgroup_path` relative to that mount's root ("" or starting
/// with '/'). The first such mount wins: the same hierarchy may be mounted more than once,
/// and a mount whose root does not contain our cgroup cannot show its files.
fn locate<'p>(
    proc_self_mountinfo: &str,
    version: Version,
    cgroup_path: &'p str,
) -> Option<(String, &'p str)> {
    proc_self_mountinfo
        .lines()
        .filter_map(parse_mount)
        .filter(|mount| match version {
            Version::V1 => mount.fstype == "cgroup" && has_cpu(mount.super_options),
            Version::V2 => mount.fstype == "cgroup2",
        })
        .find_map(|mount| {
            let rel = relative(cgroup_path, &mount.root)?;
            Some((mount.mount_point, rel))
        })
}

/// `path` relative to the cgroup directory `mount_root`, as automaxprocs' `Translate` does,
/// or `None` if `path` is not under `mount_root` or climbs with `.` or `..`.
///
/// Both are absolute paths in the cgroup hierarchy, e.g. `/docker/abc/worker` under the root
/// `/docker/abc` gives `/worker`, and `/docker/abc` under itself gives "".
fn relative<'p>(path: &'p str, mount_root: &str) -> Option<&'p str> {
    if !path.starts_with('/') || !mount_root.starts_with('/') {
        return None;
    }
    let rel = path.strip_prefix(mount_root.trim_end_matches('/'))?;
    if !rel.is_empty() && !rel.starts_with('/') {
        // "/docker/abcdef" is not under "/docker/abc".
        return None;
    }
    if rel.split('/').any(|part| part == "." || part == "..") {
        return None;
    }
    Some(rel)
}

/// `root` joined with the absolute path `abs` (a plain `join` would drop `root`).
fn under(root: &Path, abs: &str) -> PathBuf {
    root.join(abs.trim_start_matches('/'))
}

/// The smallest quota in the directories from `mount_dir` down to `mount_dir` + `rel`.
///
/// Walking down from the mount point visits the same directories as walking up from the
/// process's cgroup, and the minimum does not care about the order.
fn smallest_quota(version: Version, mount_dir: &Path, rel: &str) -> Option<f64> {
    let mut dir = mount_dir.to_path_buf();
    let mut smallest = read_quota(version, &dir);
    for part in rel.split('/').filter(|part| !part.is_empty()) {
        dir.push(part);
        smallest = match (smallest, read_quota(version, &dir)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    smallest
}

/// The quota set on one cgroup directory, in CPUs, or `None` for "no limit here" (unlimited,
/// missing or malformed).
fn read_quota(version: Version, dir: &Path) -> Option<f64> {
    match version {
        Version::V2 => parse_cpu_max(&fs::read_to_string(dir.join("cpu.max")).ok()?),
        Version::V1 => {
            let quota = read_number(&dir.join("cpu.cfs_quota_us"))?;
            if quota < 0 {
                // -1: no limit, and no need for the period.
                return None;
            }
            quota_in_cpus(quota, read_number(&dir.join("cpu.cfs_period_us"))?)
        }
    }
}

/// Parses a v2 `cpu.max`: `"<quota> <period>\n"` in microseconds, quota `max` for no limit.
fn parse_cpu_max(contents: &str) -> Option<f64> {
    let mut fields = contents.split_whitespace();
    let (quota, period) = (fields.next()?, fields.next()?);
    if fields.next().is_some() || quota == "max" {
        return None;
    }
    quota_in_cpus(quota.parse().ok()?, period.parse().ok()?)
}

/// Reads a v1 file holding one integer and a newline.
fn read_number(file: &Path) -> Option<i64> {
    fs::read_to_string(file).ok()?.trim().parse().ok()
}

/// `quota / period` in CPUs; `None` unless both are positive (the kernel allows neither a
/// zero quota nor a zero period, so such a file is malformed).
fn quota_in_cpus(quota: i64, period: i64) -> Option<f64> {
    (quota > 0 && period > 0).then(|| quota as f64 / period as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fixture trees: `<case>/proc/self/{cgroup,mountinfo}` and `<case>/sys/fs/cgroup/...`.
    fn fixtures() -> PathBuf {
        PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/cgroup"
        ))
    }

    fn read_or_empty(path: &Path) -> String {
        fs::read_to_string(path).unwrap_or_default()
    }

    /// The quota of fixture `case`, its own tree as the root.
    fn quota(case: &str) -> Option<f64> {
        let root = fixtures().join(case);
        assert!(root.is_dir(), "fixture {} is missing", root.display());
        let cgroup = read_or_empty(&root.join("proc/self/cgroup"));
        let mountinfo = read_or_empty(&root.join("proc/self/mountinfo"));
        cgroup_cpu_quota(&cgroup, &mountinfo, &root)
    }

    #[test]
    fn v2_quota_at_leaf() {
        assert_eq!(quota("v2_leaf"), Some(1.5));
    }

    #[test]
    fn v2_parent_tighter_than_leaf() {
        // Leaf 4 CPUs, parent 2, grandparent without cpu.max.
        assert_eq!(quota("v2_parent_tighter"), Some(2.0));
    }

    #[test]
    fn v2_max_is_no_limit() {
        assert_eq!(quota("v2_max"), None);
    }

    #[test]
    fn v1_quota() {
        // 250000 / 100000 at the leaf, -1 above it.
        assert_eq!(quota("v1_quota"), Some(2.5));
        assert_eq!(cap_by_quota(64, quota("v1_quota")), 3);
    }

    #[test]
    fn v1_minus_one_is_no_limit() {
        assert_eq!(quota("v1_unlimited"), None);
    }

    #[test]
    fn v1_container_mount_root() {
        // Mount root /docker/abc123, cgroup /docker/abc123/worker: the files are at the mount
        // point and in worker/ below it; the decoys above the mount point and at the
        // untranslated path are not read.
        assert_eq!(quota("v1_container"), Some(3.0));
    }

    #[test]
    fn cgroup_outside_mount_root_is_no_limit() {
        let root = fixtures().join("v1_container");
        let mountinfo = read_or_empty(&root.join("proc/self/mountinfo"));
        for cgroup in [
            "4:cpu,cpuacct:/docker/other\n",
            "4:cpu,cpuacct:/docker/abc1234\n",
        ] {
            assert_eq!(
                cgroup_cpu_quota(cgroup, &mountinfo, &root),
                None,
                "{cgroup}"
            );
        }
        let climbing = "4:cpu,cpuacct:/docker/abc123/../../x\n";
        assert_eq!(cgroup_cpu_quota(climbing, &mountinfo, &root), None);
    }

    #[test]
    fn hybrid_prefers_v1_cpu() {
        // v1 `cpu` says 2; the `cpuacct` hierarchy (listed first) and v2 hold decoys.
        assert_eq!(quota("hybrid"), Some(2.0));
    }

    #[test]
    fn hybrid_without_v1_cpu_mount_uses_v2() {
        let root = fixtures().join("hybrid");
        let cgroup = read_or_empty(&root.join("proc/self/cgroup"));
        let mountinfo: String = read_or_empty(&root.join("proc/self/mountinfo"))
            .lines()
            .filter(|line| !line.ends_with(" rw,cpu"))
            .map(|line| format!("{line}\n"))
            .collect();
        assert_eq!(cgroup_cpu_quota(&cgroup, &mountinfo, &root), Some(0.5));
    }

    #[test]
    fn malformed_files_are_no_limit() {
        assert_eq!(quota("malformed"), None);
        assert_eq!(quota("malformed_v1"), None);
    }

    #[test]
    fn missing_files_are_no_limit() {
        assert_eq!(quota("missing"), None);
        let nowhere = fixtures().join("no-such-case");
        assert_eq!(cgroup_cpu_quota("0::/\n", "", &nowhere), None);
    }

    #[test]
    fn malformed_proc_files_never_panic() {
        let root = fixtures().join("v2_leaf");
        let good_cgroup = "0::/user.slice/app.scope\n";
        let good_mount = read_or_empty(&root.join("proc/self/mountinfo"));
        assert_eq!(cgroup_cpu_quota(good_cgroup, &good_mount, &root), Some(1.5));
        let bad_cgroups = [
            "",
            "garbage",
            "0:",
            "::",
            "4:cpu",
            "\n\n:::\n",
            "0::relative",
        ];
        for cgroup in bad_cgroups {
            assert_eq!(
                cgroup_cpu_quota(cgroup, &good_mount, &root),
                None,
                "{cgroup:?}"
            );
        }
        let bad_mounts = [
            "",
            "garbage",
            "30 26 0:26 / /sys/fs/cgroup rw - cgroup2",
            "30 26 0:26 / /sys/fs/cgroup - cgroup2 cgroup2 rw",
            "30 26 0:26 / /sys/fs/cgroup rw,relatime shared:4 cgroup2 cgroup2 rw",
            "30 26 0:26 / /sys/fs/cgroup\\04 rw - cgroup2 cgroup2 rw",
            "30 26 0:26 relative /sys/fs/cgroup rw - cgroup2 cgroup2 rw",
            "- - - - - - - - - -",
        ];
        for mountinfo in bad_mounts {
            let got = cgroup_cpu_quota(good_cgroup, mountinfo, &root);
            assert_eq!(got, None, "{mountinfo:?}");
        }
    }

    #[test]
    fn quota_file_formats() {
        assert_eq!(parse_cpu_max("150000 100000\n"), Some(1.5));
        assert_eq!(parse_cpu_max("max 100000\n"), None);
        for bad in [
            "",
            "\n",
            "150000",
            "150000 0",
            "0 100000",
            "-1 100000",
            "1 2 3",
            "x y",
        ] {
            assert_eq!(parse_cpu_max(bad), None, "{bad:?}");
        }
        assert_eq!(quota_in_cpus(50_000, 100_000), Some(0.5));
        assert_eq!(quota_in_cpus(50_000, 0), None);
    }

    #[test]
    fn mountinfo_escapes() {
        assert_eq!(
            unescape("/sys/fs/cgroup").as_deref(),
            Some("/sys/fs/cgroup")
        );
        assert_eq!(unescape("/a\\040b\\134c").as_deref(), Some("/a b\\c"));
        for bad in ["/a\\04", "/a\\", "/a\\089", "/a\\400"] {
            assert_eq!(unescape(bad), None, "{bad:?}");
        }
        let line = "41 31 0:38 / /sys/fs/cgroup\\040v2 rw,relatime - cgroup2 cgroup2 rw";
        let mount = parse_mount(line).map(|m| m.mount_point);
        assert_eq!(mount.as_deref(), Some("/sys/fs/cgroup v2"));
    }

    #[test]
    fn fractional_quota_rounds_up() {
        assert_eq!(cap_by_quota(8, quota("v2_leaf")), 2);
        assert_eq!(cap_by_quota(8, Some(2.0)), 2);
        assert_eq!(cap_by_quota(8, Some(2.01)), 3);
        assert_eq!(cap_by_quota(2, Some(7.5)), 2);
        assert_eq!(cap_by_quota(8, None), 8);
        assert_eq!(cap_by_quota(8, Some(1e300)), 8);
    }

    #[test]
    fn tiny_quota_gives_at_least_one() {
        assert_eq!(quota("v2_tiny"), Some(0.01));
        assert_eq!(cap_by_quota(8, quota("v2_tiny")), 1);
        assert_eq!(cap_by_quota(0, None), 1);
    }

    #[test]
    fn gomaxprocs_parsing() {
        assert_eq!(parse_gomaxprocs(Some("4")), Some(4));
        assert_eq!(parse_gomaxprocs(Some("1")), Some(1));
        assert_eq!(parse_gomaxprocs(Some("0010")), Some(10));
        assert_eq!(parse_gomaxprocs(Some("2147483647")), Some(2_147_483_647));
        let invalid = ["", "0", "-1", "+4", " 4", "4 ", "4.0", "four", "2147483648"];
        for value in invalid {
            assert_eq!(parse_gomaxprocs(Some(value)), None, "{value:?}");
        }
        assert_eq!(parse_gomaxprocs(None), None);
    }

    #[test]
    fn real_system() {
        let cpus = num_cpu();
        assert!(cpus >= 1);
        assert!(cpus <= affinity_cpus().unwrap_or(usize::MAX));
        let cgroup = read_or_empty(Path::new("/proc/self/cgroup"));
        let mountinfo = read_or_empty(Path::new("/proc/self/mountinfo"));
        if let Some(quota) = cgroup_cpu_quota(&cgroup, &mountinfo, Path::new("/")) {
            assert!(quota > 0.0);
        }
        // GOMAXPROCS is whatever the test runner set; only its shape is checked here.
        let expected = parse_gomaxprocs(std::env::var("GOMAXPROCS").ok().as_deref());
        assert_eq!(default_maxprocs(), expected.unwrap_or(cpus));
    }
}
