//! Attendees' photos: upload (re-encoded), who may see them, refusals that
//! keep what was stored, removal.

use std::io::Cursor;

use reqwest::multipart::{Form, Part};
use serde_json::Value;

use crate::attendees::{person, Person};
use crate::helpers::{client, fns, spawn_web_only, TestApp};

/// A `w`×`h` PNG.
fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(w, h, image::Rgb([10, 120, 90]));
    let mut out = Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

/// Posts `bytes` as the photo; the redirect's target.
async fn upload(app: &TestApp, slug: &str, p: &Person, bytes: Vec<u8>) -> String {
    let form = Form::new().part("photo", Part::bytes(bytes).file_name("me.png"));
    let res = p
        .client
        .post(format!("{}/e/{slug}/profile/avatar", app.base))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    res.headers()["location"].to_str().unwrap().to_owned()
}

/// GET `path` on the app as `client`.
async fn get(app: &TestApp, client: &reqwest::Client, path: &str) -> reqwest::Response {
    client
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap()
}

async fn profile(app: &TestApp, slug: &str, p: &Person) -> Value {
    let (s, body) = app
        .call::<fns::MyProfile>(&p.client, &[("slug", slug)])
        .await;
    assert_eq!(s, 200, "{body}");
    body
}

#[tokio::test]
async fn a_photo_is_stored_re_encoded_and_shown_to_the_event_only() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let other_slug = app.event(&app.organiser().await).await;
    let ada = person(&app, &slug, "Ada").await;
    let bo = person(&app, &slug, "Bo").await;
    let stranger = person(&app, &other_slug, "Cy").await;
    assert!(profile(&app, &slug, &ada).await["me"]["avatar"].is_null());

    let to = upload(&app, &slug, &ada, png(900, 600)).await;
    assert_eq!(to, format!("/e/{slug}/profile?saved=photo"));
    let me = profile(&app, &slug, &ada).await;
    let version = me["me"]["avatar"].as_i64().expect("a version");
    let url = format!("/e/{slug}/avatars/{}/{version}", ada.id);

    // Others in the event see it in the people list, and can load it.
    let (s, people) = app
        .call::<fns::People>(&bo.client, &[("slug", &slug)])
        .await;
    assert_eq!(s, 200, "{people}");
    let row = people
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["person"]["name"] == "Ada")
        .unwrap();
    assert_eq!(row["person"]["avatar"], version);
    let res = get(&app, &bo.client, &url).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/jpeg");
    assert!(res.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("immutable"));
    let jpeg = res.bytes().await.unwrap();
    let back = image::load_from_memory(&jpeg).unwrap();
    assert_eq!((back.width(), back.height()), (256, 256));

    // Nobody outside the event does.
    let res = get(&app, &stranger.client, &url).await;
    assert_eq!(res.status(), 403);
    let res = get(&app, &client(), &url).await;
    assert_eq!(res.status(), 401);
    // Nor may a stranger upload into the event.
    let form = Form::new().part("photo", Part::bytes(png(10, 10)).file_name("x.png"));
    let res = client()
        .post(format!("{}/e/{slug}/profile/avatar", app.base))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    // A file that is not a picture is refused, and the photo stays.
    let to = upload(&app, &slug, &ada, b"%PDF-1.7 a document".to_vec()).await;
    assert_eq!(to, format!("/e/{slug}/profile?error=not_a_picture"));
    let to = upload(&app, &slug, &ada, Vec::new()).await;
    assert_eq!(to, format!("/e/{slug}/profile?error=missing"));
    let to = upload(
        &app,
        &slug,
        &ada,
        vec![0; protocol::error::PHOTO_MAX_BYTES + 1],
    )
    .await;
    assert_eq!(to, format!("/e/{slug}/profile?error=too_large"));
    assert_eq!(profile(&app, &slug, &ada).await["me"]["avatar"], version);

    // A new photo is a new address.
    upload(&app, &slug, &ada, png(300, 300)).await;
    let newer = profile(&app, &slug, &ada).await["me"]["avatar"]
        .as_i64()
        .unwrap();
    assert!(newer > version);

    // Removed: initials again, and the address answers 404.
    let res = ada
        .client
        .post(format!("{}/e/{slug}/profile/avatar/remove", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert!(profile(&app, &slug, &ada).await["me"]["avatar"].is_null());
    let res = get(&app, &bo.client, &url).await;
    assert_eq!(res.status(), 404);
}
