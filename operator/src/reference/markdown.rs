//! Small Markdown helpers the pages share.

/// A table cell: one line, pipes escaped, and `<`, `>` shown as text outside code spans (a
/// comment's `<namespace>` is not an HTML tag).
pub fn cell(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    line.split('`')
        .enumerate()
        .map(|(i, part)| match i % 2 {
            0 => part.replace('<', "&lt;").replace('>', "&gt;"),
            _ => part.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("`")
        .replace('|', "\\|")
}

/// A table with a header row.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = format!("| {} |\n", header.join(" | "));
    out.push_str(&format!(
        "|{}\n",
        header.iter().map(|_| "---|").collect::<String>()
    ));
    for row in rows {
        out.push_str(&format!("| {} |\n", row.join(" | ")));
    }
    out
}

/// `text` as inline code, whatever backticks it holds.
pub fn code(text: &str) -> String {
    if text.contains('`') {
        format!("`` {text} ``")
    } else {
        format!("`{text}`")
    }
}

/// Ends a page with exactly one newline.
pub fn finish(mut page: String) -> String {
    while page.ends_with("\n\n") {
        page.pop();
    }
    if !page.ends_with('\n') {
        page.push('\n');
    }
    page
}
