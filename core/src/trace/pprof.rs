//! The pprof profile format (profile.proto, gzipped), as `go tool pprof` reads it. Written by
//! hand: the format needs only varints and length-delimited fields, and each profile is built
//! once per request.

use std::collections::HashMap;
use std::io::Write;

use super::Frame;

/// A sample: its location ids (innermost first), its values, its numeric labels (key, value).
type Sample = (Vec<u64>, Vec<i64>, Vec<(i64, i64)>);

/// Builds one profile: sample types, then samples with their stacks (innermost first).
pub struct Builder {
    strings: Vec<String>,
    string_ix: HashMap<String, i64>,
    functions: HashMap<(String, String), u64>,
    function_list: Vec<(u64, i64, i64)>,
    locations: HashMap<Frame, u64>,
    location_list: Vec<(u64, u64, i64)>,
    samples: Vec<Sample>,
    sample_types: Vec<(i64, i64)>,
    period_type: (i64, i64),
    period: i64,
    time_nanos: i64,
    duration_nanos: i64,
}

impl Builder {
    /// A profile whose samples carry one value per `(type, unit)` in `sample_types` (Go's:
    /// `("goroutine", "count")`, `("contentions", "count"), ("delay", "nanoseconds")`, ...).
    pub fn new(sample_types: &[(&str, &str)], period_type: (&str, &str), period: i64) -> Builder {
        let mut b = Builder {
            strings: Vec::new(),
            string_ix: HashMap::new(),
            functions: HashMap::new(),
            function_list: Vec::new(),
            locations: HashMap::new(),
            location_list: Vec::new(),
            samples: Vec::new(),
            sample_types: Vec::new(),
            period_type: (0, 0),
            period,
            time_nanos: wall_ns(),
            duration_nanos: 0,
        };
        b.string(""); // string 0 is always ""
        b.sample_types = sample_types
            .iter()
            .map(|(t, u)| (b.string(t), b.string(u)))
            .collect();
        b.period_type = (b.string(period_type.0), b.string(period_type.1));
        b
    }

    /// How long the profile covers (CPU profiles).
    pub fn set_duration(&mut self, ns: i64) {
        self.duration_nanos = ns;
    }

    fn string(&mut self, s: &str) -> i64 {
        if let Some(&i) = self.string_ix.get(s) {
            return i;
        }
        let i = self.strings.len() as i64;
        self.strings.push(s.to_string());
        self.string_ix.insert(s.to_string(), i);
        i
    }

    fn location(&mut self, f: &Frame) -> u64 {
        if let Some(&id) = self.locations.get(f) {
            return id;
        }
        let key = (f.function.to_string(), f.file.to_string());
        let fid = match self.functions.get(&key) {
            Some(&id) => id,
            None => {
                let id = self.function_list.len() as u64 + 1;
                let (name, file) = (self.string(&key.0), self.string(&key.1));
                self.function_list.push((id, name, file));
                self.functions.insert(key, id);
                id
            }
        };
        let id = self.location_list.len() as u64 + 1;
        self.location_list.push((id, fid, f.line as i64));
        self.locations.insert(f.clone(), id);
        id
    }

    /// Adds a sample: its stack (innermost first), one value per sample type, and string
    /// labels (shown by `pprof -tags`).
    pub fn add(&mut self, stack: &[Frame], values: &[i64], labels: &[(&str, &str)]) {
        let locs = stack.iter().map(|f| self.location(f)).collect();
        let labels = labels
            .iter()
            .map(|(k, v)| (self.string(k), self.string(v)))
            .collect();
        self.samples.push((locs, values.to_vec(), labels));
    }

    /// The profile, encoded and gzipped.
    pub fn finish(self) -> Vec<u8> {
        let mut p = Vec::new();
        for &(t, u) in &self.sample_types {
            field_msg(&mut p, 1, &value_type(t, u));
        }
        for (locs, values, labels) in &self.samples {
            let mut s = Vec::new();
            packed(&mut s, 1, locs.iter().copied());
            packed(&mut s, 2, values.iter().map(|&v| v as u64));
            for &(k, v) in labels {
                let mut l = Vec::new();
                field_varint(&mut l, 1, k as u64);
                field_varint(&mut l, 2, v as u64);
                field_msg(&mut s, 3, &l);
            }
            field_msg(&mut p, 2, &s);
        }
        for &(id, fid, line) in &self.location_list {
            let mut l = Vec::new();
            field_varint(&mut l, 1, id);
            let mut ln = Vec::new();
            field_varint(&mut ln, 1, fid);
            field_varint(&mut ln, 2, line as u64);
            field_msg(&mut l, 4, &ln);
            field_msg(&mut p, 4, &l);
        }
        for &(id, name, file) in &self.function_list {
            let mut f = Vec::new();
            field_varint(&mut f, 1, id);
            field_varint(&mut f, 2, name as u64);
            field_varint(&mut f, 3, name as u64);
            field_varint(&mut f, 4, file as u64);
            field_msg(&mut p, 5, &f);
        }
        for s in &self.strings {
            field_bytes(&mut p, 6, s.as_bytes());
        }
        field_varint(&mut p, 9, self.time_nanos as u64);
        if self.duration_nanos > 0 {
            field_varint(&mut p, 10, self.duration_nanos as u64);
        }
        field_msg(
            &mut p,
            11,
            &value_type(self.period_type.0, self.period_type.1),
        );
        field_varint(&mut p, 12, self.period as u64);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&p).expect("writing to memory");
        gz.finish().expect("writing to memory")
    }
}

fn wall_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

fn value_type(t: i64, u: i64) -> Vec<u8> {
    let mut v = Vec::new();
    field_varint(&mut v, 1, t as u64);
    field_varint(&mut v, 2, u as u64);
    v
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn field_varint(out: &mut Vec<u8>, field: u32, v: u64) {
    varint(out, (field as u64) << 3);
    varint(out, v);
}

fn field_bytes(out: &mut Vec<u8>, field: u32, b: &[u8]) {
    varint(out, ((field as u64) << 3) | 2);
    varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

fn field_msg(out: &mut Vec<u8>, field: u32, m: &[u8]) {
    field_bytes(out, field, m);
}

fn packed(out: &mut Vec<u8>, field: u32, vals: impl Iterator<Item = u64>) {
    let mut b = Vec::new();
    for v in vals {
        varint(&mut b, v);
    }
    field_bytes(out, field, &b);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_encode_as_protobuf_does() {
        let mut v = Vec::new();
        varint(&mut v, 300);
        assert_eq!(v, [0xAC, 0x02]);
        let mut v = Vec::new();
        varint(&mut v, (-1i64) as u64);
        assert_eq!(v.len(), 10);
    }

    #[test]
    fn a_profile_is_gzip() {
        let mut b = Builder::new(&[("goroutine", "count")], ("goroutine", "count"), 1);
        b.add(
            &[Frame::new("f", "f.c", 3)],
            &[2],
            &[("state", "chan receive")],
        );
        let out = b.finish();
        assert_eq!(&out[..2], &[0x1f, 0x8b]);
    }
}
