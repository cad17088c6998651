//! Small HTML helpers: escaping text and attributes, embedding JSON in a `<script>`, relative URLs, and filling
//! the page template.

/// Escape text for an HTML text node or a double-quoted attribute value.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

/// JSON text made safe inside `<script type="application/json">`: every `<` (which JSON only has inside strings)
/// becomes `\u003c`, so neither `</script>` nor `<!--` can end or confuse the script element.
pub(crate) fn json_for_script(json: &str) -> String {
    json.replace('<', "\\u003c")
}

/// A relative file path as a URL path: every byte outside the unreserved set (and `/`) percent-encoded.
pub(crate) fn url_path(rel: &str) -> String {
    let mut out = String::with_capacity(rel.len());
    for b in rel.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Replace each `{{KEY}}` of `template` by its value, in one pass over the template (values are never rescanned).
/// A marker with no value is left as it is.
pub(crate) fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let extra: usize = values.iter().map(|(_, v)| v.len()).sum();
    let mut out = String::with_capacity(template.len() + extra);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let key = &after[..end];
                match values.iter().find(|(k, _)| *k == key) {
                    Some((_, v)) => out.push_str(v),
                    None => {
                        out.push_str("{{");
                        out.push_str(key);
                        out.push_str("}}");
                    }
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(escape(r#"<a href="x">&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
    }

    #[test]
    fn script_json_cannot_close_the_element_and_still_parses() {
        let v = serde_json::json!({"method": "</script><script>alert(1)</script> <!-- x"});
        let s = json_for_script(&v.to_string());
        assert!(!s.contains('<'));
        let back: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn url_paths_are_encoded() {
        assert_eq!(url_path("sheets/0001-a b#c.png"), "sheets/0001-a%20b%23c.png");
        assert_eq!(url_path("thumbs/é.png"), "thumbs/%C3%A9.png");
    }

    #[test]
    fn fill_does_not_rescan_values() {
        let t = "a {{X}} b {{Y}} c {{Z}}";
        assert_eq!(fill(t, &[("X", "{{Y}}"), ("Y", "2")]), "a {{Y}} b 2 c {{Z}}");
        assert_eq!(fill("{{unclosed", &[]), "{{unclosed");
    }
}
