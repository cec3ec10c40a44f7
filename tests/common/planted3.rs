//! A third planted-secret corpus, independent of the first two (tests/common/planted.rs,
//! tests/common/planted2.rs): what a real Azure Arc / AKS cluster's kubectl JSON, `az` JSON and
//! container logs hold, in encodings a pattern list does not expect. Secrets split by JSON
//! escapes (`\u0041` for a letter, `\/` for a slash, an escaped key), SAS tokens in every
//! spelling (`&amp;`, `\u0026`, URL-encoded once and twice, `sig` first, a relay
//! `SharedAccessSignature`), YAML flow mappings, single-quoted scalars with `''`, plain scalars
//! over two lines, anchors and tags before a value, `\x` escapes, folded scalars, CRLF, tabs,
//! a UTF-8 BOM; credential keys in every casing and separator (`PassWord`, `pass_word`,
//! `PASS.WORD`, `password1`, `token_2`, `X-Ms-Encryption-Key`, `X-Api-Key`); Events,
//! `status.conditions[].message`, Flux, OSM (zerolog), AMA (fluent-bit, `set -x`) and Arc agent
//! logs in their formats; `az --debug` argument lists on stderr; HelmRelease values, OCI
//! HelmRepository URLs, Kustomization substitutions; MSI answers, MSAL token caches, AAD tokens
//! that start `eyJ0eXAi`, padded JWTs, JWT cookies, the Kubernetes WebSocket bearer
//! subprotocol; private keys with CRLF, as JSON `\r\n` escapes, as a JSON array of lines, as a
//! YAML double-quoted scalar; `.dockerconfigjson` inside last-applied; PFX passwords; HTML-escaped
//! JSON in an Event, a pretty JSON dump over several log lines, PowerShell `ConvertTo-SecureString`
//! and `$env:` lines, a Kusto `Application Key=`, Python's `send: b'...'` debug output.
//! Ordinary values beside them: GUIDs, resource ids, digests, etags, certificates, public keys,
//! file paths under credential-named flags and keys, secret *references* and words.
//!
//! Same types and checks as the other corpora; every value is generated from a seed of its own.
//! A needle is what must not come out: the secret as its JSON/YAML string decodes where it is
//! escaped (the checks decode JSON strings), or the literal run after the last escape where
//! nothing decodes it.

use super::planted::{
    certificate, compact, go_escape, openssh_key, pem_eol, Items, NeedleCheck, Ordinaries, Ordinary, Place, Planted,
    Rng, AAD, B64URL, EC_DER_PREFIX, RSA_DER_PREFIX,
};
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::json;

/// Every ASCII upper-case letter of `s` as a JSON `\u00XX` escape.
fn u_escape_upper(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_uppercase() {
                format!("\\u{:04x}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn aad_secret(g: &mut Rng) -> String {
    format!("{}{}Q~{}", g.alnum(3), g.from("0123456789", 1), g.from(AAD, 34))
}

/// A SAS signature as it stands in a URL: base64 of 32 bytes, percent-encoded; always holds
/// at least one `%2B` or `%2F` so a double encoding changes it.
fn sas_sig(g: &mut Rng) -> String {
    loop {
        let b = g.b64(32);
        if b.contains('+') || b.contains('/') {
            return b.replace('+', "%2B").replace('/', "%2F").replace('=', "%3D");
        }
    }
}

/// A base64 key that holds a `/` (to be split by `\/`).
fn b64_with_slash(g: &mut Rng, n: usize) -> String {
    loop {
        let k = g.b64(n);
        if k.matches('/').count() >= 2 {
            return k;
        }
    }
}

/// An AAD access token as Azure issues it: header `{"typ":"JWT","alg":"RS256","x5t":...}`,
/// so it starts `eyJ0eXAi`.
fn aad_jwt(g: &mut Rng, pad: bool) -> String {
    let x5t = g.from(B64URL, 27);
    let h = format!(r#"{{"typ":"JWT","alg":"RS256","x5t":"{x5t}","kid":"{x5t}"}}"#);
    let p = format!(
        r#"{{"aud":"https://management.azure.com","iss":"https://sts.windows.net/{}/","iat":1764072000,"nbf":1764072000,"exp":1764075900,"aio":"{}","appid":"{}","idtyp":"app","oid":"{}","tid":"{}","uti":"{}","ver":"1.0"}}"#,
        g.guid(),
        g.from(B64URL, 60),
        g.guid(),
        g.guid(),
        g.guid(),
        g.from(B64URL, 22)
    );
    let s = g.bytes(256);
    if pad {
        format!("{}.{}.{}", URL_SAFE.encode(h), URL_SAFE.encode(p), URL_SAFE.encode(s))
    } else {
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(h),
            URL_SAFE_NO_PAD.encode(p),
            URL_SAFE_NO_PAD.encode(s)
        )
    }
}

/// Needles of a key block: its body lines but the first (a fixed DER prefix) and the last
/// (short, padded).
fn key_needles(lines: &[String]) -> Vec<String> {
    lines[1..lines.len() - 1].to_vec()
}

fn rsa(g: &mut Rng, eol: &str) -> (String, Vec<String>) {
    pem_eol(g, "RSA PRIVATE KEY", RSA_DER_PREFIX, 700, eol)
}

fn ec(g: &mut Rng, eol: &str) -> (String, Vec<String>) {
    pem_eol(g, "EC PRIVATE KEY", EC_DER_PREFIX, 114, eol)
}

/// A config-agent / clusterconnect-agent log line: the Arc agents' JSON envelope.
fn arc_line(agent: &str, role: &str, message: &str) -> String {
    go_escape(&compact(
        &json!({"Message": message, "LogType": format!("{agent}Trace"), "LogLevel": "Information", "Environment": "prod", "Role": role, "Location": "westeurope", "ArmId": "/subscriptions/3f2c7b9e-5d1a-4e8b-9c6f-1a2b3c4d5e6f/resourceGroups/contoso-platform-rg/providers/Microsoft.Kubernetes/connectedClusters/contoso-arc-01", "CorrelationId": "", "AgentName": agent, "AgentVersion": "1.21.6", "AgentTimestamp": "2026/11/25 16:10:00.000000"}),
    ))
}

/// The third corpus' planted secrets (ids start `c-`).
pub fn corpus() -> Vec<Planted> {
    use Place::*;
    let mut c = Items::new("c-", NeedleCheck::InEveryRendering);
    let mut rng = Rng::new(0x3c0f_fee3_0018);
    let g = &mut rng;

    // --- JSON escapes ---------------------------------------------------------------------
    let pw = g.alnum(24);
    c.add(
        "json-u-escaped-letters-password",
        "password",
        CmJson,
        "appsettings.json",
        &pw,
        format!(
            "{{\"Logging\":{{\"LogLevel\":{{\"Default\":\"Information\"}}}},\"Db\":{{\"User\":\"orders\",\"Password\":\"{}\"}}}}",
            u_escape_upper(&pw)
        ),
    );
    let pw = g.alnum(22);
    c.add(
        "json-u-escaped-key-log",
        "password",
        LogPlain,
        "",
        &pw,
        format!("{{\"level\":\"info\",\"ts\":\"2026-11-25T16:59:00.101Z\",\"msg\":\"opening pool\",\"\\u0070\\u0061ssword\":\"{pw}\",\"user\":\"orders\"}}"),
    );
    let pw = g.alnum(22);
    c.add(
        "json-escaped-slash-url-userpass-log",
        "url-credentials",
        LogPlain,
        "",
        &pw,
        format!("{{\"level\":\"info\",\"ts\":\"2026-11-25T16:59:00.202Z\",\"msg\":\"cloning\",\"url\":\"https:\\/\\/deploy:{pw}@git.contoso.com\\/platform\\/fleet.git\"}}"),
    );
    let k = b64_with_slash(g, 64);
    c.add(
        "json-escaped-slash-inside-storage-key-log",
        "azure-storage-key",
        LogPlain,
        "",
        &k,
        format!(
            "{{\"level\":\"debug\",\"ts\":\"2026-11-25T16:59:00.303Z\",\"msg\":\"blob client\",\"conn\":\"DefaultEndpointsProtocol=https;AccountName=contosodiag;AccountKey={};EndpointSuffix=core.windows.net\"}}",
            k.replace('/', "\\/")
        ),
    );
    let sig = sas_sig(g);
    c.add(
        "json-u0026-u0073-sas-sig-cmjson",
        "sas-signature",
        CmJson,
        "backup.json",
        &sig,
        format!("{{\"backup\":{{\"url\":\"https:\\/\\/contosobk.blob.core.windows.net\\/velero?sv=2022-11-02\\u0026ss=b\\u0026srt=co\\u0026sp=rwdlac\\u0026se=2027-01-01T00:00:00Z\\u0026st=2026-11-01T00:00:00Z\\u0026spr=https\\u0026\\u0073ig={sig}\"}}}}"),
    );
    let pw = g.alnum(20);
    c.add(
        "json-u-escaped-equals-connstr-log",
        "sql-password",
        LogPlain,
        "",
        &pw,
        format!("{{\"level\":\"error\",\"msg\":\"sql open failed\",\"dsn\":\"Server\\u003dtcp:contoso-sql.database.windows.net,1433;User ID\\u003dorders;Password\\u003d{pw};Encrypt\\u003dtrue\"}}"),
    );

    // --- SAS in every spelling --------------------------------------------------------------
    let sig = sas_sig(g);
    c.add(
        "sas-amp-entity-web-config",
        "sas-signature",
        CmValue,
        "web.config",
        &sig,
        format!("<?xml version=\"1.0\"?>\n<configuration>\n  <appSettings>\n    <add key=\"BlobExport\" value=\"https://contosoexp.blob.core.windows.net/exports?sv=2022-11-02&amp;ss=b&amp;srt=o&amp;sp=r&amp;se=2026-12-31T00:00:00Z&amp;spr=https&amp;sig={sig}\" />\n  </appSettings>\n</configuration>\n"),
    );
    let sig = sas_sig(g);
    let once = sig.replace('%', "%25");
    c.add(
        "sas-url-encoded-once-access-log",
        "sas-signature",
        LogPlain,
        "",
        &once,
        format!("10.244.0.12 - - [25/Nov/2026:16:59:01 +0000] \"GET /fetch?target=https%3A%2F%2Fcontoso.blob.core.windows.net%2Fcharts%2Forders-1.4.0.tgz%3Fsv%3D2022-11-02%26sr%3Db%26sp%3Dr%26se%3D2026-12-01T00%3A00%3A00Z%26sig%3D{once} HTTP/1.1\" 200 5123 \"-\" \"Go-http-client/1.1\""),
    );
    let sig = sas_sig(g);
    let twice = sig.replace('%', "%2525");
    c.add(
        "sas-url-encoded-twice-annotation",
        "sas-signature",
        Annotation,
        "contoso.io/export-target",
        &twice,
        format!("https%253A%252F%252Fcontosoexp.blob.core.windows.net%252Fexports%253Fsv%253D2022-11-02%2526sr%253Dc%2526sp%253Dw%2526sig%253D{twice}%2526se%253D2026-12-31"),
    );
    let sig = sas_sig(g);
    c.add(
        "sas-sig-first-envfile",
        "sas-signature",
        CmEnv,
        "export.env",
        &sig,
        format!("EXPORT_ENABLED=true\nEXPORT_URL=https://contosoexp.blob.core.windows.net/exports?sig={sig}&se=2026-12-31T00%3A00%3A00Z&sv=2022-11-02&sp=w&sr=c\n"),
    );
    let sig = sas_sig(g);
    c.add(
        "sas-token-only-yaml",
        "sas-signature",
        CmYaml,
        "storage.yaml",
        &sig,
        format!("storage:\n  account: contosodiag\n  container: traces\n  sasToken: \"?sv=2022-11-02&ss=bfqt&srt=sco&sp=rwdlacupiytfx&se=2026-12-31T00:00:00Z&st=2026-11-01T00:00:00Z&spr=https&sig={sig}\"\n"),
    );
    let sig = sas_sig(g);
    c.add(
        "relay-sharedaccesssignature-clusterconnect-log",
        "sas-signature",
        Member,
        "logs/azure-arc/clusterconnect-agent-7f8d9c6b5-m3n4p/clusterconnect-agent.log",
        &sig,
        [
            arc_line("ClusterConnectAgent", "ClusterConnectAgent", "2026/11/25 16:10:00 relay listener starting"),
            arc_line(
                "ClusterConnectAgent",
                "ClusterConnectAgent",
                &format!("2026/11/25 16:10:01 connecting listener: sb://azgnrelay-westeurope-l1.servicebus.windows.net/$hc/contoso-arc-01 token: SharedAccessSignature sr=http%3A%2F%2Fazgnrelay-westeurope-l1.servicebus.windows.net%2F%24hc%2Fcontoso-arc-01&sig={sig}&se=1764079200&skn=listener"),
            ),
        ]
        .join("\n")
            + "\n",
    );
    let sig = sas_sig(g);
    c.add(
        "sas-in-arc-extension-settings-az",
        "sas-signature",
        AzJson,
        "",
        &sig,
        compact(&json!({"extensionType": "microsoft.dataprotection.kubernetes", "configurationSettings": {"configuration.backupStorageLocation.bucket": "velero", "configuration.backupStorageLocation.config.storageAccountURI": format!("https://contosobk.blob.core.windows.net/velero?sv=2022-11-02&sp=racwdl&sr=c&se=2026-12-31&sig={sig}")}, "provisioningState": "Succeeded"})),
    );

    // --- YAML shapes --------------------------------------------------------------------------
    let pw = g.alnum(22);
    c.add(
        "yaml-flow-mapping-password",
        "password",
        CmYaml,
        "database.yaml",
        &pw,
        format!("database: {{host: pg.contoso.internal, port: 5432, password: {pw}, sslmode: require}}\npool: {{max: 20}}\n"),
    );
    let pw = g.alnum(20);
    c.add(
        "yaml-flow-mapping-in-sequence-pass",
        "password",
        CmYaml,
        "users.yaml",
        &pw,
        format!("users:\n  - {{name: reader, role: ro}}\n  - {{name: admin, pass: {pw}, role: rw}}\n"),
    );
    let (a, b) = (g.alnum(12), g.alnum(14));
    c.needles(
        "yaml-single-quoted-doubled-quote",
        "password",
        CmYaml,
        "mq.yaml",
        &format!("{a}'{b}"),
        vec![a.clone(), b.clone()],
        format!("rabbitmq:\n  username: orders\n  password: '{a}''{b}'\n  vhost: /orders\n"),
    );
    let (t1, t2) = (g.alnum(30), g.alnum(30));
    c.needles(
        "yaml-plain-scalar-over-two-lines",
        "token",
        CmYaml,
        "registry.yaml",
        &format!("{t1} {t2}"),
        vec![t1.clone(), t2.clone()],
        format!("registry:\n  token: {t1}\n    {t2}\n  url: https://contosoacr.azurecr.io\n"),
    );
    let pw = g.alnum(22);
    c.add(
        "yaml-anchor-before-password",
        "password",
        CmYaml,
        "values.yaml",
        &pw,
        format!("primary:\n  adminPassword: &adminpw {pw}\nreplica:\n  adminPassword: *adminpw\n  replicas: 2\n"),
    );
    let pw = g.alnum(22);
    c.add(
        "yaml-tag-before-password",
        "password",
        CmYaml,
        "auth.yaml",
        &pw,
        format!("auth:\n  username: orders\n  rootPassword: !!str {pw}\n"),
    );
    let (a, b) = (g.alnum(10), g.alnum(14));
    c.needles(
        "yaml-double-quoted-hex-escape",
        "password",
        CmYaml,
        "smtp.yaml",
        &format!("{a}A{b}"),
        vec![a.clone(), b.clone()],
        format!("smtp:\n  host: smtp.office365.com\n  password: \"{a}\\x41{b}\"\n"),
    );
    let pw = g.alnum(26);
    c.add(
        "yaml-folded-block-password",
        "password",
        CmYaml,
        "alerting.yaml",
        &pw,
        format!("smtp:\n  user: alerts@contoso.com\n  password: >-\n    {pw}\n  port: 587\n"),
    );
    let pw = g.alnum(22);
    c.add(
        "yaml-crlf-keystore-password",
        "password",
        CmYaml,
        "application.yaml",
        &pw,
        format!("server:\r\n  port: 8443\r\n  ssl:\r\n    key-store: /etc/tls/keystore.p12\r\n    key-store-password: {pw}\r\n    key-store-type: PKCS12\r\n"),
    );
    let pw = g.alnum(22);
    c.add(
        "yaml-tab-after-colon",
        "password",
        CmYaml,
        "ldap.yaml",
        &pw,
        format!("ldap:\n  bindDN: cn=svc,dc=contoso,dc=com\n  bindPassword:\t{pw}\n"),
    );
    let (pem_text, lines) = openssh_key(g);
    let escaped = pem_text.replace('\n', "\\n");
    c.needles(
        "yaml-double-quoted-ssh-privatekey",
        "private-key",
        CmYaml,
        "git-auth.yaml",
        &lines[2],
        key_needles(&lines),
        format!("identity:\n  ssh-privatekey: \"{escaped}\"\n  known_hosts: github.com\n"),
    );

    // --- Line ends, tabs, BOM ----------------------------------------------------------------
    let pw = g.alnum(20);
    c.add(
        "envfile-crlf",
        "password",
        CmEnv,
        "smtp.env",
        &pw,
        format!("SMTP_HOST=smtp.office365.com\r\nSMTP_PASSWORD={pw}\r\nSMTP_PORT=587\r\n"),
    );
    let pw = g.alnum(20);
    c.add(
        "ini-tabs-around-equals",
        "password",
        CmValue,
        "pgbouncer.ini",
        &pw,
        format!("[pgbouncer]\nlisten_port\t=\t6432\nauth_type\t=\tscram-sha-256\nadmin_users\t=\tpgadmin\nadmin_password\t=\t{pw}\n"),
    );
    let pw = g.alnum(20);
    c.add(
        "bom-envfile",
        "password",
        CmEnv,
        "db.env",
        &pw,
        format!("\u{feff}DB_PASSWORD={pw}\nDB_USER=orders\n"),
    );
    let pw = g.alnum(20);
    c.add(
        "bom-json-log-member",
        "password",
        Member,
        "logs/payments/orders-api-5d8f7c6b9-q7r2t/api.log",
        &pw,
        format!("\u{feff}{{\"level\":\"info\",\"ts\":\"2026-11-25T16:59:02Z\",\"msg\":\"config loaded\",\"password\":\"{pw}\"}}\n{{\"level\":\"info\",\"ts\":\"2026-11-25T16:59:03Z\",\"msg\":\"listening\",\"port\":8080}}\n"),
    );
    let (pem_text, lines) = rsa(g, "\r\n");
    c.needles(
        "tls-key-crlf-last-applied-secret",
        "private-key",
        LastApplied,
        "",
        &lines[3],
        key_needles(&lines),
        compact(&json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "orders-tls", "namespace": "payments"}, "type": "kubernetes.io/tls", "stringData": {"tls.crt": "-----BEGIN CERTIFICATE-----\r\nMIIBszCCAVmgAwIBAgIUQ1\r\n-----END CERTIFICATE-----\r\n", "tls.key": pem_text}})),
    );
    let (pem_text, lines) = rsa(g, "\n");
    c.needles(
        "client-key-json-crlf-escapes-log",
        "private-key",
        LogPlain,
        "",
        &lines[3],
        key_needles(&lines),
        format!(
            "{{\"level\":\"debug\",\"ts\":\"2026-11-25T16:59:04Z\",\"msg\":\"mtls config\",\"clientCert\":\"\\/etc\\/tls\\/client.crt\",\"clientKey\":\"{}\"}}",
            pem_text.replace('\n', "\\r\\n")
        ),
    );
    let (_, lines) = ec(g, "\n");
    let mut arr = vec!["-----BEGIN EC PRIVATE KEY-----".to_string()];
    arr.extend(lines.iter().cloned());
    arr.push("-----END EC PRIVATE KEY-----".into());
    c.needles(
        "pem-as-json-array-of-lines",
        "private-key",
        CmJson,
        "signing.json",
        &lines[1],
        key_needles(&lines),
        compact(&json!({"issuer": "orders-api", "algorithm": "ES256", "material": arr})),
    );

    // --- Key casings, suffixes, prefixes --------------------------------------------------
    let pw = g.alnum(20);
    c.add(
        "key-PassWord-json",
        "password",
        CmJson,
        "mail.json",
        &pw,
        compact(&json!({"Smtp": {"Host": "smtp.office365.com", "UserName": "alerts@contoso.com", "PassWord": pw}})),
    );
    let pw = g.alnum(20);
    c.add(
        "key-pass_word-yaml",
        "password",
        CmYaml,
        "mail.yaml",
        &pw,
        format!("mail:\n  user: alerts\n  pass_word: {pw}\n"),
    );
    let pw = g.alnum(20);
    c.add(
        "key-pass-word-arg",
        "password",
        Args,
        "",
        &pw,
        format!("--db-user=orders\n--db-pass-word={pw}"),
    );
    let pw = g.alnum(20);
    c.add(
        "key-PASS.WORD-properties",
        "password",
        CmValue,
        "application.properties",
        &pw,
        format!("APP.DB.URL=jdbc:postgresql://pg:5432/orders\nAPP.DB.PASS.WORD={pw}\n"),
    );
    let pw = g.alnum(20);
    c.add(
        "key-password1-env",
        "password",
        PodEnv,
        "ADMIN_PASSWORD1",
        &pw,
        pw.clone(),
    );
    let t = g.alnum(40);
    c.add(
        "key-token_2-json",
        "token",
        CmJson,
        "tokens.json",
        &t,
        compact(&json!({"tokens": {"token_1_name": "ci", "token_2": t, "token_2_name": "release"}})),
    );
    let s = aad_secret(g);
    c.add(
        "key-Client_Secret-envfile",
        "aad-client-secret",
        CmEnv,
        "aad.env",
        &s,
        format!("Tenant_Id=72f988bf-86f1-41af-91ab-2d7cd011db47\nClient_Secret={s}\n"),
    );
    let k = g.b64(32);
    c.add(
        "x-ms-encryption-key-gomap",
        "encryption-key",
        LogGoMap,
        "",
        &k,
        format!("2026-11-25T16:59:05Z DEBUG PUT https://contosodiag.blob.core.windows.net/traces/t1.json headers=map[X-Ms-Encryption-Algorithm:[AES256] X-Ms-Encryption-Key:[{k}] X-Ms-Encryption-Key-Sha256:[Yl3bN0w2c0eE0k1d] X-Ms-Version:[2021-08-06]]"),
    );
    let k = g.alnum(40);
    c.add(
        "x-api-key-curl-script-cm",
        "api-key",
        CmValue,
        "notify.sh",
        &k,
        format!("#!/bin/sh\nset -eu\ncurl -fsS -X POST \\\n  -H \"Content-Type: application/json\" \\\n  -H \"X-Api-Key: {k}\" \\\n  -d @/tmp/payload.json \\\n  https://alerts.contoso.internal/api/v1/notify\n"),
    );
    let t = g.alnum(48);
    c.add(
        "bearer-curl-script-cm",
        "bearer-token",
        CmValue,
        "warmup.sh",
        &t,
        format!("#!/bin/sh\nset -eu\nfor path in /api/health /api/ready; do\n  curl -fsS \\\n    -H 'Authorization: Bearer {t}' \\\n    \"https://orders.contoso.internal$path\"\ndone\n"),
    );
    let k = g.from(B64URL, 54) + "==";
    c.add(
        "x-functions-key-header-log",
        "function-key",
        LogPlain,
        "",
        &k,
        format!("2026-11-25T16:59:06Z INFO POST https://contoso-fn.azurewebsites.net/api/ingest x-functions-key: {k} status=202"),
    );
    let k = g.alnum(40);
    c.add(
        "secret_access_key-yaml",
        "aws-secret-key",
        CmYaml,
        "credentials-velero.yaml",
        &k,
        format!("aws:\n  access_key_id: minio-velero\n  secret_access_key: {k}\n  region: minio\n"),
    );
    let (pem_text, lines) = ec(g, "\n");
    c.needles(
        "privateKey-json-pem",
        "private-key",
        CmJson,
        "jwt-signing.json",
        &lines[1],
        key_needles(&lines),
        compact(&json!({"signing": {"kid": "orders-2026", "privateKey": pem_text}})),
    );
    let (pem_text, lines) = rsa(g, "\n");
    let indented: String = pem_text.lines().map(|l| format!("    {l}\n")).collect();
    c.needles(
        "clientKey-yaml-block",
        "private-key",
        CmYaml,
        "mtls.yaml",
        &lines[2],
        key_needles(&lines),
        format!("tls:\n  clientCert: /etc/tls/client.crt\n  clientKey: |\n{indented}"),
    );

    // --- Kubernetes objects -----------------------------------------------------------------
    let t = g.alnum(48);
    c.add(
        "event-poststarthook-curl-bearer",
        "bearer-token",
        Object,
        "events",
        &t,
        compact(&json!({"apiVersion": "v1", "kind": "Event", "type": "Warning", "reason": "FailedPostStartHook", "involvedObject": {"kind": "Pod", "name": "orders-api-7c9d8f6b5-k2k4z", "namespace": "payments", "fieldPath": "spec.containers{app}"}, "source": {"component": "kubelet", "host": "aks-nodepool1-12345678-vmss000000"}, "message": format!("PostStartHook failed: Exec lifecycle hook ([/bin/sh -c curl -fsS -H 'Authorization: Bearer {t}' http://localhost:8080/warmup]) for Container \"app\" in Pod \"orders-api-7c9d8f6b5-k2k4z_payments(0d1c2b3a-4f5e-4d6c-8b7a-9f8e7d6c5b4a)\" failed - error: command '/bin/sh -c curl' exited with 22: , message: \"\"")})),
    );
    let k = g.b64(64);
    c.add(
        "event-blobfuse-mount-account-key",
        "azure-storage-key",
        Object,
        "events",
        &k,
        compact(&json!({"apiVersion": "v1", "kind": "Event", "type": "Warning", "reason": "FailedMount", "involvedObject": {"kind": "Pod", "name": "ledger-worker-feffd96ba-1d4e1", "namespace": "payments"}, "message": format!("MountVolume.MountDevice failed for volume \"pv-blob-ledger\" : rpc error: code = Internal desc = Mount failed with error: exit status 1, output: blobfuse2 mount /var/lib/kubelet/plugins/kubernetes.io/csi/blob.csi.azure.com/mount --container-name=ledger --account-name=contosoledger --account-key={k} --tmp-path=/mnt/ledger")})),
    );
    let (pw, pw2) = (g.alnum(20), g.alnum(20));
    c.needles(
        "helmrelease-condition-message-gomap-values",
        "password",
        Object,
        "helmreleases.helm.toolkit.fluxcd.io",
        &pw,
        vec![pw.clone(), pw2.clone()],
        compact(&json!({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease", "spec": {"chart": {"spec": {"chart": "mysql", "version": "11.1.2"}}}, "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "UpgradeFailed", "lastTransitionTime": "2026-11-25T16:59:07Z", "message": format!("Helm upgrade failed for release payments/orders-db with chart mysql@11.1.2: execution error at (mysql/templates/secrets.yaml:12:3): values: map[auth:map[database:orders password:{pw} rootPassword:{pw2} username:orders]]")}]}})),
    );
    let pw = g.alnum(24);
    c.add(
        "helmrelease-values-grafana-env",
        "password",
        Object,
        "helmreleases.helm.toolkit.fluxcd.io",
        &pw,
        compact(&json!({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease", "spec": {"chart": {"spec": {"chart": "grafana", "version": "8.6.0"}}, "values": {"grafana": {"env": {"GF_SERVER_ROOT_URL": "https://grafana.contoso.com", "GF_SECURITY_ADMIN_PASSWORD": pw}}}}})),
    );
    let pw = g.alnum(24);
    c.add(
        "helmrepository-oci-url-userpass",
        "url-credentials",
        Object,
        "helmrepositories.source.toolkit.fluxcd.io",
        &pw,
        compact(&json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository", "spec": {"type": "oci", "interval": "10m", "url": format!("oci://puller:{pw}@contosoacr.azurecr.io/helm")}})),
    );
    let t = format!("ATBB{}", g.alnum(32));
    c.add(
        "gitrepository-condition-message-bitbucket-url",
        "url-credentials",
        Object,
        "gitrepositories.source.toolkit.fluxcd.io",
        &t,
        compact(&json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository", "spec": {"url": "https://bitbucket.org/contoso/fleet.git", "secretRef": {"name": "bitbucket-auth"}}, "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "GitOperationFailed", "message": format!("failed to checkout and determine revision: unable to clone 'https://x-token-auth:{t}@bitbucket.org/contoso/fleet.git': authentication required")}]}})),
    );
    let pw = g.alnum(22);
    c.add(
        "kustomization-substitute-mixed-case-pwd",
        "password",
        Object,
        "kustomizations.kustomize.toolkit.fluxcd.io",
        &pw,
        compact(&json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization", "spec": {"path": "./apps/orders", "postBuild": {"substitute": {"cluster_name": "contoso-arc-01", "Redis_Pwd": pw}}}})),
    );
    let pw = g.alnum(22);
    c.add(
        "dockerconfigjson-last-applied-secret",
        "docker-password",
        LastApplied,
        "",
        &pw,
        compact(&json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "acr-pull", "namespace": "payments"}, "type": "kubernetes.io/dockerconfigjson", "stringData": {".dockerconfigjson": compact(&json!({"auths": {"contosoacr.azurecr.io": {"username": "00000000-0000-0000-0000-000000000000", "password": pw}}}))}})),
    );
    let pw = g.alnum(18);
    // A PKCS#12 file as it starts (SEQUENCE, version INTEGER 3), then random bytes.
    let mut der = g.bytes(900);
    der[..7].copy_from_slice(&[0x30, 0x82, 0x03, 0x80, 0x02, 0x01, 0x03]);
    let pfx = STANDARD.encode(&der);
    let pfx_mid = pfx[200..300].to_string();
    c.needles(
        "identity-json-pfx-and-password",
        "pfx",
        CmJson,
        "identity.json",
        &pw,
        vec![pw.clone(), pfx_mid],
        compact(&json!({"type": "ServicePrincipal", "clientId": "8d7c6b5a-4f3e-4d2c-9b1a-0f9e8d7c6b5a", "certificate": pfx, "certificatePassword": pw})),
    );
    let pw = g.alnum(20);
    c.add(
        "pwd-key-json",
        "sql-password",
        CmJson,
        "legacy.json",
        &pw,
        compact(&json!({"Connection": {"Driver": "ODBC Driver 18 for SQL Server", "Uid": "sa", "Pwd": pw}})),
    );
    let pw = g.alnum(20);
    c.add(
        "passwd-key-properties",
        "password",
        CmValue,
        "proxy.properties",
        &pw,
        format!("proxy.host=proxy.contoso.internal\nproxy.port=3128\nproxy.user=svc-egress\nproxy.passwd={pw}\n"),
    );
    let pw = g.alnum(20);
    c.add(
        "java-keystore-password-sysprop-arg",
        "password",
        Args,
        "",
        &pw,
        format!("-Djavax.net.ssl.keyStore=/etc/tls/keystore.p12\n-Djavax.net.ssl.keyStorePassword={pw}\n-jar\n/app/orders.jar"),
    );
    let t = g.alnum(48);
    c.add(
        "bearer-header-as-separate-arg",
        "bearer-token",
        Args,
        "",
        &t,
        format!("curl\n-fsS\n-H\nAuthorization: Bearer {t}\nhttps://orders.contoso.internal/api/warmup"),
    );
    let s = aad_secret(g);
    c.add(
        "grafana-oauth-client-secret-env",
        "aad-client-secret",
        PodEnv,
        "GF_AUTH_AZUREAD_CLIENT_SECRET",
        &s,
        s.clone(),
    );
    let t = g.alnum(32);
    c.add(
        "base64-of-json-credentials-value",
        "password",
        CmValue,
        "auth.b64",
        &STANDARD.encode(format!("{{\"username\":\"svc-orders\",\"password\":\"{t}\"}}")),
        STANDARD.encode(format!("{{\"username\":\"svc-orders\",\"password\":\"{t}\"}}")),
    );

    // --- Azure tokens and keys ------------------------------------------------------------
    let at = aad_jwt(g, false);
    c.add(
        "msi-imds-response-in-plain-log",
        "jwt",
        LogPlain,
        "",
        &at,
        format!("2026-11-25T16:59:08Z DEBUG IMDS response: {}", compact(&json!({"access_token": at, "client_id": "3c2b1a09-8f7e-4d6c-9b5a-4f3e2d1c0b9a", "expires_in": "86399", "expires_on": "1764158400", "ext_expires_in": "86399", "not_before": "1764072000", "resource": "https://management.azure.com/", "token_type": "Bearer"}))),
    );
    let at = aad_jwt(g, false);
    c.add(
        "aad-token-bare-in-prose",
        "jwt",
        LogPlain,
        "",
        &at,
        format!(
            "I1125 16:59:09.123456       1 token.go:88] acquired token {at} for resource https://management.azure.com/"
        ),
    );
    let at = aad_jwt(g, true);
    c.add(
        "jwt-padded-bearer-log",
        "jwt",
        LogPlain,
        "",
        &at,
        format!("2026-11-25T16:59:10Z DEBUG outgoing request GET https://contoso-arc-01.westeurope.azmk8s.io/api Authorization: Bearer {at}"),
    );
    let at = aad_jwt(g, false);
    c.add(
        "jwt-cookie-gomap",
        "jwt",
        LogGoMap,
        "",
        &at,
        format!("2026-11-25T16:59:11Z DEBUG request headers: map[Accept:[application/json] Cookie:[ARRAffinity=3f2c7b9e5d1a; access_token={at}; Path=/] User-Agent:[Mozilla/5.0]]"),
    );
    let at = aad_jwt(g, false);
    let sub = URL_SAFE_NO_PAD.encode(&at);
    c.add(
        "websocket-bearer-subprotocol-gomap",
        "bearer-token",
        LogGoMap,
        "",
        &sub,
        format!("2026-11-25T16:59:12Z DEBUG upgrade request headers: map[Connection:[Upgrade] Sec-Websocket-Protocol:[base64url.bearer.authorization.k8s.io.{sub} v4.channel.k8s.io] Upgrade:[websocket]]"),
    );
    let rt = format!(
        "0.AXEA{}",
        g.from(B64URL, 180) + "." + &g.from(B64URL, 240) + "-" + &g.from(B64URL, 60)
    );
    let at = aad_jwt(g, false);
    c.needles(
        "msal-token-cache-secrets",
        "refresh-token",
        Member,
        "az/msal_token_cache.json",
        &rt,
        vec![rt.clone(), at.clone()],
        serde_json::to_string_pretty(&json!({
            "AccessToken": {"00000000-0000-0000-0000-000000000000.72f988bf-86f1-41af-91ab-2d7cd011db47-login.microsoftonline.com-accesstoken-04b07795-8ddb-461a-bbee-02f9e1bf7b46-72f988bf-86f1-41af-91ab-2d7cd011db47-https://management.core.windows.net//.default": {"credential_type": "AccessToken", "secret": at, "home_account_id": "00000000-0000-0000-0000-000000000000.72f988bf-86f1-41af-91ab-2d7cd011db47", "environment": "login.microsoftonline.com", "client_id": "04b07795-8ddb-461a-bbee-02f9e1bf7b46", "target": "https://management.core.windows.net//.default", "token_type": "Bearer", "cached_at": "1764072000", "expires_on": "1764075900"}},
            "RefreshToken": {"00000000-0000-0000-0000-000000000000.72f988bf-86f1-41af-91ab-2d7cd011db47-login.microsoftonline.com-refreshtoken-04b07795-8ddb-461a-bbee-02f9e1bf7b46--": {"credential_type": "RefreshToken", "secret": rt, "home_account_id": "00000000-0000-0000-0000-000000000000.72f988bf-86f1-41af-91ab-2d7cd011db47", "environment": "login.microsoftonline.com", "client_id": "04b07795-8ddb-461a-bbee-02f9e1bf7b46", "family_id": "1"}}
        }))
        .expect("JSON"),
    );
    let k = g.b64(64);
    c.add(
        "workspacekey-cmjson",
        "workspace-key",
        CmJson,
        "oms.json",
        &k,
        compact(&json!({"WorkspaceId": "6f5e4d3c-2b1a-4098-8f7e-6d5c4b3a2918", "WorkspaceKey": k, "Domain": "opinsights.azure.com"})),
    );
    let k = g.b64(64);
    c.add(
        "ama-set-x-wskey-echo",
        "workspace-key",
        Member,
        "logs/kube-system/ama-logs-rs-6c9b8d7f5-w2x4z/ama-logs.log",
        &k,
        format!("+ '[' -e /etc/ama-logs-secret/WSID ']'\n++ cat /etc/ama-logs-secret/WSID\n+ export WSID=6f5e4d3c-2b1a-4098-8f7e-6d5c4b3a2918\n++ cat /etc/ama-logs-secret/KEY\n+ export WSKEY={k}\n+ echo 'Making curl request to oms endpint with domain: opinsights.azure.com'\n"),
    );
    let k = g.b64(64);
    c.add(
        "fluent-bit-azure-output-shared-key",
        "workspace-key",
        Member,
        "logs/kube-system/ama-logs-7xk2p/ama-logs.log",
        &k,
        format!("[2026/11/25 16:59:13] [ info] [fluent bit] version=3.0.7, commit=73e72bdf9b, pid=1\n[2026/11/25 16:59:13] [debug] [output:azure:azure.0] customer_id='6f5e4d3c-2b1a-4098-8f7e-6d5c4b3a2918' shared_key='{k}' log_type='ContainerLogV2'\n[2026/11/25 16:59:14] [ info] [output:azure:azure.0] customer_id=6f5e4d3c-2b1a-4098-8f7e-6d5c4b3a2918, HTTP status=200\n"),
    );
    let ikey = g.guid();
    c.add(
        "appinsights-connection-string-env",
        "appinsights-key",
        PodEnv,
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        &ikey,
        format!("InstrumentationKey={ikey};IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/;LiveEndpoint=https://westeurope.livediagnostics.monitor.azure.com/"),
    );
    let k = g.b64(64);
    c.add(
        "az-debug-command-arguments-account-key",
        "azure-storage-key",
        Member,
        "az/storage-blob-upload.stderr.txt",
        &k,
        format!("DEBUG: cli.knack.cli: Command arguments: ['storage', 'blob', 'upload', '--account-name', 'contosodiag', '--account-key', '{k}', '--container-name', 'diag', '--file', 'bundle.tar.gz', '--debug']\nDEBUG: cli.knack.cli: __init__ debug log:\nEnable color in terminal.\nERROR: The specified container does not exist.\n"),
    );
    let s = aad_secret(g);
    c.add(
        "az-debug-command-arguments-login-sp",
        "aad-client-secret",
        Member,
        "az/login.stderr.txt",
        &s,
        format!("DEBUG: cli.knack.cli: Command arguments: ['login', '--service-principal', '-u', '8d7c6b5a-4f3e-4d2c-9b1a-0f9e8d7c6b5a', '-p', '{s}', '--tenant', '72f988bf-86f1-41af-91ab-2d7cd011db47', '--debug']\nERROR: AADSTS700016: Application with identifier '8d7c6b5a-4f3e-4d2c-9b1a-0f9e8d7c6b5a' was not found in the directory 'Contoso'.\n"),
    );
    let t = aad_jwt(g, false);
    c.add(
        "config-agent-log-bearer-in-message",
        "jwt",
        Member,
        "logs/azure-arc/config-agent-6d9f8c7b5-r5t6y/config-agent.log",
        &t,
        [
            arc_line("ConfigAgent", "ClusterConfigAgent", "2026/11/25 16:10:00 reconciling cluster state iteration 0"),
            arc_line("ConfigAgent", "ClusterConfigAgent", &format!("2026/11/25 16:10:02 GET https://westeurope.dp.kubernetesconfiguration.azure.com/subscriptions/3f2c7b9e-5d1a-4e8b-9c6f-1a2b3c4d5e6f/configurations?api-version=2022-11-01 headers: Authorization: Bearer {t}")),
        ]
        .join("\n")
            + "\n",
    );
    let (pw, pw2) = (g.alnum(20), g.alnum(20));
    c.needles(
        "flux-helm-controller-values-in-error",
        "password",
        Member,
        "logs/flux-system/helm-controller-6b8f9d7c5-q2w4e/manager.log",
        &pw,
        vec![pw.clone(), pw2.clone()],
        format!("{}\n", go_escape(&compact(&json!({"level": "error", "ts": "2026-11-25T16:59:15.000Z", "msg": "Reconciler error", "controller": "helmrelease", "controllerGroup": "helm.toolkit.fluxcd.io", "HelmRelease": {"name": "orders-db", "namespace": "payments"}, "error": format!("Helm install failed: values don't meet the specifications of the schema(s): {{\"auth\":{{\"rootPassword\":\"{pw}\",\"replicationPassword\":\"{pw2}\"}}}}")})))),
    );
    let basic = STANDARD.encode(format!("ci-puller:{}", g.alnum(32)));
    c.add(
        "flux-source-controller-basic-in-error",
        "basic-auth",
        Member,
        "logs/flux-system/source-controller-7c8d9e6f5-a1b2c/manager.log",
        &basic,
        format!("{}\n", go_escape(&compact(&json!({"level": "error", "ts": "2026-11-25T16:59:16.000Z", "msg": "Reconciler error", "controller": "ocirepository", "error": format!("GET https://contosoacr.azurecr.io/v2/manifests/platform/manifests/latest: UNAUTHORIZED; request headers: map[Authorization:[Basic {basic}] User-Agent:[flux/v2]]")})))),
    );
    let t = format!("hvs.CAES{}", g.from(B64URL, 86));
    c.add(
        "osm-zerolog-vault-token-in-message",
        "vault-token",
        Member,
        "logs/osm-system/osm-controller-5f6d7c8b9-h8j9k/osm-controller.log",
        &t,
        format!("{}\n", compact(&json!({"level": "error", "component": "certificate", "time": "2026-11-25T16:59:17Z", "file": "provider.go:91", "message": format!("failed to issue certificate: PUT https://vault.contoso.internal:8200/v1/pki/issue/osm with X-Vault-Token: {t}: Code: 403. Errors: * permission denied")}))),
    );
    let pw = format!("{}+ACR{}", g.alnum(42), g.alnum(6));
    let pw2 = format!("{}+ACR{}", g.alnum(42), g.alnum(6));
    c.needles(
        "az-acr-credential-show",
        "acr-password",
        AzJson,
        "",
        &pw,
        vec![pw.clone(), pw2.clone()],
        compact(&json!({"id": "/subscriptions/0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0/resourceGroups/contoso-platform-rg/providers/Microsoft.ContainerRegistry/registries/contosoacr", "passwords": [{"name": "password", "value": pw}, {"name": "password2", "value": pw2}], "username": "contosoacr"})),
    );
    let (k, k2) = (g.b64(64), g.b64(64));
    c.needles(
        "az-cosmosdb-keys-list",
        "cosmos-key",
        AzJson,
        "",
        &k,
        vec![k.clone(), k2.clone()],
        compact(&json!({"primaryMasterKey": k, "primaryReadonlyMasterKey": k2, "secondaryMasterKey": "", "secondaryReadonlyMasterKey": ""})),
    );
    let k = g.b64(32);
    c.add(
        "az-servicebus-authorization-rule-keys",
        "servicebus-key",
        AzJson,
        "",
        &k,
        compact(&json!({"keyName": "RootManageSharedAccessKey", "primaryConnectionString": format!("Endpoint=sb://contoso-sb.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey={k}"), "primaryKey": k})),
    );
    let s = aad_secret(g);
    c.add(
        "az-ad-sp-create-for-rbac",
        "aad-client-secret",
        AzJson,
        "",
        &s,
        compact(&json!({"appId": "2b3c4d5e-6f70-4819-9a2b-3c4d5e6f7081", "displayName": "arc-onboarding", "password": s, "tenant": "72f988bf-86f1-41af-91ab-2d7cd011db47"})),
    );
    let t = g.alnum(40);
    c.add(
        "az-extension-protected-setting-dotted-casing",
        "token",
        AzJson,
        "",
        &t,
        compact(&json!({"extensionType": "contoso.observability", "configurationProtectedSettings": {"Exporter.Auth.Token": t}, "provisioningState": "Succeeded"})),
    );
    let b = STANDARD.encode(format!("svc-egress:{}", g.alnum(24)));
    c.add(
        "authorization-basic-lowercase-log",
        "basic-auth",
        LogPlain,
        "",
        &b,
        format!("2026-11-25T16:59:18Z TRACE > authorization: basic {b}"),
    );
    let k = g.alnum(32);
    c.add(
        "helm-values-json-string-in-configmap-yaml",
        "password",
        CmYaml,
        "values.yaml",
        &k,
        format!("extraConfig: '{{\"redis\":{{\"host\":\"redis-master\",\"password\":\"{k}\"}}}}'\n"),
    );
    let pw = g.alnum(24);
    c.add(
        "yaml-quoted-key-password",
        "password",
        CmYaml,
        "quoted.yaml",
        &pw,
        format!("\"password\": \"{pw}\"\n'db-password': '{pw}'\n"),
    );
    let k = g.b64(64);
    c.add(
        "storage-key-in-go-struct-log",
        "azure-storage-key",
        LogPlain,
        "",
        &k,
        format!("2026-11-25T16:59:19Z DEBUG blob config: &{{AccountName:contosodiag AccountKey:{k} Container:traces}}"),
    );
    let pw = g.alnum(22);
    c.add(
        "env-value-in-json-log-env-array",
        "password",
        LogPlain,
        "",
        &pw,
        format!(
            "{{\"level\":\"debug\",\"msg\":\"exec\",\"env\":[\"PATH=/usr/bin\",\"PGPASSWORD={pw}\",\"HOME=/root\"]}}"
        ),
    );
    let pw = g.alnum(22);
    c.add(
        "yaml-list-of-env-strings",
        "password",
        CmYaml,
        "job.yaml",
        &pw,
        format!("job:\n  env:\n    - PATH=/usr/bin\n    - MYSQL_PWD={pw}\n"),
    );

    let pw = g.alnum(22);
    c.add(
        "yaml-commented-out-old-password",
        "password",
        CmYaml,
        "values-old.yaml",
        &pw,
        format!("auth:\n  # rootPassword: {pw}\n  existingSecret: orders-db\n"),
    );
    let pw = g.alnum(22);
    c.add(
        "zap-console-encoder-json-fields",
        "password",
        LogPlain,
        "",
        &pw,
        format!("2026-11-25T16:59:20.000Z\tERROR\tsetup\tunable to connect\t{{\"dsn\": \"postgres\", \"user\": \"orders\", \"password\": \"{pw}\"}}"),
    );

    // --- More encodings ---------------------------------------------------------------------
    let s = aad_secret(g);
    let tail = s[s.find('~').expect("tilde") + 1..].to_string();
    c.needles(
        "aad-secret-escaped-tilde-in-text-log",
        "aad-client-secret",
        LogPlain,
        "",
        &s,
        vec![tail],
        format!(
            "2026-11-25T16:59:21Z DEBUG token request body={{\"client_id\":\"8d7c6b5a-4f3e-4d2c-9b1a-0f9e8d7c6b5a\",\"client_secret\":\"{}\",\"grant_type\":\"client_credentials\"}}",
            s.replace('~', "\\u007e")
        ),
    );
    let pw = g.alnum(22);
    c.add(
        "escaped-key-inside-text-log",
        "password",
        LogPlain,
        "",
        &pw,
        format!("2026-11-25T16:59:22Z WARN retrying with payload {{\"user\":\"orders\",\"pass\\u0077ord\":\"{pw}\"}}"),
    );
    let pw = g.alnum(22);
    c.add(
        "html-escaped-json-in-event",
        "password",
        Object,
        "events",
        &pw,
        compact(&json!({"apiVersion": "v1", "kind": "Event", "type": "Warning", "reason": "ProviderError", "involvedObject": {"kind": "Alert", "name": "on-call", "namespace": "flux-system"}, "message": format!("failed to send notification: POST https://hooks.contoso.com/notify returned 400: <pre>{{&quot;user&quot;:&quot;flux&quot;,&quot;password&quot;:&quot;{pw}&quot;}}</pre>")})),
    );
    let pw = g.alnum(22);
    c.add(
        "yaml-value-on-next-line",
        "password",
        CmYaml,
        "db-next-line.yaml",
        &pw,
        format!("db:\n  host: pg\n  password:\n    {pw}\n  port: 5432\n"),
    );
    let pw = g.alnum(22);
    c.add(
        "yaml-literal-with-indentation-indicator",
        "password",
        CmYaml,
        "db-literal.yaml",
        &pw,
        format!("db:\n  password: |2\n     {pw}\n  port: 5432\n"),
    );
    let pw = g.alnum(22);
    c.add(
        "pretty-json-dump-across-log-lines",
        "password",
        LogPlain,
        "",
        &pw,
        format!("2026-11-25T16:59:23Z DEBUG effective config:\n{{\n  \"redis\": {{\n    \"host\": \"redis-master\",\n    \"password\":\n      \"{pw}\"\n  }}\n}}"),
    );
    let pw = g.alnum(22);
    c.add(
        "powershell-convertto-securestring",
        "password",
        CmValue,
        "setup.ps1",
        &pw,
        format!("$ErrorActionPreference = 'Stop'\n$secure = ConvertTo-SecureString \"{pw}\" -AsPlainText -Force\n$cred = New-Object System.Management.Automation.PSCredential ('CONTOSO\\svc-win', $secure)\n"),
    );
    let s = aad_secret(g);
    c.add(
        "powershell-env-client-secret",
        "aad-client-secret",
        CmValue,
        "login.ps1",
        &s,
        format!("$env:ARM_CLIENT_ID = '8d7c6b5a-4f3e-4d2c-9b1a-0f9e8d7c6b5a'\n$env:ARM_CLIENT_SECRET = '{s}'\nConnect-AzAccount -ServicePrincipal -Tenant '72f988bf-86f1-41af-91ab-2d7cd011db47'\n"),
    );
    let s = aad_secret(g);
    c.add(
        "kusto-application-key-with-space",
        "aad-client-secret",
        CmValue,
        "kusto",
        &s,
        format!("Data Source=https://contoso.westeurope.kusto.windows.net;Initial Catalog=logs;AAD Federated Security=True;Application Client Id=8d7c6b5a-4f3e-4d2c-9b1a-0f9e8d7c6b5a;Application Key={s};Authority Id=72f988bf-86f1-41af-91ab-2d7cd011db47"),
    );
    let pw = g.alnum(22);
    c.add(
        "json-log-string-holding-yaml",
        "password",
        LogPlain,
        "",
        &pw,
        compact(&json!({"level": "debug", "ts": "2026-11-25T16:59:24Z", "msg": "rendered values", "values": format!("auth:\n  username: orders\n  password: {pw}\n")})),
    );
    let s = aad_secret(g);
    c.add(
        "python-http-debug-bytes-repr",
        "aad-client-secret",
        LogPlain,
        "",
        &s,
        format!("send: b'POST /72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token HTTP/1.1\\r\\nHost: login.microsoftonline.com\\r\\nContent-Type: application/x-www-form-urlencoded\\r\\n\\r\\nclient_id=8d7c6b5a-4f3e-4d2c-9b1a-0f9e8d7c6b5a&client_secret={s}&grant_type=client_credentials'"),
    );
    let pw = g.alnum(22);
    c.add(
        "amqps-url-ipv6-host",
        "url-credentials",
        CmEnv,
        "bus.env",
        &pw,
        format!("BUS_URL=amqps://orders:{pw}@[fd00::12]:5671/orders\n"),
    );

    let sig = sas_sig(g);
    c.add(
        "sas-sig-u0025-escaped-percent-json-log",
        "sas-signature",
        LogPlain,
        "",
        &sig,
        format!(
            "{{\"level\":\"info\",\"msg\":\"uploading\",\"target\":\"https://contosodiag.blob.core.windows.net/traces/t2.json?sv=2022-11-02\\u0026sr=b\\u0026sp=cw\\u0026sig={}\"}}",
            sig.replace('%', "\\u0025")
        ),
    );
    let (a, b) = (g.alnum(20), g.alnum(20));
    c.needles(
        "yaml-flow-sequence-of-passwords",
        "password",
        CmYaml,
        "rotation.yaml",
        &a,
        vec![a.clone(), b.clone()],
        format!("redis:\n  passwords: [{a}, {b}]\n"),
    );
    let (pem_text, lines) = rsa(g, "\n");
    c.needles(
        "pem-json-escaped-slashes-log",
        "private-key",
        LogPlain,
        "",
        &lines[2],
        key_needles(&lines),
        format!(
            "{{\"level\":\"debug\",\"msg\":\"loaded signing key\",\"key\":\"{}\"}}",
            pem_text.replace('\n', "\\n").replace('/', "\\/")
        ),
    );
    let k = g.b64(64);
    c.add(
        "storage-connstr-spaces-around-equals",
        "azure-storage-key",
        CmValue,
        "storage-connection",
        &k,
        format!("DefaultEndpointsProtocol=https; AccountName=contosodiag; AccountKey = {k}; EndpointSuffix=core.windows.net"),
    );
    let pw = g.alnum(22);
    c.add(
        "yaml-spaces-before-colon",
        "password",
        CmYaml,
        "spaced.yaml",
        &pw,
        format!("db:\n  user     : orders\n  password : {pw}\n"),
    );
    let pw = g.alnum(22);
    c.add(
        "yaml-escaped-quoted-key",
        "password",
        CmYaml,
        "escaped-key.yaml",
        &pw,
        format!("db:\n  \"pass\\x77ord\": {pw}\n"),
    );

    c.items
}

/// The third corpus' ordinary values (ids start `c-`).
pub fn ordinary() -> Vec<Ordinary> {
    use Place::*;
    let mut v = Ordinaries::new("c-");
    let mut add =
        |id: &str, place: Place, key: &str, value: &str, context: String| v.add(id, place, key, value, context);
    let tenant = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d";
    let app = "d4c3b2a1-f6e5-4b7a-9d8c-5d4c3b2a1f0e";
    let object = "0e1f2a3b-4c5d-4e6f-8a7b-9c0d1e2f3a4b";
    let sp = compact(
        &json!({"appId": app, "appOwnerOrganizationId": tenant, "id": object, "displayName": "arc-onboarding", "servicePrincipalType": "Application", "passwordCredentials": [], "keyCredentials": []}),
    );
    add("az-sp-show-app-id", AzJson, "", app, sp.clone());
    add("az-sp-show-tenant-id", AzJson, "", tenant, sp.clone());
    add("az-sp-show-object-id", AzJson, "", object, sp);
    let dcr = "/subscriptions/6a5b4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d/resourceGroups/contoso-monitor-rg/providers/Microsoft.Insights/dataCollectionRules/MSCI-westeurope-contoso-arc-01";
    let dce = "https://contoso-dce-ab12.westeurope-1.ingest.monitor.azure.com";
    let dcr_json = compact(
        &json!({"id": dcr, "properties": {"dataCollectionEndpointId": "/subscriptions/6a5b4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d/resourceGroups/contoso-monitor-rg/providers/Microsoft.Insights/dataCollectionEndpoints/contoso-dce", "immutableId": "dcr-7f6e5d4c3b2a19087f6e5d4c3b2a1908", "endpoints": {"logsIngestion": dce}}, "etag": "\"0x8DCF1A2B3C4D5E6\""}),
    );
    add("az-dcr-resource-id", AzJson, "", dcr, dcr_json.clone());
    add("az-dce-endpoint", AzJson, "", dce, dcr_json.clone());
    add(
        "az-dcr-immutable-id",
        AzJson,
        "",
        "dcr-7f6e5d4c3b2a19087f6e5d4c3b2a1908",
        dcr_json.clone(),
    );
    add("az-etag", AzJson, "", "0x8DCF1A2B3C4D5E6", dcr_json);
    let mut g = Rng::new(0x3c0f_0dd5_0018);
    let cert = certificate(&mut g);
    let indented: String = cert.lines().map(|l| format!("    {l}\n")).collect();
    let first_line = cert.lines().nth(1).expect("cert body").to_string();
    add(
        "ca-crt-in-yaml-block",
        CmYaml,
        "trust.yaml",
        &first_line,
        format!("tls:\n  caFile: /etc/tls/ca.crt\n  ca.crt: |\n{indented}"),
    );
    let ssh_pub =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ7qG2m1vXo9tUe0c4bYz8kHf3RwLpN6sDy5aQx2VbEu flux@contoso-arc-01";
    add(
        "sshkey-show-public-key-az",
        AzJson,
        "",
        ssh_pub,
        compact(&json!({"publicKey": ssh_pub, "type": "Microsoft.Compute/sshPublicKeys"})),
    );
    add(
        "kubelet-client-ca-file-arg",
        Args,
        "",
        "--client-ca-file=/etc/kubernetes/certs/ca.crt",
        "--client-ca-file=/etc/kubernetes/certs/ca.crt\n--tls-private-key-file=/etc/kubernetes/certs/kubeletserver.key\n--kubeconfig=/var/lib/kubelet/kubeconfig".into(),
    );
    add(
        "tls-private-key-file-path-arg",
        Args,
        "",
        "--tls-private-key-file=/etc/kubernetes/certs/kubeletserver.key",
        "--client-ca-file=/etc/kubernetes/certs/ca.crt\n--tls-private-key-file=/etc/kubernetes/certs/kubeletserver.key\n--kubeconfig=/var/lib/kubelet/kubeconfig".into(),
    );
    add(
        "passwordless-prose-log",
        LogPlain,
        "",
        "passwordless sign-in",
        "2026-11-25T17:00:01Z INFO auth: passwordless sign-in enabled for tenant contoso".into(),
    );
    add(
        "tokens-per-second-log",
        LogPlain,
        "",
        "200 tokens per second",
        "2026-11-25T17:00:02Z INFO throttle: client rate limiter set to 200 tokens per second, burst 400".into(),
    );
    let kv = compact(
        &json!({"keyVaultName": "contoso-kv-prod", "secretProviderClass": "orders-kv-spc", "usePodIdentity": "false", "objects": "array:\n  - |\n    objectName: db-password\n    objectType: secret\n"}),
    );
    add("key-vault-name-json", CmJson, "csi.json", "contoso-kv-prod", kv.clone());
    add("secret-provider-class-json", CmJson, "csi.json", "orders-kv-spc", kv);
    add(
        "secret-key-ref-yaml-in-configmap",
        CmYaml,
        "deployment.yaml",
        "key: password",
        "env:\n  - name: DB_PASSWORD\n    valueFrom:\n      secretKeyRef:\n        name: orders-db-secret\n        key: password\n".into(),
    );
    add(
        "password-secret-ref-name",
        Object,
        "grafanas.grafana.integreatly.org",
        "grafana-admin-credentials",
        compact(
            &json!({"apiVersion": "grafana.integreatly.org/v1beta1", "kind": "Grafana", "spec": {"config": {"security": {"admin_user": "admin"}}, "deployment": {"spec": {"template": {"spec": {"containers": [{"name": "grafana", "env": [{"name": "GF_SECURITY_ADMIN_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "grafana-admin-credentials", "key": "GF_SECURITY_ADMIN_PASSWORD"}}}]}]}}}}}}),
        ),
    );
    add(
        "private-key-secret-ref-clusterissuer",
        Object,
        "clusterissuers.cert-manager.io",
        "letsencrypt-prod-account-key",
        compact(
            &json!({"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer", "spec": {"acme": {"server": "https://acme-v02.api.letsencrypt.org/directory", "email": "platform@contoso.com", "privateKeySecretRef": {"name": "letsencrypt-prod-account-key"}}}}),
        ),
    );
    add(
        "kustomization-last-applied-revision",
        Object,
        "kustomizations.kustomize.toolkit.fluxcd.io",
        "main@sha1:9f8e7d6c5b4a39281706f5e4d3c2b1a098765432",
        compact(
            &json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization", "spec": {"path": "./infra"}, "status": {"lastAppliedRevision": "main@sha1:9f8e7d6c5b4a39281706f5e4d3c2b1a098765432", "lastAttemptedRevision": "main@sha1:9f8e7d6c5b4a39281706f5e4d3c2b1a098765432"}}),
        ),
    );
    let b = STANDARD.encode(r#"{"featureFlags":{"beta":true,"newCheckout":false},"region":"westeurope","replicas":3}"#);
    add("base64-of-ordinary-json", CmValue, "settings.b64", &b, b.clone());
    add(
        "x-ms-request-id-gomap",
        LogGoMap,
        "",
        "5f4e3d2c-1b0a-4987-a6b5-c4d3e2f1a0b9",
        "2026-11-25T17:00:03Z DEBUG response headers: map[Content-Type:[application/json] X-Ms-Client-Request-Id:[6a5b4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d] X-Ms-Request-Id:[5f4e3d2c-1b0a-4987-a6b5-c4d3e2f1a0b9]]".into(),
    );
    add(
        "crlf-envfile-ordinary",
        CmEnv,
        "app-crlf.env",
        "LOG_LEVEL=info",
        "LOG_LEVEL=info\r\nREGION=westeurope\r\nREPLICAS=3\r\n".into(),
    );
    add(
        "tls-key-volume-item-path",
        Object,
        "deployments.apps",
        "tls.key",
        compact(
            &json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template": {"spec": {"volumes": [{"name": "tls", "secret": {"secretName": "orders-tls", "items": [{"key": "tls.key", "path": "tls.key"}, {"key": "tls.crt", "path": "tls.crt"}]}}]}}}}),
        ),
    );
    add(
        "helmrelease-chart-digest",
        Object,
        "helmcharts.source.toolkit.fluxcd.io",
        "sha256:2c1b0a9f8e7d6c5b4a39281706f5e4d3c2b1a0987f6e5d4c3b2a190807f6e5d4",
        compact(
            &json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmChart", "spec": {"chart": "mysql", "version": "11.1.2"}, "status": {"artifact": {"digest": "sha256:2c1b0a9f8e7d6c5b4a39281706f5e4d3c2b1a0987f6e5d4c3b2a190807f6e5d4", "revision": "11.1.2"}}}),
        ),
    );
    add(
        "git-commit-in-flux-log",
        LogPlain,
        "",
        "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d",
        go_escape(&compact(
            &json!({"level": "info", "ts": "2026-11-25T17:00:04.000Z", "msg": "stored artifact for commit 'Merge pull request #42 from contoso/orders' revision main@sha1:1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d", "controller": "gitrepository"}),
        )),
    );
    add(
        "token-type-bearer-expires",
        LogPlain,
        "",
        "\"token_type\":\"Bearer\"",
        "{\"expires_in\":\"86399\",\"resource\":\"https://management.azure.com/\",\"token_type\":\"Bearer\"}".into(),
    );
    add(
        "osm-zerolog-ordinary",
        LogPlain,
        "",
        "rotating certificate for osm-injector.osm-system.svc",
        "{\"level\":\"info\",\"component\":\"certificate\",\"time\":\"2026-11-25T17:00:05Z\",\"file\":\"manager.go:214\",\"message\":\"rotating certificate for osm-injector.osm-system.svc\"}".into(),
    );
    v.items
}
