//! The console page: static files embedded in the hub's binary, so the hub needs
//! nothing beside itself and the page loads nothing from elsewhere (no CDN, no web
//! fonts, no map tiles).

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::error::HubError;

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

macro_rules! asset {
    ($name:literal, $type:expr) => {
        Asset {
            name: $name,
            content_type: $type,
            body: include_str!(concat!("../../console/", $name)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

const ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("favicon.svg", "image/svg+xml"),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("dom.js", JS),
    asset!("i18n.js", JS),
    asset!("sign-in.js", JS),
    asset!("list.js", JS),
    asset!("new-incident.js", JS),
    asset!("checklists.js", JS),
    asset!("incident.js", JS),
];

fn serve(name: &str) -> Response {
    match ASSETS.iter().find(|a| a.name == name) {
        Some(asset) => ([(header::CONTENT_TYPE, asset.content_type)], asset.body).into_response(),
        None => HubError::not_found("no such console file").into_response(),
    }
}

/// `GET /console/`.
pub async fn index() -> Response {
    serve("index.html")
}

/// `GET /console/{file}`.
pub async fn file(Path(name): Path<String>) -> Response {
    serve(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_inline_script_or_style_and_nothing_from_elsewhere() {
        for asset in ASSETS.iter().filter(|a| !a.name.ends_with(".svg")) {
            let body = asset.body;
            assert!(
                !body.contains("http://") && !body.contains("https://"),
                "{} loads from elsewhere",
                asset.name
            );
            if asset.name.ends_with(".html") {
                assert!(
                    !body.contains("<script>")
                        && !body.contains("<style")
                        && !body.contains("style="),
                    "{} has inline script or style",
                    asset.name
                );
                let handler = body
                    .split(|c: char| c.is_whitespace())
                    .any(|word| word.starts_with("on") && word.contains('='));
                assert!(!handler, "{} has an inline event handler", asset.name);
            }
            if asset.name.ends_with(".js") {
                assert!(
                    !body.contains("innerHTML")
                        && !body.contains("eval(")
                        && !body.contains(".style"),
                    "{} builds markup or styles from strings",
                    asset.name
                );
            }
        }
    }
}
