//! Tests of the pages, through the whole router.

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::Error;
use crate::http::AppState;
use crate::http::tests::{respond, secured, secured_with, send};
use crate::http::{HttpConfig, router};
use crate::model::{Kind, date_format};
use crate::search;

use super::layout::field_error;
use super::*;

/// Signs in with `key` through the form and answers the session cookie it set.
async fn sign_in_cookie(app: &Router, key: &str) -> String {
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("key", key).append_pair("next", "/");
    let response = app
        .clone()
        .oneshot(
            Request::builder()
                .method(Method::POST)
                .uri("/sign-in")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(form.finish()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "signed in");
    let cookie = response.headers()[header::SET_COOKIE].to_str().unwrap();
    cookie.split(';').next().unwrap().to_string()
}

async fn with_cookie(
    app: &Router,
    method: Method,
    uri: &str,
    key: &str,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let session = sign_in_cookie(app, key).await;
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::COOKIE, format!("theme=dark; {session}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            "{\"id\":\"m-new\",\"name\":\"New\",\"department\":\"Dstl\"}",
        ))
        .unwrap();
    respond(app, request).await
}

#[tokio::test]
async fn pages_need_signing_in_and_the_cookie_only_reads() {
    let s = secured(None);
    let (status, headers, _) = send(&s.app, Method::GET, "/?q=bayesian", None, "").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        headers[header::LOCATION],
        "/sign-in?next=%2F%3Fq%3Dbayesian"
    );
    let (status, _, _) = send(&s.app, Method::GET, "/assets/muster.js", None, "").await;
    assert_eq!(status, StatusCode::OK, "assets are public");
    let (status, _, page) = with_cookie(&s.app, Method::GET, "/?q=bayesian", &s.reader).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Erin Expert"), "{page}");
    assert!(
        !page.contains("Local demo mode"),
        "no demo banner with tokens"
    );
    let (status, _, _) = with_cookie(&s.app, Method::GET, "/v1/experts", &s.reader).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the page's own API calls read with the cookie"
    );
    // a cookie never authorises a write, whoever it belongs to
    let (status, _, _) = with_cookie(&s.app, Method::PUT, "/v1/experts/m-new", &s.editor).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = with_cookie(&s.app, Method::GET, "/people/m-secret", &s.reader).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, page) =
        with_cookie(&s.app, Method::GET, "/people/m-secret", &s.sensitive_reader).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Sam Sensitive"));
    let (status, _, page) = with_cookie(&s.app, Method::GET, "/case-studies/cs-1", &s.reader).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Volcanic ash dispersion forecasting"));
    let (status, _, _) = with_cookie(&s.app, Method::GET, "/facilities/f-secret", &s.reader).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, page) = with_cookie(
        &s.app,
        Method::GET,
        "/facilities/f-secret",
        &s.sensitive_reader,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Quiet Harbour blast chamber"));
}

#[tokio::test]
async fn signing_in_keeps_the_session_at_the_server_and_only_returns_to_this_site() {
    let s = secured(None);
    let form = |key: &str, next: &str| {
        let mut f = form_urlencoded::Serializer::new(String::new());
        f.append_pair("key", key).append_pair("next", next);
        f.finish()
    };
    let post = |body: String| {
        let app = s.app.clone();
        async move {
            app.oneshot(
                Request::builder()
                    .method(Method::POST)
                    .uri("/sign-in")
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from(body))
                    .unwrap(),
            )
            .await
            .unwrap()
        }
    };
    let response = post(form(&s.reader, "/muster")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[header::LOCATION], "/muster");
    let cookie = response.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    // an opaque session id, never the key, and nothing a script can read
    assert!(
        cookie.starts_with(&format!("{SESSION_COOKIE}=")),
        "{cookie}"
    );
    let secret = s.reader.rsplit('_').next().unwrap();
    assert!(
        !cookie.contains(secret) && !cookie.contains(&s.reader),
        "{cookie}"
    );
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP on loopback: {cookie}"
    );
    let session = cookie.split(';').next().unwrap().to_string();
    let page = |cookie: String, proto: Option<&'static str>| {
        let app = s.app.clone();
        async move {
            let mut request = Request::builder()
                .uri("/?q=bayesian")
                .header(header::COOKIE, cookie);
            if let Some(proto) = proto {
                request = request.header("x-forwarded-proto", proto);
            }
            app.oneshot(request.body(Body::empty()).unwrap())
                .await
                .unwrap()
        }
    };
    assert_eq!(page(session.clone(), None).await.status(), StatusCode::OK);
    // behind a proxy that says the request came over TLS, the cookie is Secure
    let tls = s
        .app
        .clone()
        .oneshot(
            Request::builder()
                .method(Method::POST)
                .uri("/sign-in")
                .header("x-forwarded-proto", "https")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(form(&s.reader, "/")))
                .unwrap(),
        )
        .await
        .unwrap();
    let tls_cookie = tls.headers()[header::SET_COOKIE].to_str().unwrap();
    assert!(tls_cookie.contains("Secure"), "{tls_cookie}");
    // signing out ends the session at the server: the old cookie no longer reads
    let out = s
        .app
        .clone()
        .oneshot(
            Request::builder()
                .method(Method::POST)
                .uri("/sign-out")
                .header(header::COOKIE, session.clone())
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        page(session, None).await.status(),
        StatusCode::SEE_OTHER,
        "sent to sign in"
    );
    // a made-up session id or the key itself as the cookie is no session
    for forged in [
        format!("{SESSION_COOKIE}={}", s.reader),
        format!("{SESSION_COOKIE}=abc"),
    ] {
        assert_eq!(
            page(forged, Some("https")).await.status(),
            StatusCode::SEE_OTHER
        );
    }
    let response = post(form(&s.reader, "//evil.example/")).await;
    assert_eq!(response.headers()[header::LOCATION], "/");
    let response = post(form("mst_nope_nope", "/")).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().get(header::SET_COOKIE).is_none());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert!(String::from_utf8_lossy(&body).contains("govuk-error-summary"));
}

#[tokio::test]
async fn every_value_from_records_is_escaped() {
    let hostile = crate::ingest::parse_json_line(
            Kind::Member,
            r#"{"id":"m-x","name":"<script>alert(1)</script>","department":"Dstl","role":"<b>boss</b>","summary":"Bayesian <img src=x onerror=alert(2)> work","skills":[{"name":"Bayesian statistics","level":3}]}"#,
        )
        .unwrap()
        .record;
    let s = secured_with(&[hostile], None);
    for uri in [
        "/?q=bayesian",
        "/people/m-x",
        "/muster?skills=bayesian+statistics",
    ] {
        let (status, _, page) = with_cookie(&s.app, Method::GET, uri, &s.reader).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert!(!page.contains("<script>alert"), "{uri}");
        assert!(!page.contains("<img src=x"), "{uri}");
        assert!(!page.contains("<b>boss"), "{uri}");
        assert!(
            page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{uri}"
        );
    }
}

/// A server holding the records given as (kind, JSON line).
fn secured_lines(lines: &[(Kind, &str)]) -> crate::http::tests::Secured {
    let records: Vec<crate::model::Record> = lines
        .iter()
        .map(|(kind, line)| crate::ingest::parse_json_line(*kind, line).unwrap().record)
        .collect();
    secured_with(&records, None)
}

/// The page at `uri` as a signed-in reader sees it.
async fn reader_page(s: &crate::http::tests::Secured, uri: &str) -> String {
    with_cookie(&s.app, Method::GET, uri, &s.reader).await.2
}

#[tokio::test]
async fn every_department_can_be_chosen_not_only_the_commonest() {
    let departments = [
        "Dstl",
        "UKHSA",
        "MOD",
        "DSIT",
        "DHSC",
        "Defra",
        "Met Office",
        "UKRI",
        "APHA",
        "DfT",
        "ONS",
        "NPL",
        "EA",
        "UKHO",
    ];
    // the commonest first: the first department has the most people, UKHO the fewest
    let mut lines = Vec::new();
    for (i, department) in departments.iter().enumerate() {
        for n in 0..(departments.len() - i) {
            lines.push(format!(
                    r#"{{"id":"m-{i}-{n}","name":"Person {i} {n}","department":"{department}","availability":"now"}}"#
                ));
        }
    }
    let records: Vec<crate::model::Record> = lines
        .iter()
        .map(|line| {
            crate::ingest::parse_json_line(Kind::Member, line)
                .unwrap()
                .record
        })
        .collect();
    let s = secured_with(&records, None);
    let (_, _, page) = with_cookie(&s.app, Method::GET, "/", &s.reader).await;
    let details = page
        .find("govuk-details__summary")
        .expect("a Show all control");
    assert!(page[details..].contains("Show all 14 (2 more)"), "{page}");
    for department in ["EA", "UKHO"] {
        let checkbox = format!(r#"name="department" type="checkbox" value="{department}""#);
        let at = page
            .find(&checkbox)
            .unwrap_or_else(|| panic!("{department}: {page}"));
        assert!(at > details, "{department} is behind Show all");
    }
    let dstl = page.find(r#"value="Dstl""#).unwrap();
    assert!(dstl < details, "the commonest are in view");
    // choosing one from behind Show all keeps it in view, ticked
    let (_, _, page) = with_cookie(&s.app, Method::GET, "/?department=UKHO", &s.reader).await;
    assert!(page.contains(r#"value="UKHO" checked"#), "{page}");
}

#[tokio::test]
async fn someone_in_the_team_can_be_left_out_without_typing_an_id() {
    let s = crate::http::tests::secured(None);
    let ask = "/muster?skills=bayesian+statistics&team_size=1";
    let (_, _, page) = with_cookie(&s.app, Method::GET, ask, &s.reader).await;
    assert!(page.contains("Erin Expert"), "{page}");
    let link = page
        .split("href=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().replace("&amp;", "&"))
        .find(|href| href.contains("exclude="))
        .unwrap_or_else(|| panic!("no Leave out link: {page}"));
    assert!(link.contains("exclude=Erin+Expert+%28m-exp%29"), "{link}");
    let (status, _, again) = with_cookie(&s.app, Method::GET, &link, &s.reader).await;
    assert_eq!(status, StatusCode::OK);
    let team =
        &again[again.find("muster-results").unwrap()..again.find("Change the request").unwrap()];
    assert!(!team.contains("Erin Expert"), "{team}");
    assert!(team.contains("Pat Practitioner"), "{team}");
    // the field offers the people of the answer as you type, and takes a plain name
    assert!(
        again.contains(r#"<option value="Pat Practitioner (m-pra)">"#),
        "{again}"
    );
    let by_name =
        "/muster?skills=bayesian+statistics&team_size=1&exclude=erin+expert%2C+Pat+Practitioner";
    let (_, _, page) = with_cookie(&s.app, Method::GET, by_name, &s.reader).await;
    let team =
        &page[page.find("muster-results").unwrap()..page.find("Change the request").unwrap()];
    assert!(
        !team.contains("Erin Expert") && !team.contains("Pat Practitioner"),
        "{team}"
    );
    // a name that matches no one is an error, never silently ignored; nor does a hidden
    // person's name count
    for unknown in ["Nobody+Known", "Sam+Sensitive"] {
        let uri = format!("/muster?skills=bayesian+statistics&exclude={unknown}");
        let (status, _, page) = with_cookie(&s.app, Method::GET, &uri, &s.reader).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
        assert!(page.contains("no one called"), "{page}");
    }
}

#[test]
fn messages_on_pages_quote_values_as_people_do() {
    let error = Error::InvalidField {
        field: "within_km".into(),
        reason: "`ten` is not a number".into(),
    };
    let shown = field_error(&error, &["q", "within_km"]).unwrap();
    assert_eq!(shown.id, "within_km");
    assert_eq!(shown.message, "Within km: “ten” is not a number");
}

#[tokio::test]
async fn pages_show_clearances_only_with_the_vetting_permission() {
    let s = crate::http::tests::secured(None);
    for (token, vetted) in [(&s.reader, true), (&s.unvetted, false)] {
        let app = &s.app;
        let page =
            |uri: &'static str| async move { with_cookie(app, Method::GET, uri, token).await.2 };
        let results = page("/?q=statistics").await;
        assert!(results.contains("Erin Expert"), "{results}");
        assert_eq!(results.contains("SC, review due"), vetted, "{results}");
        assert_eq!(results.contains(r#"id="clearance""#), vetted, "the filter");
        let person = page("/people/m-exp").await;
        assert!(person.contains("Erin Expert"), "{person}");
        assert_eq!(person.contains("Security clearance"), vetted, "{person}");
        let form = page("/muster").await;
        assert_eq!(form.contains(r#"id="clearance""#), vetted, "{form}");
        let team = page("/muster?skills=bayesian+statistics&team_size=2").await;
        assert!(team.contains("Erin Expert"), "{team}");
        assert_eq!(team.contains("SC cleared"), vetted, "{team}");
        let sheet = page("/muster.csv?skills=bayesian+statistics&team_size=2").await;
        assert_eq!(sheet.contains("SC, review due"), vetted, "{sheet}");
        // facilities' access clearance is no one's secret
        let labs = page("/?kind=facilities&q=containment").await;
        assert!(labs.contains(r#"id="clearance""#), "{labs}");
    }
    let (status, _, refused) = with_cookie(
        &s.app,
        Method::GET,
        "/muster?skills=bayesian+statistics&clearance=SC",
        &s.unvetted,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert!(refused.contains("vetting permission"), "{refused}");
}

#[tokio::test]
async fn pages_audit_searches_records_opened_and_musters() {
    let s = crate::http::tests::secured(None);
    let last = || -> crate::audit::AuditEntry {
        let log = std::fs::read_to_string(&s.audit).unwrap();
        serde_json::from_str(log.lines().last().unwrap()).unwrap()
    };
    let results = reader_page(&s, "/?q=statistics").await;
    assert!(results.contains("Erin Expert"), "{results}");
    let search = last();
    assert_eq!(
        (search.subject.as_str(), search.action.as_str()),
        ("reader@dstl", "GET /?q=statistics")
    );
    assert!(
        search.ids.contains(&"m-exp".to_string()),
        "{:?}",
        search.ids
    );
    reader_page(&s, "/people/m-exp").await;
    assert_eq!(
        (last().action, last().ids),
        ("GET /people/m-exp".into(), vec!["m-exp".into()])
    );
    reader_page(&s, "/muster?skills=Bayesian+statistics&size=2").await;
    let muster = last();
    assert!(
        muster.action.starts_with("GET /muster?"),
        "{}",
        muster.action
    );
    assert!(!muster.ids.is_empty());
}

#[tokio::test]
async fn dates_read_as_words_and_an_old_profile_says_so() {
    let today = search::today();
    let recent = date_format::format(today - time::Duration::days(30));
    let fresh = format!(
        r#"{{"id":"m-fresh","name":"Fay Fresh","department":"Dstl","availability":"now","updated":"{recent}"}}"#
    );
    let last_year = date_format::format(today - time::Duration::days(400));
    let stale = format!(
        r#"{{"id":"m-stale","name":"Sam Stale","department":"Dstl","availability":"now","updated":"{last_year}"}}"#
    );
    let s = secured_lines(&[
        (
            Kind::Member,
            r#"{"id":"m-old","name":"Olu Old","department":"Dstl","availability":"now","updated":"2020-01-05","skills":[{"name":"Virology","level":4,"assessed":"2021-03-02"}]}"#,
        ),
        (Kind::Member, fresh.as_str()),
        (Kind::Member, stale.as_str()),
        (
            Kind::CaseStudy,
            r#"{"id":"cs-dated","title":"Measles modelling","date":"2020-09-26","authors":["m-old"]}"#,
        ),
    ]);
    let page = |uri: &'static str| reader_page(&s, uri);
    let old = page("/people/m-old").await;
    assert!(old.contains("Last updated"), "{old}");
    assert!(old.contains("Not updated for over a year"), "{old}");
    assert!(old.contains("5 January 2020"), "{old}");
    assert!(old.contains("2 March 2021"), "{old}");
    assert!(!old.contains("2021-03-02"), "{old}");
    let fresh = page("/people/m-fresh").await;
    assert!(fresh.contains("Last updated"), "{fresh}");
    assert!(!fresh.contains("Not updated for over a year"), "{fresh}");
    let stale = page("/people/m-stale").await;
    assert!(stale.contains("Not updated for over a year"), "{stale}");
    assert!(fresh.contains("No case studies recorded."), "{fresh}");
    let case_study = page("/case-studies/cs-dated").await;
    assert!(case_study.contains("26 September 2020"), "{case_study}");
    assert!(!case_study.contains("2020-09-26"), "{case_study}");
}

#[tokio::test]
async fn a_lapsed_clearance_and_a_closed_facility_say_so_on_the_pages() {
    let s = secured_lines(&[
        (
            Kind::Member,
            r#"{"id":"m-lapsed","name":"Lou Lapsed","department":"Dstl","clearance":"DV","clearance_review_due":"2024-03-14","availability":"now","skills":[{"name":"Virology","level":4}],"email":"lou@dstl.gov.uk","phone":"07700 900123"}"#,
        ),
        (
            Kind::Facility,
            r#"{"id":"f-shut","name":"Old tokamak","department":"UKAEA","capabilities":["plasma physics"],"status":"closed","contacts":["m-lapsed"]}"#,
        ),
    ]);
    let page = |uri: &'static str| reader_page(&s, uri);
    let person = page("/people/m-lapsed").await;
    assert!(
        person.contains("DV - lapsed, review was due 14 March 2024"),
        "{person}"
    );
    let results = page("/?q=virology").await;
    assert!(
        results.contains("DV - lapsed, review was due 14 March 2024"),
        "{results}"
    );
    let facility = page("/facilities/f-shut").await;
    assert!(
        facility.contains("closed: not available for use"),
        "{facility}"
    );
    assert!(
        facility.contains("Lou Lapsed") && facility.contains("07700 900123"),
        "{facility}"
    );
    // nothing found: a correction offered as a link to its search
    let misspelt = page("/?q=virolgist").await;
    let offered = misspelt
        .split("id=\"did-you-mean\"")
        .nth(1)
        .unwrap_or_else(|| panic!("no correction offered: {misspelt}"));
    assert!(offered.contains("virology"), "{offered}");
    // a skill nobody holds: the nearest broader one offered as a link, the filter kept
    let narrow = page("/?skill=Aerosol+microbiology").await;
    assert!(narrow.contains("0 people found"), "{narrow}");
    let offered = narrow
        .split("id=\"broader-skill\"")
        .nth(1)
        .unwrap_or_else(|| panic!("no broader skill offered: {narrow}"));
    let link = offered.split("href=\"").nth(1).unwrap_or_default();
    let link = link
        .split('"')
        .next()
        .unwrap_or_default()
        .replace("&amp;", "&");
    assert!(offered.contains(">Microbiology</a>"), "{offered}");
    assert!(!link.contains("Aerosol"), "{link}");
    let broader = reader_page(&s, &link).await;
    assert!(!broader.contains("0 people found"), "{broader}");
    let open_search = page("/?kind=facilities&q=plasma").await;
    assert!(
        !open_search.contains("Old tokamak"),
        "a closed lab is not listed by default"
    );
    let asked = page("/?kind=facilities&q=plasma&status=closed").await;
    assert!(asked.contains("Old tokamak"), "{asked}");
}

#[tokio::test]
async fn the_forms_empty_fields_mean_no_filter() {
    let app =
        router(AppState::new(crate::search::tests::small_index(), HttpConfig::default()).unwrap());
    let (status, _, page) = send(
        &app,
        Method::GET,
        "/?q=&skill=&department=&clearance=&availability=&near=&within_km=",
        None,
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(!page.contains("govuk-error-summary"), "{page}");
    assert!(
        page.contains("Erin Expert"),
        "every visible member is listed"
    );
}

#[tokio::test]
async fn demo_mode_says_so_and_bad_filters_get_an_error_summary() {
    let app =
        router(AppState::new(crate::search::tests::small_index(), HttpConfig::default()).unwrap());
    let (status, headers, page) = send(&app, Method::GET, "/?q=bayes&min_level=3", None, "").await;
    assert!(page.contains("Local demo mode"));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("govuk-error-summary"));
    assert!(
        page.contains("href=\"#min_level\""),
        "the summary links to the field"
    );
    assert!(page.contains("<title>Error: "));
    assert!(
        headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("default-src 'self'")
    );
}

#[tokio::test]
async fn a_person_s_page_links_each_case_study_they_wrote_by_its_id() {
    let s = crate::http::tests::secured(None);
    let person = reader_page(&s, "/people/m-author").await;
    assert!(
        person.contains(r#"<a class="govuk-link" href="/case-studies/cs-2">"#),
        "{person}"
    );
}
