//! What producers put on the stream, written here from the formats' specifications and
//! independently of the decoder: KPL aggregates and CloudWatch Logs subscription payloads.

use std::io::Write;

use md5::{Digest, Md5};

/// The KPL aggregation magic.
const KPL_MAGIC: [u8; 4] = [0xF3, 0x89, 0x9A, 0xC2];

/// Aggregates user records the way the KPL does: magic, protobuf `AggregatedRecord`
/// (partition key table, records by key index), MD5 of the protobuf.
pub fn kpl(records: &[(&str, &[u8])]) -> Vec<u8> {
    let mut keys: Vec<&str> = Vec::new();
    let mut body = Vec::new();
    let mut recs = Vec::new();
    for (key, data) in records {
        let index = keys.iter().position(|k| k == key).unwrap_or_else(|| {
            keys.push(key);
            keys.len() - 1
        });
        let mut rec = Vec::new();
        put_varint(&mut rec, 1 << 3);
        put_varint(&mut rec, index as u64);
        put_bytes(&mut rec, 3, data);
        recs.push(rec);
    }
    for k in keys {
        put_bytes(&mut body, 1, k.as_bytes());
    }
    for rec in recs {
        put_bytes(&mut body, 3, &rec);
    }
    let mut out = KPL_MAGIC.to_vec();
    out.extend_from_slice(&body);
    out.extend_from_slice(&Md5::digest(&body));
    out
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7F) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_bytes(out: &mut Vec<u8>, field: u64, data: &[u8]) {
    put_varint(out, (field << 3) | 2);
    put_varint(out, data.len() as u64);
    out.extend_from_slice(data);
}

/// A gzipped CloudWatch Logs subscription payload (`DATA_MESSAGE`) of `(time ms, message)`.
pub fn logs(log_group: &str, events: &[(i64, &str)]) -> Vec<u8> {
    let payload = serde_json::json!({
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": log_group,
        "logStream": "stream-1",
        "subscriptionFilters": ["realtime"],
        "logEvents": events.iter().enumerate().map(|(i, (t, m))| serde_json::json!({
            "id": i.to_string(), "timestamp": t, "message": m
        })).collect::<Vec<_>>(),
    });
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(payload.to_string().as_bytes())
        .expect("writing to a Vec");
    enc.finish().expect("gzip into a Vec")
}
