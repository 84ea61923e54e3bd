//! The embeddable registration widget: allowed sites, frame-ancestors, embed.js.

use crate::helpers::{client, fns, spawn_web_only};

#[tokio::test]
async fn only_listed_sites_may_frame_the_widget() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let widget = format!("{}/e/{slug}/widget", app.base);
    // The frame-ancestors policy (the page's own policy is another header).
    let csp = |res: &reqwest::Response| {
        res.headers()
            .get_all("content-security-policy")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .filter(|p| p.starts_with("frame-ancestors"))
            .collect::<Vec<_>>()
            .join(" | ")
    };

    let res = client().get(&widget).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(csp(&res), "frame-ancestors 'self'");
    assert!(
        res.text().await.unwrap().contains("name=\"email\""),
        "the order form is rendered"
    );

    let (s, b) = app
        .call::<fns::SetEmbedOrigins>(
            &org.client,
            &[
                ("slug", &slug),
                (
                    "origins",
                    "https://shop.example.org/\nhttp://partner.example:8080",
                ),
            ],
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let res = client().get(&widget).send().await.unwrap();
    assert_eq!(
        csp(&res),
        "frame-ancestors 'self' https://shop.example.org http://partner.example:8080"
    );
    // Other pages can never be framed.
    let res = client()
        .get(format!("{}/e/{slug}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(csp(&res), "frame-ancestors 'none'");

    // Bad input is refused and the stored list is kept.
    for bad in [
        "shop.example.org",
        "https://x.org/path",
        "https://x.org; script-src *",
    ] {
        let (s, b) = app
            .call::<fns::SetEmbedOrigins>(&org.client, &[("slug", &slug), ("origins", bad)])
            .await;
        assert_eq!(s, 400, "{bad}: {b}");
    }
    let res = client().get(&widget).send().await.unwrap();
    assert!(csp(&res).contains("https://shop.example.org"));
    // Another organisation cannot change it.
    let other = app.organiser().await;
    let (s, _) = app
        .call::<fns::SetEmbedOrigins>(
            &other.client,
            &[("slug", &slug), ("origins", "https://evil.example")],
        )
        .await;
    assert_eq!(s, 404);
}
