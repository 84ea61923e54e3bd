//! The site's static files: what cargo-leptos builds under `pkg/` (the
//! WASM, its JS glue, the stylesheet) and the files of `public/`.
//!
//! cargo-leptos names the WASM, JS and CSS by a hash of their contents
//! (`hash-files`), so a name never serves other bytes: those go out as
//! `immutable` for a year, and a returning visitor loads none of them again
//! until a new build names new files. Everything else (`favicon.svg`,
//! `embed.js` that other sites include by its fixed name) is revalidated on
//! each use: `no-cache` with `Last-Modified`, answered by a 304 while it is
//! unchanged. A release build made with `--precompress` puts a `.br` and a
//! `.gz` beside each file; the one the browser accepts is sent, so the WASM
//! is not compressed per request. A path that is no file is the app's page
//! (its own 404).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use axum::body::Body;
use axum::extract::{FromRef, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use leptos::prelude::LeptosOptions;
use tower::ServiceExt;
use tower_http::services::ServeDir;

/// How long a content-hashed file may be kept: a year, never revalidated.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// Any other file: kept, but checked with the server before each use.
const REVALIDATE: &str = "no-cache";

/// The request headers a static answer depends on (compression, ranges,
/// revalidation); the rest are left out.
const PASSED: [header::HeaderName; 5] = [
    header::ACCEPT_ENCODING,
    header::RANGE,
    header::IF_MODIFIED_SINCE,
    header::IF_UNMODIFIED_SINCE,
    header::IF_RANGE,
];

/// The fallback route: a static file under the site root, else the app.
pub async fn file_or_page<S>(State(state): State<S>, req: Request) -> Response
where
    S: Clone + Send + Sync + 'static,
    LeptosOptions: FromRef<S>,
{
    let options = LeptosOptions::from_ref(&state);
    let (method, uri, headers) = (req.method(), req.uri(), req.headers());
    if let Some(file) = static_file(&options, method, uri, headers).await {
        return file;
    }
    leptos_axum::file_and_error_handler::<S, _>(app::shell)(req.uri().clone(), State(state), req)
        .await
}

/// The file a request (`method`, `uri`, `headers`) names under `options`'
/// site root, with its caching headers, or None when there is no such file
/// (or the method reads no file).
pub async fn static_file(
    options: &LeptosOptions,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Option<Response> {
    if method != Method::GET && method != Method::HEAD {
        return None;
    }
    let mut probe = axum::http::Request::builder().method(method).uri(uri);
    for name in PASSED {
        if let Some(value) = headers.get(&name) {
            probe = probe.header(&name, value);
        }
    }
    let probe = probe.body(Body::empty()).ok()?;
    let res = ServeDir::new(Path::new(&*options.site_root))
        .precompressed_br()
        .precompressed_gzip()
        .oneshot(probe)
        .await
        .ok()?;
    // No such file (or a directory, which it redirects): the app's page.
    // Anything else is the file's answer, a 416 or 412 included.
    let status = res.status();
    if status == StatusCode::NOT_FOUND
        || status == StatusCode::METHOD_NOT_ALLOWED
        || status.is_redirection() && status != StatusCode::NOT_MODIFIED
    {
        return None;
    }
    let mut res = res.map(Body::new);
    let cache = if is_hashed(options, uri.path()) {
        IMMUTABLE
    } else {
        REVALIDATE
    };
    let headers = res.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    // A shared cache keeps the Brotli, gzip and raw answers apart.
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    Some(res)
}

/// Whether `path` names a file cargo-leptos named by its contents:
/// `/{pkg}/{output}.{hash}.{ext}` (the hash in base64url) with hashing on.
fn is_hashed(options: &LeptosOptions, path: &str) -> bool {
    if !options.hash_files {
        return false;
    }
    let Some(name) = path
        .strip_prefix('/')
        .and_then(|p| p.strip_prefix(&*options.site_pkg_dir))
        .and_then(|p| p.strip_prefix('/'))
    else {
        return false;
    };
    let Some(rest) = name
        .strip_prefix(&*options.output_name)
        .and_then(|r| r.strip_prefix('.'))
    else {
        return false;
    };
    match rest.split_once('.') {
        Some((hash, ext)) => {
            hash.len() >= 8
                && hash
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                && !ext.is_empty()
                && !ext.contains('/')
        }
        None => false,
    }
}

/// The stylesheet's path (`/pkg/convene.{hash}.css` with hashing on), for
/// the few pages served outside Leptos; set once when the router is made.
static STYLESHEET: OnceLock<String> = OnceLock::new();

/// Where cargo-leptos writes the build's hashes: `hash.txt` beside this
/// binary, where Leptos' `HydrationScripts` and `HashedStylesheet` read them.
pub fn hashes_file(options: &LeptosOptions) -> std::io::Result<PathBuf> {
    Ok(std::env::current_exe()?.with_file_name(&*options.hash_file))
}

/// Notes the stylesheet's path for `options`: the CSS hash in
/// [`hashes_file`].
pub fn note_stylesheet(options: &LeptosOptions) {
    let hash = options
        .hash_files
        .then(|| {
            let text = std::fs::read_to_string(hashes_file(options).ok()?).ok()?;
            text.lines().find_map(|l| {
                let (kind, hash) = l.trim().split_once(':')?;
                (kind.trim() == "css").then(|| hash.trim().to_owned())
            })
        })
        .flatten();
    let name = match hash {
        Some(h) => format!("{}.{h}.css", options.output_name),
        None => format!("{}.css", options.output_name),
    };
    let _ = STYLESHEET.set(format!("/{}/{name}", options.site_pkg_dir));
}

/// The stylesheet's path ([`note_stylesheet`]).
pub fn stylesheet() -> &'static str {
    STYLESHEET.get().map_or("/pkg/convene.css", String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(root: &Path) -> LeptosOptions {
        LeptosOptions::builder()
            .output_name("convene")
            .site_root(root.display().to_string())
            .site_pkg_dir("pkg")
            .hash_files(true)
            .build()
    }

    /// `GET path` with `headers`, as [`static_file`] answers it.
    async fn get(
        o: &LeptosOptions,
        path: &str,
        headers: &[(header::HeaderName, &str)],
    ) -> Option<Response> {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(name, HeaderValue::from_str(value).unwrap());
        }
        static_file(o, &Method::GET, &path.parse().unwrap(), &map).await
    }

    async fn body(res: Response) -> Vec<u8> {
        axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec()
    }

    #[test]
    fn only_the_builds_hashed_names_are_immutable() {
        let o = options(Path::new("/site"));
        assert!(is_hashed(&o, "/pkg/convene.0a1b2c3d4e5f6a7b.wasm"));
        assert!(is_hashed(&o, "/pkg/convene.0a1b2c3d4e5f6a7b.css"));
        // cargo-leptos' hashes are base64url.
        assert!(is_hashed(&o, "/pkg/convene.7OG-aS2EGe-iDHzdOrGITA.css"));
        for path in [
            "/pkg/convene.wasm",
            "/pkg/convene.css",
            "/pkg/other.0a1b2c3d4e5f6a7b.wasm",
            "/pkg/convene.short.js",
            "/pkg/convene.0a1b2c3d4e5f6a7b",
            "/pkg/convene.0a1b2c3d4e5f6a7b./x",
            "/favicon.svg",
            "/embed.js",
            "/other/convene.0a1b2c3d4e5f6a7b.wasm",
        ] {
            assert!(!is_hashed(&o, path), "{path}");
        }
        let mut unhashed = o;
        unhashed.hash_files = false;
        assert!(!is_hashed(&unhashed, "/pkg/convene.0a1b2c3d4e5f6a7b.wasm"));
    }

    #[tokio::test]
    async fn files_go_out_precompressed_cached_by_their_names_and_revalidated() {
        let root = std::env::temp_dir().join(format!("convene-site-{}", std::process::id()));
        std::fs::create_dir_all(root.join("pkg")).unwrap();
        let wasm = "/pkg/convene.0a1b2c3d4e5f6a7b.wasm";
        std::fs::write(root.join(&wasm[1..]), b"raw wasm").unwrap();
        std::fs::write(root.join(format!("{}.br", &wasm[1..])), b"brotli wasm").unwrap();
        std::fs::write(root.join(format!("{}.gz", &wasm[1..])), b"gzip wasm").unwrap();
        std::fs::write(root.join("favicon.svg"), b"<svg/>").unwrap();
        let o = options(&root);

        // The encoding the browser prefers among those built, else the file.
        let res = get(&o, wasm, &[(header::ACCEPT_ENCODING, "gzip, br")])
            .await
            .expect("found");
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()[header::CONTENT_ENCODING], "br");
        assert_eq!(res.headers()[header::CACHE_CONTROL], IMMUTABLE);
        assert_eq!(res.headers()[header::CONTENT_TYPE], "application/wasm");
        assert_eq!(res.headers()[header::VARY], "accept-encoding");
        assert_eq!(body(res).await, b"brotli wasm");
        let res = get(&o, wasm, &[(header::ACCEPT_ENCODING, "gzip")])
            .await
            .expect("found");
        assert_eq!(res.headers()[header::CONTENT_ENCODING], "gzip");
        assert_eq!(body(res).await, b"gzip wasm");
        let res = get(&o, wasm, &[]).await.expect("found");
        assert!(res.headers().get(header::CONTENT_ENCODING).is_none());
        assert_eq!(body(res).await, b"raw wasm");

        // A file with a fixed name is revalidated: unchanged, a 304.
        let res = get(&o, "/favicon.svg", &[]).await.expect("found");
        assert_eq!(res.headers()[header::CACHE_CONTROL], REVALIDATE);
        let modified = res.headers()[header::LAST_MODIFIED]
            .to_str()
            .unwrap()
            .to_owned();
        let res = get(
            &o,
            "/favicon.svg",
            &[(header::IF_MODIFIED_SINCE, &modified)],
        )
        .await
        .expect("found");
        assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
        assert!(body(res).await.is_empty());

        // Ranges of a file are the file's answers, a bad one too.
        let res = get(&o, wasm, &[(header::RANGE, "bytes=0-2")])
            .await
            .expect("found");
        assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(body(res).await, b"raw");
        let res = get(&o, wasm, &[(header::RANGE, "bytes=100-200")])
            .await
            .expect("found");
        assert_eq!(res.status(), StatusCode::RANGE_NOT_SATISFIABLE);

        // No such file, a way out of the root, or a write: the app answers.
        for path in ["/pkg/convene.wasm", "/e/demo", "/../../etc/passwd", "/pkg"] {
            assert!(get(&o, path, &[]).await.is_none(), "{path}");
        }
        let (uri, none) = (wasm.parse().unwrap(), HeaderMap::new());
        assert!(static_file(&o, &Method::POST, &uri, &none).await.is_none());
        let _ = std::fs::remove_dir_all(&root);
    }
}
