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
    assert_eq!(
        res.headers()["content-security-policy"],
        "frame-ancestors 'none'"
    );
}
