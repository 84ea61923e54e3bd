use crate::helpers::{client, spawn_web_only};

#[tokio::test]
async fn healthz_and_readyz_report_every_dependency() {
    let app = spawn_web_only().await;
    let c = client();
    let res = c.get(format!("{}/healthz", app.base)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "ok");
    let res = c.get(format!("{}/readyz", app.base)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["database"], "ok");
    assert_eq!(body["redis"], "ok");
    assert_eq!(body["bus"], "ok");
    assert_eq!(body["bus_kind"], "kafka");
    assert_eq!(body["degraded"], false);
}

#[tokio::test]
async fn unknown_pages_are_404_and_security_headers_are_set() {
    let app = spawn_web_only().await;
    let res = client()
        .get(format!("{}/no/such/page", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    let policies = policies(&res);
    assert!(
        policies.contains(&"frame-ancestors 'none'".to_owned()),
        "{policies:?}"
    );
}

/// The response's Content-Security-Policy headers (each enforced).
fn policies(res: &reqwest::Response) -> Vec<String> {
    res.headers()
        .get_all("content-security-policy")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn pages_allow_only_their_own_and_nonced_scripts() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let res = client()
        .get(format!("{}/e/{slug}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let all = policies(&res);
    let page = all
        .iter()
        .find(|p| p.contains("script-src"))
        .unwrap_or_else(|| panic!("no script policy: {all:?}"));
    let nonce = page
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a nonce");
    assert!(nonce.len() >= 16, "{nonce}");
    assert!(
        page.contains("object-src 'none'") && page.contains("base-uri 'none'"),
        "{page}"
    );
    assert!(
        !page.contains("script-src 'self' 'unsafe-inline'"),
        "{page}"
    );
    let html = res.text().await.unwrap();
    // Every inline script carries this response's nonce; scripts with a src are this site's.
    let mut inline = 0;
    for tag in html.split("<script").skip(1) {
        let tag = &tag[..tag.find('>').unwrap()];
        if tag.contains("src=") {
            assert!(tag.contains("src=\"/"), "a script from elsewhere: {tag}");
        } else {
            inline += 1;
            assert!(
                tag.contains(&format!("nonce=\"{nonce}\"")),
                "inline script without the nonce: {tag}"
            );
        }
    }
    assert!(inline > 0, "the hydration script is inline");
    // Another response, another nonce.
    let again = client()
        .get(format!("{}/e/{slug}", app.base))
        .send()
        .await
        .unwrap();
    assert!(!policies_of(&again).contains(nonce));
    assert!(policies(&again).contains(&"frame-ancestors 'none'".to_owned()));
}

fn policies_of(res: &reqwest::Response) -> String {
    policies(res).join("; ")
}
