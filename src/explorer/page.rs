//! The explorer's one page: HTML, CSS and script compiled into the binary (`include_str!`) and
//! served as a single document with no external assets. A static copy (`esocc check --html`)
//! carries its data inside the page instead of fetching it from the API.

const HTML: &str = include_str!("page/index.html");
const STYLE: &str = include_str!("page/style.css");
const SCRIPT: &str = include_str!("page/app.js");

/// The page; `data` (for a static copy) is embedded as JSON the script reads instead of the API.
pub fn page(data: Option<&serde_json::Value>) -> String {
    let data = data.map_or_else(|| "null".to_string(), |d| d.to_string());
    HTML.replace("/*STYLE*/", STYLE)
        .replace("/*SCRIPT*/", SCRIPT)
        // `<\/` keeps a `</script>` inside a string from closing the element; JSON reads it as `</`.
        .replace("/*DATA*/null", &data.replace("</", "<\\/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_is_one_document_with_its_data_inline() {
        let served = page(None);
        assert!(served.contains("<style>") && !served.contains("/*STYLE*/"));
        assert!(!served.contains("/*SCRIPT*/") && served.contains("function route"));
        assert!(!served.contains("src=\"http") && !served.contains("href=\"http"));
        let data = serde_json::json!({"catalogue": [{"name": "</script><b>"}]});
        let copy = page(Some(&data));
        assert!(copy.contains(r#"[{"name":"<\/script><b>"}]"#));
        assert_eq!(
            copy.matches("</script>").count(),
            served.matches("</script>").count()
        );
    }
}
