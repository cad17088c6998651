//! The report of a run that is still training (`ccc watch --report`, the Python callback's `report=`): the same
//! page, which reloads itself so that an open browser tab follows each new analysis.

use std::path::{Path, PathBuf};

use super::{render_report, ReportError, ReportOptions};

/// Keeps the reader's place across reloads (sessionStorage works from `file://`).
const KEEP_SCROLL: &str = "<script>addEventListener(\"beforeunload\",()=>sessionStorage.setItem(\"ccc-scroll\",\
String(scrollY)));addEventListener(\"load\",()=>{const y=sessionStorage.getItem(\"ccc-scroll\");if(y)\
scrollTo(0,Number(y));});</script>\n";

/// The page of [`render_report`] with a reload every `reload_s` seconds (at least 1).
pub fn render_live_report(out_dir: &Path, opts: &ReportOptions, reload_s: u32) -> Result<String, ReportError> {
    let page = render_report(out_dir, opts)?;
    let head = format!("<meta http-equiv=\"refresh\" content=\"{}\">\n{KEEP_SCROLL}", reload_s.max(1));
    Ok(match page.find("<meta charset=\"utf-8\">\n") {
        Some(i) => {
            let at = i + "<meta charset=\"utf-8\">\n".len();
            format!("{}{head}{}", &page[..at], &page[at..])
        }
        None => page,
    })
}

/// Write `out_dir/report.html` (atomically) as [`render_live_report`] makes it; returns its path.
pub fn write_live_report(out_dir: &Path, opts: &ReportOptions, reload_s: u32) -> Result<PathBuf, ReportError> {
    let page = render_live_report(out_dir, opts, reload_s)?;
    let path = out_dir.join("report.html");
    ccc_core::atomic::write_bytes_atomic(&path, page.as_bytes())?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_page_reloads_itself_and_a_missing_analysis_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            render_live_report(dir.path(), &ReportOptions::default(), 10),
            Err(ReportError::NotAnAnalysis { .. })
        ));
    }
}
