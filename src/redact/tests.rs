//! Each kind in its real shape, and a near miss that must survive.

use super::*;

fn red(shape: Shape, s: &str) -> (String, Counts) {
    let r = Redactor::new();
    let o = r.redact(s.as_bytes(), shape);
    (String::from_utf8_lossy(&o.bytes).into_owned(), o.counts)
}

const KEY88: &str = "q8Zk3VbN0rT5yXw2LmP9sD4fGh7JkL1aB6cE0iO3uY5tR8eW2qA4sD6fG9hJ1kL3zX5cV7bN9mQ2wE4rT6yU8a==";
const PEM: &str = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAsecretbodyAAAA\nmore+/secretline==\n-----END RSA PRIVATE KEY-----\n";

/// (text, the secret that must go, the kind counted).
fn text_cases() -> Vec<(String, &'static str, &'static str)> {
    let s = |a: &str| a.to_string();
    vec![
        (s("Authorization: Bearer abcdefghijklmnop.qrstu"), "abcdefghijklmnop", "bearer-token"),
        (s("GET / map[Authorization:[Bearer 9f8e7d6c5b4a39281716] Accept:[*/*]]"), "9f8e7d6c5b4a39281716", "bearer-token"),
        (s("map[Authorization:[sk-opaque-3c4d5e6f7a8b] Accept:[*/*]]"), "sk-opaque-3c4d5e6f7a8b", "authorization"),
        (s("Authorization: Basic dXNlcjpodW50ZXIy"), "dXNlcjpodW50ZXIy", "basic-auth"),
        (s("signed with SharedKey myaccount:ctzMq410TV3wS7upTBcunJTDLEJwMAZuFPfr0mrrA08="), "ctzMq410TV3wS7upTBcunJTDLEJwMAZuFPfr0mrrA08", "shared-key"),
        (s("Cookie: session=4f3c2b1a0e9d; csrftoken=77aa88bb99cc"), "4f3c2b1a0e9d", "cookie"),
        (s("token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4eXoifQ.c2lnbmF0dXJlX3NpZ25hdHVyZQ end"), "c2lnbmF0dXJlX3NpZ25hdHVyZQ", "jwt"),
        (s("url https://bob:hunter2secret@example.com/x"), "hunter2secret", "url-credentials"),
        (s("git clone https://abcdefghij2345672345abcdefghij234567abcdefghij2345@dev.azure.com/org/p/_git/r"), "abcdefghij2345672345abcdefghij234567abcdefghij2345", "url-credentials"),
        (s("cache redis://:r3dispw@cache.redis.cache.windows.net:6380/0"), "r3dispw", "url-credentials"),
        (s("DefaultEndpointsProtocol=https;AccountName=a;AccountKey=Zm9vYmFyYmF6cXV4;EndpointSuffix=x"), "Zm9vYmFyYmF6cXV4", "key"),
        (s("Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey=c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2Vj="), "c2VjcmV0c2VjcmV0c2VjcmV0", "key"),
        (s("Driver={ODBC Driver 18};Server=tcp:s.database.windows.net;Uid=admin;Pwd={p@ss;w0rd};"), "p@ss;w0rd", "password"),
        (s("Server=tcp:s.database.windows.net,1433;User ID=admin;Password=Sql!Passw0rd;"), "Sql!Passw0rd", "password"),
        (s("myredis.redis.cache.windows.net:6380,password=R3disK3yValue123=,ssl=True"), "R3disK3yValue123", "password"),
        (s("https://a.blob.core.windows.net/c?sv=2020-08-04&se=2026-01-01&sig=AbCdEf0123456789%2Bxyz%3D"), "AbCdEf0123456789", "signature"),
        (s("url=https%3A%2F%2Fa.blob.core.windows.net%2Fc%3Fsv%3D2020%26sig%3DAbCdEf0123456789%252Bq%26se%3D1"), "AbCdEf0123456789", "signature"),
        (format!("key1 {KEY88} end"), "q8Zk3VbN0rT5yXw2LmP9", "azure-storage-key"),
        (s("app secret Abc8Q~abcdefghijklmnopqrstuvwxyz0123456 x"), "abcdefghijklmnopqrstuvwxyz", "client-secret"),
        (s("creds AKIAIOSFODNN7EXAMPLE ok"), "AKIAIOSFODNN7EXAMPLE", "aws-access-key"),
        (s("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"), "wJalrXUtnFEMI", "secret"),
        (s("key=AIzaSyA1234567890abcdefghijklmnopqrstuv"), "AIzaSyA1234567890", "gcp-api-key"),
        (s("using ghp_abcdefghijklmnopqrstuvwxyz0123456789 now"), "ghp_abcdefghijklmnop", "github-token"),
        (s("using github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz now"), "github_pat_11ABCDEFG", "github-token"),
        (s("token glpat-abcdefghij1234567890 ok"), "glpat-abcdefghij1234567890", "gitlab-token"),
        (s("//registry.npmjs.org/:_authToken=npm_abcdefghijklmnopqrstuvwxyz0123456789"), "npm_abcdefghijklmnop", "npm-token"),
        (s("docker login -p dckr_pat_abcdefghijklmnopqrstuvwxyz0"), "dckr_pat_abcdefghijklmn", "docker-token"),
        (s("post https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"), "B00000000/XXXX", "chat-webhook"),
        (s("teams https://contoso.webhook.office.com/webhookb2/1234abcd-aaaa@tenant/IncomingWebhook/abc123/def"), "IncomingWebhook/abc123", "chat-webhook"),
        (s("slack xoxb-123456789012-1234567890123-abcdefghijklmnop"), "xoxb-123456789012", "chat-token"),
        (s("db:\n  password: pa55 w0rd\n  user: bob\n"), "pa55 w0rd", "password"),
        (s("config:\n  client_secret: s3cr3tvalue\n"), "s3cr3tvalue", "client-secret"),
        (s("tls:\n  key: |\n    -----BEGIN PRIVATE KEY-----\n    MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n    -----END PRIVATE KEY-----\n"), "MIIEvQIBADANBgkq", "private-key"),
        (s("export DB_PASSWORD=envpass123\nexport USER=bob\n"), "envpass123", "password"),
        (s("grant_type=client_credentials&client_id=abc&client_secret=Zx9~secret.value&scope=x"), "Zx9~secret.value", "client-secret"),
        (s(PEM), "secretbodyAAAA", "private-key"),
        (s("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\nQyNTUxOQAAACB"), "b3BlbnNzaC1rZXktdjEAAAAA", "private-key"),
        (s("-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n\nlQOYBF0secretpgpbody\n=AbCd\n-----END PGP PRIVATE KEY BLOCK-----"), "lQOYBF0secretpgpbody", "private-key"),
        (s("PuTTY-User-Key-File-2: ssh-rsa\nEncryption: none\nComment: rsa-key\nPublic-Lines: 1\nAAAAB3NzaC1yc2EAAAABJQ\nPrivate-Lines: 1\nAAABAQCsecretputtybody\nPrivate-MAC: 0123abcd"), "AAABAQCsecretputtybody", "private-key"),
        (s("client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlFb3dJQkFBS0NBUUVB"), "LS0tLS1CRUdJTiBSU0Eg", "private-key"),
    ]
}

#[test]
fn every_kind_in_its_real_shape_is_replaced_and_counted() {
    let mut bad = Vec::new();
    for (input, secret, kind) in text_cases() {
        let (out, c) = red(Shape::Text, &input);
        if out.contains(secret) || c.get(kind).copied().unwrap_or(0) == 0 {
            bad.push(format!("{kind}: {c:?} {out}"));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn near_misses_survive() {
    let mut bad = Vec::new();
    for s in [
        "failed to get secret: not found",
        "Bearer authentication failed for user",
        "Basic auth is disabled",
        "ssh://git@github.com/org/repo.git",
        "https://github.com/fluxcd/flux2",
        "image mcr.microsoft.com/oss/fluxcd/source-controller@sha256:4bd3a2f1e0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3",
        "secretName: tls-secret",
        "tokenPath: /var/run/secrets/token",
        "keyFile=/etc/ssl/key.pem",
        "the token bucket holds tokens=5 retries",
        "ghp_short",
        "AKIA lowercase akiaiosfodnn7example",
        "glpat-short",
        "password: \"\"",
        "password: ${DB_PASSWORD}",
        "value: $(AZURE_CLIENT_SECRET)",
        "-----BEGIN CERTIFICATE-----\nMIIDDzCCAfegAwIBAgIRAKx\n-----END CERTIFICATE-----",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl user@host",
        "eyJhbGciOiJIUzI1NiJ9 alone",
        "resourceVersion=123456789 uid=6f1c2a3b-1d2e-4f50-9a8b-7c6d5e4f3a2b",
        "signal: killed",
        "monkey=banana",
    ] {
        let (out, c) = red(Shape::Text, s);
        if out != s {
            bad.push(format!("{out} {c:?}"));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn json_by_structure_keeps_every_other_byte() {
    let ca = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUREekNDQWZlZ0F3SUJBZ0lSQU".repeat(30);
    let doc = format!(
        r#"{{
    "apiVersion": "v1",
    "data": {{
        "config.yaml": "server:\n  secret: yamlsecret1\n  client_secret: yamlsecret2\nlog: info\n",
        "settings.json": "{{\"auths\":{{\"r.io\":{{\"auth\":\"dXNlcjpwYXNzd29yZA==\"}}}}}}",
        "msg": "{{\"Message\":\"client_secret=jsonsecret3&grant_type=client_credentials\"}}",
        "caBundle": "{ca}",
        "DB_PASSWORD": "keysecret4"
    }},
    "spec": {{"containers": [{{"env": [{{"name": "AZURE_CLIENT_SECRET", "value": "envsecret5"}}, {{"name": "LOG_LEVEL", "value": "debug"}}]}}]}},
    "metadata": {{"uid": "6f1c2a3b-1d2e-4f50-9a8b-7c6d5e4f3a2b", "resourceVersion": "123456789", "secretName": "tls"}}
}}"#
    );
    let (out, c) = red(Shape::Json, &doc);
    for s in [
        "yamlsecret1",
        "yamlsecret2",
        "dXNlcjpwYXNzd29yZA",
        "jsonsecret3",
        "keysecret4",
        "envsecret5",
    ] {
        assert!(!out.contains(s), "{s} survived: {out}");
    }
    let v: serde_json::Value = match serde_json::from_str(&out) {
        Ok(v) => v,
        Err(e) => panic!("not JSON any more: {e}\n{out}"),
    };
    assert_eq!(v["data"]["caBundle"], ca.as_str());
    assert_eq!(v["spec"]["containers"][0]["env"][1]["value"], "debug");
    assert!(out.contains(r#""uid": "6f1c2a3b-1d2e-4f50-9a8b-7c6d5e4f3a2b""#));
    assert!(out.contains(r#""secretName": "tls""#));
    assert!(out.contains("log: info"), "{out}");
    assert!(c.values().sum::<u64>() >= 6, "{c:?}");
}

#[test]
fn ordinary_json_is_byte_identical() {
    let doc = r#"{"metadata": {"uid": "6f1c2a3b", "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"kind\":\"Pod\",\"spec\":{\"tokenPath\":\"/x\"}}"}},
        "image": "mcr.microsoft.com/x@sha256:4bd3a2f1e0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3",
        "automountServiceAccountToken": true, "secretName": "tls", "key": "app", "msg": "failed to get secret: not found \u003cnil\u003e"}"#;
    let (out, c) = red(Shape::Json, doc);
    assert_eq!(out, doc, "{c:?}");
}

#[test]
fn equal_secrets_get_equal_tokens_and_the_token_says_nothing() {
    let r = Redactor::new();
    let a = r.redact(b"password=samevalue1 token=othervalue2", Shape::Text);
    let b = r.redact(br#"{"password": "samevalue1"}"#, Shape::Json);
    let a = String::from_utf8_lossy(&a.bytes).into_owned();
    let b = String::from_utf8_lossy(&b.bytes).into_owned();
    assert_eq!(a, "password=[redacted:password:1] token=[redacted:token:2]");
    assert_eq!(b, r#"{"password": "[redacted:password:1]"}"#);
}

#[test]
fn logs_json_lines_by_decoded_values() {
    let log = "2026-12-04T10:00:00Z plain line password=plainpw1\n{\"level\":\"info\",\"msg\":\"config:\\n  secret: jsonlinesecret\\n\"}\n{\"msg\":\"ok\"}\n";
    let (out, c) = red(Shape::Log, log);
    assert!(!out.contains("plainpw1") && !out.contains("jsonlinesecret"), "{out}");
    assert!(out.ends_with("{\"msg\":\"ok\"}\n"));
    assert_eq!(c.values().sum::<u64>(), 2, "{c:?}");
}

#[test]
fn bad_json_is_redacted_as_text_and_said_so() {
    let deep = format!("{}\"password\": \"deepsecret\"{}", "[".repeat(600), "]".repeat(600));
    for doc in [deep.as_str(), "{\"password\": \"truncatedsecret\", \"x\": [1, 2"] {
        let o = Redactor::new().redact(doc.as_bytes(), Shape::Json);
        let out = String::from_utf8_lossy(&o.bytes);
        assert!(o.as_text);
        assert!(!out.contains("deepsecret") && !out.contains("truncatedsecret"), "{out}");
    }
}

#[test]
fn catalog_compiles() {
    assert_eq!(catalog::CATALOG.regexes.len(), catalog::FORMATS.len());
    assert!(catalog::FORMATS.len() < catalog::KV);
}

#[test]
fn a_value_too_deep_to_read_is_redacted_as_text_and_counted() {
    // JSON in a string in a string ... deeper than MAX_DEPTH: the innermost is read as text.
    let mut inner = r#"{"password": "innermostsecret"}"#.to_string();
    for _ in 0..(MAX_DEPTH + 2) {
        inner = serde_json::json!({ "v": inner }).to_string();
    }
    let doc = serde_json::json!({ "data": inner }).to_string();
    let o = Redactor::new().redact(doc.as_bytes(), Shape::Json);
    let out = String::from_utf8_lossy(&o.bytes);
    assert!(!out.contains("innermostsecret"), "{out}");
    assert!(o.as_text && o.as_text_values >= 1, "{o:?}");
    assert!(serde_json::from_str::<serde_json::Value>(&out).is_ok());
}
