//! Read one file from a hub through the verified, resuming reader and report the throughput (no summarizing): the
//! client's own ceiling, for comparison with `curl -o /dev/null` and `ccc summarize` in `scripts/bench-hub.sh`.
//!
//! ```text
//! HF_ENDPOINT=http://127.0.0.1:PORT cargo run --release -p ccc-hub --example fetch -- ORG/NAME REVISION FILE
//! ```

use std::io::Read;
use std::sync::Arc;
use std::time::Instant;

use ccc_hub::config::ProcessEnv;
use ccc_hub::files::CheckpointFiles;
use ccc_hub::stream::RemoteReader;
use ccc_hub::{HubClient, HubConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [repo, rev, file] = args.as_slice() else {
        return Err("usage: fetch ORG/NAME REVISION FILE".into());
    };
    let client = Arc::new(HubClient::new(HubConfig::from_env(&ProcessEnv, None)?));
    let info = client.revision_info(repo, rev)?;
    let files = CheckpointFiles::choose(repo, rev, &info)?;
    let f = files.files.iter().find(|f| &f.name == file).ok_or("no such file in the checkpoint")?;
    let t0 = Instant::now();
    let mut r = RemoteReader::new(client.clone(), repo, &info.sha, f.expected());
    let mut buf = vec![0u8; 32 << 20];
    let mut n = 0u64;
    loop {
        let k = r.read(&mut buf)?;
        if k == 0 {
            break;
        }
        n += k as u64;
    }
    let s = t0.elapsed().as_secs_f64();
    println!("{n} bytes in {s:.2} s: {:.1} MB/s (verified sha256)", n as f64 / s / 1e6);
    Ok(())
}
