//! An adversarial corpus for the redactor: secrets of real shapes planted where a cluster really
//! holds them (ConfigMap values, YAML/JSON/env/kubeconfig documents inside them, pod env, args,
//! annotations and last-applied-configuration, plain and JSON log lines, Go header maps, `az`
//! output), and ordinary values that must come out byte-identical beside them.
//!
//! Every value is generated here from a fixed seed (no real credential is in this file), in the
//! length and alphabet of its kind. [`corpus`] and [`ordinary`] are the data; [`Doc`] renders one
//! item alone in each shape it can take, [`bundle_files`] renders all of them as one arcdiag
//! bundle (the layout `serve` reads and `collect` writes); [`texts_of`] and [`find_needle`] are
//! what the checks look in (raw bytes and every JSON string decoded, recursively).

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::{json, Map, Value};
use std::fmt::Write as _;

/// Where a value is planted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// A ConfigMap `data` value that is the value itself (one line or a whole file).
    CmValue,
    /// A ConfigMap value holding a YAML document.
    CmYaml,
    /// A ConfigMap value holding a JSON document.
    CmJson,
    /// A ConfigMap value holding an env file.
    CmEnv,
    /// A ConfigMap value holding a kubeconfig.
    CmKubeconfig,
    /// A ConfigMap `binaryData` value (base64 of a file).
    CmBinary,
    /// A pod's `env` entry `{name, value}` (`key` is the name).
    PodEnv,
    /// A container's `args` (`context` holds one argument per line).
    Args,
    /// A pod annotation (`key` is the annotation's name).
    Annotation,
    /// `kubectl.kubernetes.io/last-applied-configuration` (`context` is the JSON document).
    LastApplied,
    /// A plain log line (or lines).
    LogPlain,
    /// A JSON log line as Go writes it (`&`, `<`, `>` as `\u0026` ...): `context` is the
    /// compact JSON before that escaping.
    LogJson,
    /// A log line with a Go header map dump (`map[Authorization:[...]]`).
    LogGoMap,
    /// An `az ... -o json` answer (`context` is the JSON object of one extension or flux
    /// configuration).
    AzJson,
    /// A field of the pod itself (ordinary values only: uid, image, volumes ...).
    PodSpec,
    /// Any namespaced object of its own kind (an Event, a Flux source, a HelmRelease, a
    /// MeshConfig ...): `key` is the resource as kubectl's output file names it (`events`,
    /// `gitrepositories.source.toolkit.fluxcd.io`), `context` the object as JSON (its
    /// `metadata.name`, namespace, uid and resourceVersion are filled in).
    Object,
    /// A whole member of its own: `key` is its path in the bundle (`helm/list.json`,
    /// `logs/payments/<pod>/<container>.log`), `context` its content.
    Member,
}

impl Place {
    pub fn is_configmap(self) -> bool {
        matches!(
            self,
            Place::CmValue | Place::CmYaml | Place::CmJson | Place::CmEnv | Place::CmKubeconfig | Place::CmBinary
        )
    }
    pub fn is_pod(self) -> bool {
        matches!(
            self,
            Place::PodEnv | Place::Args | Place::Annotation | Place::LastApplied | Place::PodSpec
        )
    }
    pub fn is_log(self) -> bool {
        matches!(self, Place::LogPlain | Place::LogJson | Place::LogGoMap)
    }
}

/// A [`Place::Object`] item's object: its JSON with the metadata a listed object has.
pub fn object(name: &str, context: &str) -> Value {
    let mut v: Value = serde_json::from_str(context).expect("an Object context is JSON");
    let o = v.as_object_mut().expect("an Object context is a JSON object");
    let meta = o
        .entry("metadata")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .expect("metadata is an object");
    meta.insert("name".into(), Value::String(name.to_string()));
    meta.entry("namespace").or_insert(Value::String("payments".into()));
    meta.entry("uid").or_insert(Value::String(UID.into()));
    meta.entry("resourceVersion").or_insert(Value::String(RV.into()));
    v
}

/// One planted secret.
#[derive(Debug, Clone)]
pub struct Planted {
    pub id: String,
    pub kind: &'static str,
    pub place: Place,
    /// ConfigMap data key, env var name or annotation name (unused elsewhere).
    pub key: String,
    /// The secret as planted.
    pub secret: String,
    /// What must be absent from the output (the secret, or each body line of a key block);
    /// the last 16 and the last 8 characters of each are checked too.
    pub needles: Vec<String>,
    /// The text at `place` that holds the secret.
    pub context: String,
}

/// One ordinary value: must survive.
#[derive(Debug, Clone)]
pub struct Ordinary {
    pub id: String,
    pub place: Place,
    pub key: String,
    pub value: String,
    pub context: String,
}

/// splitmix64: deterministic values, different for each call.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| (self.next() >> 24) as u8).collect()
    }
    pub fn from(&mut self, alphabet: &str, n: usize) -> String {
        let a = alphabet.as_bytes();
        (0..n)
            .map(|_| a[(self.next() % a.len() as u64) as usize] as char)
            .collect()
    }
    pub fn alnum(&mut self, n: usize) -> String {
        // Always holds a digit, a lower and an upper case letter (as real tokens do).
        loop {
            let s = self.from(ALNUM, n);
            if n < 3
                || (s.bytes().any(|c| c.is_ascii_digit())
                    && s.bytes().any(|c| c.is_ascii_lowercase())
                    && s.bytes().any(|c| c.is_ascii_uppercase()))
            {
                return s;
            }
        }
    }
    pub fn hex(&mut self, n: usize) -> String {
        self.from("0123456789abcdef", n)
    }
    /// Base64 of `n` random bytes (a 64-byte storage key is 88 characters ending `==`).
    pub fn b64(&mut self, n: usize) -> String {
        STANDARD.encode(self.bytes(n))
    }
    pub fn guid(&mut self) -> String {
        let h = self.hex(32);
        format!("{}-{}-4{}-a{}-{}", &h[..8], &h[8..12], &h[13..16], &h[17..20], &h[20..])
    }
    /// A password as people choose them: letters, digits and punctuation.
    pub fn password(&mut self, n: usize) -> String {
        let mut s = self.alnum(n - 2);
        s.insert(3, '!');
        s.insert(7, '#');
        s
    }
}

pub const ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const B32: &str = "abcdefghijklmnopqrstuvwxyz234567";
pub const AAD: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_~.-";
/// The base64url alphabet.
pub const B64URL: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/// The DER head of a PKCS#1 RSA private key.
pub const RSA_DER_PREFIX: &[u8] = &[0x30, 0x82, 0x04, 0xa4, 0x02, 0x01, 0x00, 0x02, 0x82, 0x01, 0x01, 0x00];
/// The DER head of an SEC 1 EC private key.
pub const EC_DER_PREFIX: &[u8] = &[0x30, 0x77, 0x02, 0x01, 0x01, 0x04, 0x20];

/// `+`, `/`, `=` percent-encoded, as in a SAS `sig=`.
pub fn url_encode_b64(s: &str) -> String {
    s.replace('+', "%2B").replace('/', "%2F").replace('=', "%3D")
}

/// A PEM block: `label`, DER `prefix` then random bytes, base64 in 64-character lines.
fn pem(rng: &mut Rng, label: &str, prefix: &[u8], body: usize) -> (String, Vec<String>) {
    pem_eol(rng, label, prefix, body, "\n")
}

/// A PEM block with `eol` line ends: its text and its body lines (the middle ones are needles).
pub fn pem_eol(rng: &mut Rng, label: &str, prefix: &[u8], body: usize, eol: &str) -> (String, Vec<String>) {
    let mut der = prefix.to_vec();
    der.extend(rng.bytes(body));
    let b = STANDARD.encode(der);
    let lines: Vec<String> = b
        .as_bytes()
        .chunks(64)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    let text = format!(
        "-----BEGIN {label}-----{eol}{}{eol}-----END {label}-----{eol}",
        lines.join(eol)
    );
    (text, lines)
}

fn rsa_key(rng: &mut Rng) -> (String, Vec<String>) {
    pem(rng, "RSA PRIVATE KEY", RSA_DER_PREFIX, 1180)
}

fn ec_key(rng: &mut Rng) -> (String, Vec<String>) {
    pem(rng, "EC PRIVATE KEY", EC_DER_PREFIX, 114)
}

fn pkcs8_key(rng: &mut Rng) -> (String, Vec<String>) {
    pem(
        rng,
        "PRIVATE KEY",
        &[
            0x30, 0x82, 0x04, 0xbe, 0x02, 0x01, 0x00, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
            0x01, 0x01, 0x05, 0x00, 0x04, 0x82, 0x04, 0xa8,
        ],
        1190,
    )
}

/// A certificate: public, must survive.
pub fn certificate(rng: &mut Rng) -> String {
    pem(
        rng,
        "CERTIFICATE",
        &[
            0x30, 0x82, 0x03, 0x77, 0x30, 0x82, 0x02, 0x5f, 0xa0, 0x03, 0x02, 0x01, 0x02,
        ],
        870,
    )
    .0
}

pub fn openssh_key(rng: &mut Rng) -> (String, Vec<String>) {
    let mut raw =
        b"openssh-key-v1\0\0\0\0\x04none\0\0\0\x04none\0\0\0\0\0\0\0\x01\0\0\0\x33\0\0\0\x0bssh-ed25519".to_vec();
    raw.extend(rng.bytes(300));
    let b = STANDARD.encode(raw);
    let lines: Vec<String> = b
        .as_bytes()
        .chunks(70)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    let text = format!(
        "-----BEGIN OPENSSH PRIVATE KEY-----\n{}\n-----END OPENSSH PRIVATE KEY-----\n",
        lines.join("\n")
    );
    (text, lines)
}

/// The random middle of a base64-encoded PEM block: its head (`-----BEGIN ...`, the DER or
/// OpenSSH prefix) and tail (`-----END ...`) are the same in every key, so they say nothing.
fn b64_middle(b: &str) -> String {
    b[100..b.len() - 100].to_string()
}

fn jwt(rng: &mut Rng) -> String {
    let kid = rng.alnum(27);
    let h = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"RS256","kid":"{kid}","typ":"JWT"}}"#));
    let p = URL_SAFE_NO_PAD.encode(format!(
        r#"{{"aud":"https://management.azure.com/","iss":"https://sts.windows.net/{}/","iat":1764000000,"exp":1764003600,"oid":"{}","sub":"{}"}}"#,
        rng.guid(),
        rng.guid(),
        rng.alnum(43)
    ));
    let s = URL_SAFE_NO_PAD.encode(rng.bytes(256));
    format!("{h}.{p}.{s}")
}

fn aad_secret(rng: &mut Rng) -> String {
    format!(
        "{}{}Q~{}",
        rng.from(ALNUM, 3),
        rng.from("0123456789", 1),
        rng.from(AAD, 34)
    )
}

/// Go's encoding/json: `&`, `<`, `>` escaped (in compact JSON they occur only inside strings).
pub fn go_escape(json: &str) -> String {
    json.replace('&', "\\u0026")
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
}

/// Compact JSON of a value.
pub fn compact(v: &Value) -> String {
    serde_json::to_string(v).expect("JSON")
}

/// How [`Items`] checks that each needle is where it is planted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NeedleCheck {
    /// Each needle is in the context as written.
    InContext,
    /// Each needle is in every rendering of the item ([`docs_for`]): raw, or as a decoded
    /// JSON string.
    InEveryRendering,
}

/// The planted secrets of a corpus as they are added: ids get `prefix`, each id once.
pub struct Items {
    prefix: &'static str,
    check: NeedleCheck,
    pub items: Vec<Planted>,
}

impl Items {
    pub fn new(prefix: &'static str, check: NeedleCheck) -> Items {
        Items {
            prefix,
            check,
            items: Vec::new(),
        }
    }

    pub fn add(&mut self, id: &str, kind: &'static str, place: Place, key: &str, secret: &str, context: String) {
        self.needles(id, kind, place, key, secret, vec![secret.to_string()], context);
    }

    #[allow(clippy::too_many_arguments)]
    pub fn needles(
        &mut self,
        id: &str,
        kind: &'static str,
        place: Place,
        key: &str,
        secret: &str,
        needles: Vec<String>,
        context: String,
    ) {
        let full = format!("{}{id}", self.prefix);
        assert!(!self.items.iter().any(|p| p.id == full), "{id} twice");
        match self.check {
            NeedleCheck::InContext => assert!(
                needles.iter().all(|n| context.contains(n.as_str())),
                "{id}: a needle is not in its context"
            ),
            NeedleCheck::InEveryRendering => {
                for d in docs_for(id, place, key, &context) {
                    let t = texts_of(&d.path, &d.bytes);
                    for n in &needles {
                        assert!(
                            t.iter().any(|x| x.contains(n.as_str())),
                            "{id}: needle {n:?} not in the rendering {}",
                            d.path
                        );
                    }
                }
            }
        }
        self.items.push(Planted {
            id: full,
            kind,
            place,
            key: key.to_string(),
            secret: secret.to_string(),
            needles,
            context,
        });
    }
}

/// The ordinary values of a corpus as they are added: ids get `prefix`; each value must be in
/// its context.
pub struct Ordinaries {
    prefix: &'static str,
    pub items: Vec<Ordinary>,
}

impl Ordinaries {
    pub fn new(prefix: &'static str) -> Ordinaries {
        Ordinaries {
            prefix,
            items: Vec::new(),
        }
    }

    pub fn add(&mut self, id: &str, place: Place, key: &str, value: &str, context: String) {
        assert!(context.contains(value), "{id}: value not in context");
        self.items.push(Ordinary {
            id: format!("{}{id}", self.prefix),
            place,
            key: key.to_string(),
            value: value.to_string(),
            context,
        });
    }
}

/// The planted secrets.
pub fn corpus() -> Vec<Planted> {
    use Place::*;
    let mut c = Items::new("", NeedleCheck::InContext);
    let mut rng = Rng::new(0x5ec2_e7c0_7205);
    let g = &mut rng;

    // --- Azure Storage ---------------------------------------------------------------------
    let k = g.b64(64);
    c.add(
        "storage-key-bare",
        "azure-storage-key",
        CmValue,
        "storage-primary",
        &k,
        k.clone(),
    );
    let k = g.b64(64);
    c.add(
        "storage-connstr-value",
        "azure-storage-key",
        CmValue,
        "storage",
        &k,
        format!(
            "DefaultEndpointsProtocol=https;AccountName=contosodiag;AccountKey={k};EndpointSuffix=core.windows.net"
        ),
    );
    let k = g.b64(64);
    c.add(
        "storage-connstr-appsettings",
        "azure-storage-key",
        CmJson,
        "appsettings.json",
        &k,
        compact(&json!({"Logging": {"LogLevel": {"Default": "Information"}}, "Storage": {"Blob": format!("DefaultEndpointsProtocol=https;AccountName=contosoblob;AccountKey={k};EndpointSuffix=core.windows.net")}})),
    );
    let k = g.b64(64);
    c.add(
        "storage-key-env-name",
        "azure-storage-key",
        PodEnv,
        "AZURE_STORAGE_ACCOUNT_KEY",
        &k,
        k.clone(),
    );
    let k = g.b64(64);
    c.add(
        "storage-keys-list-az",
        "azure-storage-key",
        AzJson,
        "",
        &k,
        compact(&json!({"properties": {"storageKeys": [{"keyName": "key1", "permissions": "FULL", "value": k, "creationTime": "2026-01-10T08:00:00Z"}]}})),
    );
    let sig = url_encode_b64(&g.b64(32));
    c.add(
        "sas-url-value",
        "sas-signature",
        CmValue,
        "backup-target",
        &sig,
        format!("https://contosodiag.blob.core.windows.net/backups?sv=2022-11-02&ss=b&srt=co&sp=rwdlac&se=2027-01-01T00:00:00Z&st=2026-01-01T00:00:00Z&spr=https&sig={sig}"),
    );
    let sig = url_encode_b64(&g.b64(32));
    c.add(
        "sas-url-plain-log",
        "sas-signature",
        LogPlain,
        "",
        &sig,
        format!("2026-11-25T16:59:01Z INFO uploading snapshot to https://contosodiag.blob.core.windows.net/snapshots/n1.tar?sp=racw&st=2026-11-25T16:00:00Z&se=2026-11-26T00:00:00Z&spr=https&sv=2022-11-02&sr=b&sig={sig}"),
    );
    let sig = url_encode_b64(&g.b64(32));
    let enc = sig.replace('%', "%25");
    c.add(
        "sas-url-encoded-json-log",
        "sas-signature",
        LogJson,
        "",
        &enc,
        compact(&json!({"level": "error", "ts": "2026-11-25T16:59:02Z", "msg": "upload failed", "target": format!("https%3A%2F%2Fcontosodiag.blob.core.windows.net%2Fsnapshots%3Fsv%3D2022-11-02%26sr%3Dc%26sig%3D{enc}%26se%3D2026-11-26"), "status": 403})),
    );
    let sig = url_encode_b64(&g.b64(32));
    c.add(
        "sas-url-env-value",
        "sas-signature",
        PodEnv,
        "BACKUP_CONTAINER_URL",
        &sig,
        format!("https://contosodiag.blob.core.windows.net/db-backups?sp=rcwl&st=2026-11-01T00:00:00Z&se=2027-11-01T00:00:00Z&spr=https&sv=2022-11-02&sr=c&sig={sig}"),
    );
    let sig = url_encode_b64(&g.b64(32));
    c.add(
        "sas-connstr-sharedaccesssignature",
        "sas-signature",
        CmValue,
        "blob-sas",
        &sig,
        format!("BlobEndpoint=https://contosodiag.blob.core.windows.net/;SharedAccessSignature=sv=2022-11-02&ss=b&srt=sco&sp=rl&se=2027-01-01T00:00:00Z&spr=https&sig={sig}"),
    );

    // --- Service Bus / Event Hub / Event Grid / Functions -----------------------------------
    let k = g.b64(32);
    c.add(
        "servicebus-connstr-env",
        "servicebus-key",
        PodEnv,
        "ServiceBus__Namespace",
        &k,
        format!("Endpoint=sb://contoso-bus.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey={k}"),
    );
    let k = g.b64(32);
    c.add(
        "eventhub-connstr-envfile",
        "eventhub-key",
        CmEnv,
        "app.env",
        &k,
        format!("LOG_LEVEL=info\nEVENTHUB=Endpoint=sb://contoso-eh.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey={k};EntityPath=telemetry\nREGION=westeurope\n"),
    );
    let k = g.b64(32);
    c.add(
        "eventhub-connstr-plain-log",
        "eventhub-key",
        LogPlain,
        "",
        &k,
        format!("2026-11-25T16:59:03Z WARN producer: reconnecting to Endpoint=sb://contoso-eh.servicebus.windows.net/;SharedAccessKeyName=listen;SharedAccessKey={k};EntityPath=audit"),
    );
    let sig = url_encode_b64(&g.b64(32));
    c.add(
        "servicebus-sas-token-header",
        "sas-signature",
        LogPlain,
        "",
        &sig,
        format!("2026-11-25T16:59:04Z DEBUG amqp put-token Authorization: SharedAccessSignature sr=amqps%3A%2F%2Fcontoso-bus.servicebus.windows.net%2Forders&sig={sig}&se=1764090000&skn=RootManageSharedAccessKey"),
    );
    let k = g.b64(32);
    c.add(
        "eventgrid-aeg-sas-key-gomap",
        "eventgrid-key",
        LogGoMap,
        "",
        &k,
        format!("2026-11-25T16:59:05Z publish headers=map[Aeg-Sas-Key:[{k}] Content-Type:[application/cloudevents-batch+json]]"),
    );
    let code = format!("{}==", g.from(&format!("{ALNUM}_-"), 54));
    c.add(
        "function-key-code-query",
        "function-key",
        CmYaml,
        "notifier.yaml",
        &code,
        format!("notifier:\n  kind: webhook\n  address: https://contoso-fn.azurewebsites.net/api/alert?code={code}\n  timeout: 10s\n"),
    );

    // --- Cosmos / Redis / SQL / other databases ----------------------------------------------
    let k = g.b64(64);
    c.add(
        "cosmos-connstr-appsettings",
        "cosmos-key",
        CmJson,
        "appsettings.Production.json",
        &k,
        compact(&json!({"ConnectionStrings": {"Catalog": format!("AccountEndpoint=https://contoso-cosmos.documents.azure.com:443/;AccountKey={k};")}})),
    );
    let k = g.b64(64);
    c.add(
        "cosmos-key-bare-json-member",
        "cosmos-key",
        CmJson,
        "cosmos.json",
        &k,
        compact(&json!({"CosmosDb": {"Endpoint": "https://contoso-cosmos.documents.azure.com:443/", "Key": k, "Database": "catalog"}})),
    );
    let k = g.b64(64);
    c.add(
        "cosmos-primarykey-yaml",
        "cosmos-key",
        CmYaml,
        "cosmos.yaml",
        &k,
        format!("cosmos:\n  endpoint: https://contoso-cosmos.documents.azure.com:443/\n  primaryKey: {k}\n  database: catalog\n"),
    );
    let k = g.b64(32);
    c.add(
        "redis-stackexchange-value",
        "redis-password",
        CmValue,
        "cache",
        &k,
        format!("contoso-cache.redis.cache.windows.net:6380,password={k},ssl=True,abortConnect=False"),
    );
    let pw = g.alnum(32);
    c.add(
        "redis-url-password-only-env",
        "url-credentials",
        PodEnv,
        "REDIS_URL",
        &pw,
        format!("redis://:{pw}@contoso-cache.redis.cache.windows.net:6380/0"),
    );
    let pw = g.alnum(32);
    c.add(
        "rediss-url-user-pass-log",
        "url-credentials",
        LogPlain,
        "",
        &pw,
        format!("2026-11-25T16:59:06Z ERROR cache: dial rediss://default:{pw}@contoso-cache.redis.cache.windows.net:6380/0: i/o timeout"),
    );
    let pw = g.password(18);
    c.add(
        "sql-connstr-appsettings",
        "sql-password",
        CmJson,
        "appsettings.json",
        &pw,
        compact(&json!({"ConnectionStrings": {"Orders": format!("Server=tcp:contoso-sql.database.windows.net,1433;Initial Catalog=orders;Persist Security Info=False;User ID=sqladmin;Password={pw};MultipleActiveResultSets=False;Encrypt=True;")}})),
    );
    let pw = format!("{};{}}}}}{}", g.alnum(6), g.alnum(5), g.alnum(7));
    c.add(
        "odbc-pwd-braces-value",
        "sql-password",
        CmValue,
        "odbc",
        &pw,
        format!("Driver={{ODBC Driver 18 for SQL Server}};Server=tcp:contoso-sql.database.windows.net,1433;Database=orders;Uid=sqladmin;Pwd={{{pw}}};Encrypt=yes;TrustServerCertificate=no;"),
    );
    let pw = g.alnum(24);
    c.add(
        "postgres-url-envfile",
        "url-credentials",
        CmEnv,
        ".env",
        &pw,
        format!("DATABASE_URL=postgresql://appuser:{pw}@contoso-pg.postgres.database.azure.com:5432/orders?sslmode=require\nPOOL_SIZE=10\n"),
    );
    let k = g.b64(64);
    c.add(
        "mongo-cosmos-url-env",
        "url-credentials",
        PodEnv,
        "MONGO",
        &k,
        format!("mongodb://contoso-mongo:{k}@contoso-mongo.mongo.cosmos.azure.com:10255/?ssl=true&replicaSet=globaldb&retrywrites=false&maxIdleTimeMS=120000&appName=@contoso-mongo@"),
    );
    let pw = g.alnum(20);
    c.add(
        "jdbc-query-password-args",
        "sql-password",
        Args,
        "",
        &pw,
        format!("--spring.datasource.url=jdbc:mysql://contoso-mysql.mysql.database.azure.com:3306/shop?user=shop&password={pw}&useSSL=true"),
    );
    let pw = g.alnum(22);
    c.add(
        "amqp-url-plain-log",
        "url-credentials",
        LogPlain,
        "",
        &pw,
        format!("2026-11-25T16:59:07Z INFO connecting to amqps://orders-app:{pw}@contoso-rabbit.internal:5671/orders"),
    );
    let pw = g.password(16);
    c.add(
        "xml-connectionstring-value",
        "sql-password",
        CmValue,
        "web.config",
        &pw,
        format!("<configuration>\n  <connectionStrings>\n    <add name=\"Db\" connectionString=\"Server=contoso-sql;Database=orders;User Id=app;Password={pw};\" providerName=\"System.Data.SqlClient\" />\n  </connectionStrings>\n</configuration>\n"),
    );

    // --- Azure AD ------------------------------------------------------------------------------
    let s = aad_secret(g);
    c.add(
        "aad-secret-yaml",
        "aad-client-secret",
        CmYaml,
        "azure.yaml",
        &s,
        format!("azure:\n  tenantId: 72f988bf-86f1-41af-91ab-2d7cd011db47\n  clientId: 3f1e2d4c-5b6a-4789-8c0d-1e2f3a4b5c6d\n  clientSecret: {s}\n"),
    );
    let s = aad_secret(g);
    c.add(
        "aad-secret-env-name",
        "aad-client-secret",
        PodEnv,
        "AZURE_CLIENT_SECRET",
        &s,
        s.clone(),
    );
    let s = aad_secret(g);
    c.add(
        "aad-secret-arg-equals",
        "aad-client-secret",
        Args,
        "",
        &s,
        format!("--client-id=3f1e2d4c-5b6a-4789-8c0d-1e2f3a4b5c6d\n--client-secret={s}\n--tenant-id=72f988bf-86f1-41af-91ab-2d7cd011db47"),
    );
    let s = aad_secret(g);
    c.add(
        "aad-secret-arg-separate",
        "aad-client-secret",
        Args,
        "",
        &s,
        format!("--client-secret\n{s}"),
    );
    let s = aad_secret(g);
    c.add(
        "aad-secret-form-json-log",
        "aad-client-secret",
        LogJson,
        "",
        &s,
        compact(&json!({"level": "debug", "ts": "2026-11-25T16:59:08Z", "msg": "token request", "body": format!("grant_type=client_credentials&client_id=3f1e2d4c-5b6a-4789-8c0d-1e2f3a4b5c6d&client_secret={s}&scope=https%3A%2F%2Fmanagement.azure.com%2F.default")})),
    );
    let s = aad_secret(g);
    c.add(
        "aad-secret-az-settings",
        "aad-client-secret",
        AzJson,
        "",
        &s,
        compact(&json!({"properties": {"extensionType": "microsoft.contoso.sync", "configurationSettings": {"sync.sp.appId": "3f1e2d4c-5b6a-4789-8c0d-1e2f3a4b5c6d", "sync.sp.value": s}}})),
    );
    let s = g.from(AAD, 34);
    c.add(
        "aad-secret-legacy-envfile",
        "aad-client-secret",
        CmEnv,
        "sp.env",
        &s,
        format!("AAD_TENANT=72f988bf-86f1-41af-91ab-2d7cd011db47\nAAD_CLIENT_SECRET={s}\n"),
    );

    // --- AWS / GCP -----------------------------------------------------------------------------
    let id = format!("AKIA{}", g.from("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16));
    let sk = g.from(&format!("{ALNUM}+/"), 40);
    let ini = format!("[default]\naws_access_key_id = {id}\naws_secret_access_key = {sk}\nregion = eu-west-1\n");
    c.add(
        "aws-id-credentials-file",
        "aws-access-key",
        CmValue,
        "credentials",
        &id,
        ini.clone(),
    );
    c.add(
        "aws-secret-credentials-file",
        "aws-secret-key",
        CmValue,
        "aws-credentials",
        &sk,
        ini,
    );
    let sk = g.from(&format!("{ALNUM}+/"), 40);
    c.add(
        "aws-secret-env-name",
        "aws-secret-key",
        PodEnv,
        "AWS_SECRET_ACCESS_KEY",
        &sk,
        sk.clone(),
    );
    let id = format!("ASIA{}", g.from("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16));
    let sk = g.from(&format!("{ALNUM}+/"), 40);
    let st = format!("IQoJb3JpZ2luX2Vj{}", g.from(&format!("{ALNUM}+/"), 300));
    let env = format!("AWS_ACCESS_KEY_ID={id}\nAWS_SECRET_ACCESS_KEY={sk}\nAWS_SESSION_TOKEN={st}\n");
    c.add(
        "aws-asia-id-envfile",
        "aws-access-key",
        CmEnv,
        "aws.env",
        &id,
        env.clone(),
    );
    c.add(
        "aws-session-token-envfile",
        "aws-session-token",
        CmEnv,
        "aws-session.env",
        &st,
        env,
    );
    let id = format!("AKIA{}", g.from("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16));
    let sk = g.from(&format!("{ALNUM}+/"), 40);
    let line = compact(
        &json!({"level": "info", "msg": "s3 client configured", "accessKeyId": id, "secretAccessKey": sk, "bucket": "contoso-backups"}),
    );
    c.add("aws-id-json-log", "aws-access-key", LogJson, "", &id, line.clone());
    c.add("aws-secret-json-log", "aws-secret-key", LogJson, "", &sk, line);
    let k = format!("AIza{}", g.from(&format!("{ALNUM}_-"), 35));
    c.add("gcp-api-key-bare", "gcp-api-key", CmValue, "maps", &k, k.clone());
    let (pemtext, lines) = pkcs8_key(g);
    let sa = json!({"type": "service_account", "project_id": "contoso-prod", "private_key_id": g.hex(40), "private_key": pemtext, "client_email": "sync@contoso-prod.iam.gserviceaccount.com", "client_id": "104263541920358129773", "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": "https://oauth2.googleapis.com/token"});
    let sa_text = serde_json::to_string_pretty(&sa).expect("JSON");
    c.needles(
        "gcp-service-account-json-value",
        "gcp-private-key",
        CmValue,
        "sa.json",
        &pemtext,
        lines,
        sa_text,
    );
    let (pemtext, lines) = pkcs8_key(g);
    let sa = json!({"type": "service_account", "project_id": "contoso-prod", "private_key": pemtext, "client_email": "dns@contoso-prod.iam.gserviceaccount.com"});
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "gcp-dns", "namespace": "payments"}, "data": {"credentials.json": compact(&sa)}});
    c.needles(
        "gcp-service-account-last-applied",
        "gcp-private-key",
        LastApplied,
        "",
        &pemtext,
        lines,
        compact(&cm),
    );
    let s = format!("GOCSPX-{}", g.from(&format!("{ALNUM}_-"), 28));
    c.add(
        "gcp-oauth-secret-yaml",
        "gcp-client-secret",
        CmYaml,
        "oauth2-proxy.yaml",
        &s,
        format!("providers:\n  - id: google\n    provider: google\n    clientID: 104263541920-abc.apps.googleusercontent.com\n    clientSecretValue: {s}\n"),
    );

    // --- GitHub / GitLab / Azure DevOps --------------------------------------------------------
    let t = format!("ghp_{}", g.alnum(36));
    c.add(
        "github-ghp-url-userpass",
        "github-token",
        CmValue,
        "repo",
        &t,
        format!("https://x-access-token:{t}@github.com/contoso/fleet.git"),
    );
    let t = format!("ghp_{}", g.alnum(36));
    c.add(
        "github-ghp-plain-log",
        "github-token",
        LogPlain,
        "",
        &t,
        format!("2026-11-25T16:59:09Z INFO cloning fleet with token {t} (scopes: repo)"),
    );
    let t = format!("github_pat_{}_{}", g.alnum(22), g.alnum(59));
    c.add(
        "github-fine-grained-env",
        "github-token",
        PodEnv,
        "GH_PAT",
        &t,
        t.clone(),
    );
    let t = format!("ghs_{}", g.alnum(36));
    c.add(
        "github-ghs-json-log",
        "github-token",
        LogJson,
        "",
        &t,
        compact(&json!({"level": "info", "msg": "installation token minted", "authorization": format!("token {t}"), "expires_at": "2026-11-25T17:59:09Z"})),
    );
    let t = format!("gho_{}", g.alnum(36));
    c.add(
        "github-gho-annotation",
        "github-token",
        Annotation,
        "contoso.io/deploy-hook",
        &t,
        format!("curl -H 'Authorization: token {t}' https://api.github.com/repos/contoso/fleet/dispatches"),
    );
    let t = format!("glpat-{}", g.from(&format!("{ALNUM}_-"), 20));
    c.add(
        "gitlab-pat-url-az-flux",
        "gitlab-token",
        AzJson,
        "",
        &t,
        compact(&json!({"properties": {"sourceKind": "GitRepository", "gitRepository": {"url": format!("https://oauth2:{t}@gitlab.com/contoso/fleet.git"), "repositoryRef": {"branch": "main"}, "timeoutInSeconds": 600}}})),
    );
    let t = format!("glpat-{}", g.from(&format!("{ALNUM}_-"), 20));
    c.add(
        "gitlab-pat-envfile",
        "gitlab-token",
        CmEnv,
        "ci.env",
        &t,
        format!("GITLAB_HOST=gitlab.com\nGITLAB={t}\n"),
    );
    let t = format!("glrt-{}", g.from(&format!("{ALNUM}_-"), 20));
    c.add(
        "gitlab-runner-toml",
        "gitlab-token",
        CmValue,
        "config.toml",
        &t,
        format!("concurrent = 4\n\n[[runners]]\n  name = \"contoso-k8s\"\n  url = \"https://gitlab.com/\"\n  token = \"{t}\"\n  executor = \"kubernetes\"\n"),
    );
    let t = g.from(B32, 52);
    c.add(
        "ado-pat-user-only-url-az-flux",
        "azure-devops-pat",
        AzJson,
        "",
        &t,
        compact(&json!({"properties": {"sourceKind": "GitRepository", "gitRepository": {"url": format!("https://{t}@dev.azure.com/contoso/fleet/_git/gitops"), "repositoryRef": {"branch": "main"}}}})),
    );
    let t = g.from(B32, 52);
    c.add(
        "ado-pat-user-pass-url-args",
        "azure-devops-pat",
        Args,
        "",
        &t,
        format!("--repo=https://build:{t}@dev.azure.com/contoso/fleet/_git/gitops"),
    );
    let t = format!("{}AZDO{}", g.alnum(76), g.alnum(4));
    c.add("ado-pat-84-env", "azure-devops-pat", PodEnv, "ADO_PAT", &t, t.clone());
    let t = g.from(B32, 52);
    let basic = STANDARD.encode(format!(":{t}"));
    c.add(
        "ado-pat-extraheader-basic-log",
        "basic-auth",
        LogPlain,
        "",
        &basic,
        format!(
            "2026-11-25T16:59:10Z INFO git -c http.extraheader=\"AUTHORIZATION: basic {basic}\" fetch --tags origin"
        ),
    );

    // --- npm / Docker ----------------------------------------------------------------------------
    let t = format!("npm_{}", g.alnum(36));
    c.add(
        "npmrc-authtoken",
        "npm-token",
        CmValue,
        ".npmrc",
        &t,
        format!("registry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken={t}\nalways-auth=true\n"),
    );
    let pat = STANDARD.encode(g.from(B32, 52));
    c.add(
        "npmrc-azure-artifacts-password",
        "npm-password",
        CmValue,
        "npmrc",
        &pat,
        format!("; begin auth token\n//pkgs.dev.azure.com/contoso/_packaging/feed/npm/registry/:username=contoso\n//pkgs.dev.azure.com/contoso/_packaging/feed/npm/registry/:_password={pat}\n//pkgs.dev.azure.com/contoso/_packaging/feed/npm/registry/:email=npm requires email to be set but doesn't use the value\n; end auth token\n"),
    );
    let t = format!("npm_{}", g.alnum(36));
    c.add(
        "npm-token-plain-log",
        "npm-token",
        LogPlain,
        "",
        &t,
        format!("2026-11-25T16:59:11Z npm notice publishing with {t}"),
    );
    let userpass = format!("contosopull:{}", g.alnum(32));
    let auth = STANDARD.encode(&userpass);
    c.add(
        "docker-config-auth",
        "docker-auth",
        CmJson,
        "config.json",
        &auth,
        compact(&json!({"auths": {"contoso.azurecr.io": {"auth": auth}}})),
    );
    let pw = g.alnum(32);
    let auth = STANDARD.encode(format!("bot:{pw}"));
    let dc = json!({"auths": {"ghcr.io": {"username": "bot", "password": pw, "auth": auth}}});
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "registry", "namespace": "payments"}, "data": {"config.json": compact(&dc)}});
    c.add(
        "docker-config-last-applied-auth",
        "docker-auth",
        LastApplied,
        "",
        &auth,
        compact(&cm),
    );
    let t = format!("dckr_pat_{}", g.from(&format!("{ALNUM}_-"), 27));
    c.add(
        "dockerhub-pat-args",
        "docker-token",
        Args,
        "",
        &t,
        format!("--registry=docker.io\n--password={t}"),
    );
    let idt = jwt(g);
    c.add(
        "docker-config-identitytoken",
        "jwt",
        CmJson,
        ".dockerconfigjson",
        &idt,
        compact(&json!({"auths": {"contoso.azurecr.io": {"identitytoken": idt}}})),
    );

    // --- Chat webhooks and tokens ----------------------------------------------------------------
    let path = format!(
        "T{}/B{}/{}",
        g.from("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 8),
        g.from("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 10),
        g.alnum(24)
    );
    c.add(
        "slack-webhook-alertmanager-yaml",
        "chat-webhook",
        CmYaml,
        "alertmanager.yml",
        &path,
        format!("route:\n  receiver: ops\nreceivers:\n- name: ops\n  slack_configs:\n  - api_url: https://hooks.slack.com/services/{path}\n    channel: '#ops'\n"),
    );
    let t = format!(
        "xoxb-{}-{}-{}",
        g.from("0123456789", 12),
        g.from("0123456789", 13),
        g.alnum(24)
    );
    c.add("slack-bot-token-env", "chat-token", PodEnv, "SLACK_BOT", &t, t.clone());
    let t = format!(
        "xoxp-{}-{}-{}-{}",
        g.from("0123456789", 12),
        g.from("0123456789", 12),
        g.from("0123456789", 13),
        g.hex(32)
    );
    c.add(
        "slack-user-token-plain-log",
        "chat-token",
        LogPlain,
        "",
        &t,
        format!("2026-11-25T16:59:12Z WARN slack: rate limited, token={t} retry in 30s"),
    );
    let h = g.hex(32);
    let v2 = format!("V2{}", g.from(&format!("{ALNUM}_-"), 43));
    let url = format!(
        "https://contoso.webhook.office.com/webhookb2/{}@72f988bf-86f1-41af-91ab-2d7cd011db47/IncomingWebhook/{h}/{}/{v2}",
        g.guid(),
        g.guid()
    );
    c.needles(
        "teams-webhook-yaml",
        "chat-webhook",
        CmYaml,
        "notification.yaml",
        &url,
        vec![h.clone(), v2.clone()],
        format!("apiVersion: notification.toolkit.fluxcd.io/v1beta3\nkind: Provider\nspec:\n  type: msteams\n  address: {url}\n"),
    );
    let sig = g.from(&format!("{ALNUM}_-"), 43);
    c.add(
        "teams-workflow-logic-app-sig",
        "chat-webhook",
        CmValue,
        "teams-workflow",
        &sig,
        format!("https://prod-21.westeurope.logic.azure.com:443/workflows/{}/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={sig}", g.hex(32)),
    );
    let t = g.from(&format!("{ALNUM}_-"), 68);
    c.add(
        "discord-webhook-plain-log",
        "chat-webhook",
        LogPlain,
        "",
        &t,
        format!(
            "2026-11-25T16:59:13Z INFO notify: POST https://discord.com/api/webhooks/{}/{t} -> 204",
            g.from("0123456789", 19)
        ),
    );

    // --- JWTs and authorization headers ------------------------------------------------------------
    let t = jwt(g);
    c.add(
        "jwt-kubeconfig-token",
        "jwt",
        CmKubeconfig,
        "kubeconfig",
        &t,
        kubeconfig(&format!("    token: {t}\n")),
    );
    let t = jwt(g);
    c.add(
        "jwt-bearer-header-plain-log",
        "jwt",
        LogPlain,
        "",
        &t,
        format!("2026-11-25T16:59:14Z DEBUG > GET /subscriptions?api-version=2022-12-01\n> Authorization: Bearer {t}\n> User-Agent: arc-agent/1.21.6"),
    );
    let t = jwt(g);
    c.add(
        "jwt-id-token-json-log",
        "jwt",
        LogJson,
        "",
        &t,
        compact(&json!({"level": "debug", "msg": "oidc callback", "id_token": t, "state": "af0ifjsldkj"})),
    );
    let t = jwt(g);
    c.add(
        "jwt-annotation",
        "jwt",
        Annotation,
        "contoso.io/ci-identity",
        &t,
        t.clone(),
    );
    let t = g.from(&format!("{ALNUM}-._~"), 40);
    c.add(
        "bearer-opaque-gomap",
        "bearer-token",
        LogGoMap,
        "",
        &t,
        format!("2026-11-25T16:59:15Z request GET https://api.contoso.io/v1/orders headers=map[Accept:[application/json] Authorization:[Bearer {t}] User-Agent:[Go-http-client/1.1]]"),
    );
    let b = STANDARD.encode(format!("admin:{}", g.password(14)));
    c.add(
        "basic-gomap",
        "basic-auth",
        LogGoMap,
        "",
        &b,
        format!("2026-11-25T16:59:16Z proxy request map[Authorization:[Basic {b}] X-Forwarded-For:[10.0.0.12]]"),
    );
    let k = g.b64(32);
    c.add(
        "sharedkey-header-plain-log",
        "shared-key",
        LogPlain,
        "",
        &k,
        format!("2026-11-25T16:59:17Z DEBUG PUT https://contosodiag.blob.core.windows.net/c/b Authorization: SharedKey contosodiag:{k} x-ms-version: 2023-11-03"),
    );
    let k = g.hex(32);
    c.add(
        "apim-subscription-key-gomap",
        "api-key",
        LogGoMap,
        "",
        &k,
        format!("2026-11-25T16:59:18Z outbound map[Content-Type:[application/json] Ocp-Apim-Subscription-Key:[{k}]]"),
    );
    let k = g.hex(32);
    c.add(
        "azure-openai-api-key-gomap",
        "api-key",
        LogGoMap,
        "",
        &k,
        format!("2026-11-25T16:59:19Z openai request headers: map[Api-Key:[{k}] Content-Type:[application/json]]"),
    );
    let k = g.alnum(40);
    c.add(
        "x-api-key-header-plain-log",
        "api-key",
        LogPlain,
        "",
        &k,
        format!("2026-11-25T16:59:20Z DEBUG request headers:\nx-api-key: {k}\naccept: */*"),
    );
    let t = format!("hvs.{}", g.from(&format!("{ALNUM}_-"), 90));
    c.add(
        "vault-token-json-log",
        "vault-token",
        LogJson,
        "",
        &t,
        compact(&json!({"@level": "debug", "@message": "request", "headers": {"X-Vault-Token": [t], "X-Vault-Request": ["true"]}})),
    );
    let b = STANDARD.encode(format!("proxyuser:{}", g.alnum(16)));
    c.add(
        "proxy-authorization-gomap",
        "basic-auth",
        LogGoMap,
        "",
        &b,
        format!("2026-11-25T16:59:21Z CONNECT management.azure.com:443 map[Proxy-Authorization:[Basic {b}] User-Agent:[arc-agent]]"),
    );

    // --- Cookies ------------------------------------------------------------------------------
    let s = g.from(&format!("{ALNUM}-_"), 120);
    c.add(
        "cookie-header-plain-log",
        "cookie",
        LogPlain,
        "",
        &s,
        format!("2026-11-25T16:59:22Z DEBUG Cookie: ARRAffinity=4b2f0c1d; .AspNetCore.Session={s}; lang=en"),
    );
    let s = g.alnum(48);
    c.add(
        "set-cookie-gomap",
        "cookie",
        LogGoMap,
        "",
        &s,
        format!("2026-11-25T16:59:23Z response 302 map[Location:[/home] Set-Cookie:[session={s}; Path=/; HttpOnly; Secure; SameSite=Lax]]"),
    );
    let s = g.alnum(64);
    c.add(
        "set-cookie-json-log",
        "cookie",
        LogJson,
        "",
        &s,
        compact(&json!({"level": "info", "msg": "login ok", "resp_headers": {"Set-Cookie": format!("oauth2_proxy={s}; Path=/; Expires=Thu, 26 Nov 2026 17:00:00 GMT; HttpOnly; Secure")}})),
    );

    // --- Private keys -------------------------------------------------------------------------------
    let (k, lines) = rsa_key(g);
    c.needles(
        "pem-rsa-tls-key",
        "private-key",
        CmValue,
        "tls.key",
        &k,
        lines,
        k.clone(),
    );
    let cert = certificate(g);
    let (k, lines) = ec_key(g);
    let ind = |s: &str, n: usize| -> String { s.lines().map(|l| format!("{}{l}\n", " ".repeat(n))).collect() };
    c.needles(
        "pem-ec-yaml-block-scalar",
        "private-key",
        CmYaml,
        "ingress.yaml",
        &k,
        lines,
        format!(
            "tls:\n  cert: |\n{}  key: |\n{}  minVersion: TLS1.2\n",
            ind(&cert, 4),
            ind(&k, 4)
        ),
    );
    let (k, lines) = pkcs8_key(g);
    c.needles(
        "pem-pkcs8-json-log-escaped",
        "private-key",
        LogJson,
        "",
        &k,
        lines,
        compact(&json!({"level": "error", "msg": "could not parse key", "key": k, "err": "x509: unknown format"})),
    );
    let (k, lines) = pem(
        g,
        "ENCRYPTED PRIVATE KEY",
        &[
            0x30, 0x82, 0x05, 0x0d, 0x30, 0x57, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d,
        ],
        1290,
    );
    c.needles(
        "pem-encrypted-pkcs8",
        "private-key",
        CmValue,
        "signing.pem",
        &k,
        lines,
        k.clone(),
    );
    let body = STANDARD.encode(g.bytes(1190));
    let lines: Vec<String> = body
        .as_bytes()
        .chunks(64)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    let k = format!(
        "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,{}\n\n{}\n-----END RSA PRIVATE KEY-----\n",
        g.hex(32).to_uppercase(),
        lines.join("\n")
    );
    c.needles(
        "pem-legacy-encrypted-annotation",
        "private-key",
        Annotation,
        "contoso.io/signing-key",
        &k,
        lines,
        k.clone(),
    );
    let (k, lines) = rsa_key(g);
    let cut: Vec<String> = lines[..6].to_vec();
    let log = format!(
        "2026-11-25T16:59:24Z ERROR failed to load key from env:\n-----BEGIN RSA PRIVATE KEY-----\n{}\n2026-11-25T16:59:25Z INFO retrying in 5s",
        cut.join("\n")
    );
    let _ = k;
    c.needles(
        "pem-rsa-cut-short-plain-log",
        "private-key",
        LogPlain,
        "",
        &cut.join("\n"),
        cut,
        log,
    );
    let (k, lines) = openssh_key(g);
    c.needles(
        "openssh-key-flux-identity",
        "private-key",
        CmValue,
        "identity",
        &k,
        lines[1..].to_vec(),
        k.clone(),
    );
    let (k, lines) = openssh_key(g);
    let cut: Vec<String> = lines[1..3].to_vec();
    let head: String = k.lines().take(4).collect::<Vec<_>>().join("\n");
    c.needles(
        "openssh-key-yaml-cut-short",
        "private-key",
        CmYaml,
        "git.yaml",
        &head,
        cut,
        format!(
            "git:\n  url: ssh://git@github.com/contoso/fleet.git\n  identity: |\n{}",
            ind(&head, 4)
        ),
    );
    let pgp_lines: Vec<String> = STANDARD
        .encode(g.bytes(900))
        .as_bytes()
        .chunks(64)
        .map(|c| format!("lQ{}", String::from_utf8_lossy(c)))
        .collect();
    let pgp = format!(
        "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n{}\n={}\n-----END PGP PRIVATE KEY BLOCK-----\n",
        pgp_lines.join("\n"),
        g.from(ALNUM, 4)
    );
    c.needles(
        "pgp-sops-key",
        "private-key",
        CmValue,
        "sops.asc",
        &pgp,
        pgp_lines,
        pgp.clone(),
    );
    let pub_lines = ["AAAAC3NzaC1lZDI1NTE5AAAAIHq3LpP8Cr6h0uJkZyWqH2o1PfsG4xN7Yb0eVdKc9TsA".to_string()];
    let priv_line = format!("AAAAI{}", g.from(&format!("{ALNUM}+/"), 40));
    let ppk = format!(
        "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: eddsa-key-20261201\nPublic-Lines: 1\n{}\nPrivate-Lines: 1\n{priv_line}\nPrivate-MAC: {}\n",
        pub_lines[0],
        g.hex(64)
    );
    c.needles(
        "putty-ppk-v3",
        "private-key",
        CmValue,
        "deploy.ppk",
        &ppk,
        vec![priv_line],
        ppk.clone(),
    );
    let (k, lines) = rsa_key(g);
    let kd = STANDARD.encode(&k);
    let _ = lines;
    c.needles(
        "kubeconfig-client-key-data",
        "private-key",
        CmKubeconfig,
        "kubeconfig",
        &kd,
        vec![b64_middle(&kd)],
        kubeconfig(&format!(
            "    client-certificate-data: {}\n    client-key-data: {kd}\n",
            STANDARD.encode(certificate(g))
        )),
    );
    let (k, _) = ec_key(g);
    let kd = STANDARD.encode(&k);
    c.needles(
        "pem-base64-env",
        "private-key",
        PodEnv,
        "TLS_KEY_B64",
        &kd,
        vec![b64_middle(&kd)],
        kd.clone(),
    );
    let wg = g.b64(32);
    c.add(
        "wireguard-privatekey-value",
        "private-key",
        CmValue,
        "wg0.conf",
        &wg,
        format!("[Interface]\nAddress = 10.8.0.2/24\nPrivateKey = {wg}\nDNS = 10.8.0.1\n\n[Peer]\nPublicKey = hN5T6xgQb1dKjFz3lqkSx0Ae8cRcY2o9TtWcL1nVh2s=\nEndpoint = vpn.contoso.com:51820\n"),
    );
    let age = format!("AGE-SECRET-KEY-1{}", g.from("QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", 58));
    c.add(
        "age-secret-key-value",
        "age-key",
        CmValue,
        "age.agekey",
        &age,
        format!("# created: 2026-11-01T10:00:00Z\n# public key: age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p\n{age}\n"),
    );

    // --- URL credentials, passwords in YAML / env / properties -------------------------------------
    let t = g.hex(40);
    c.add(
        "url-user-only-hex-token-az-flux",
        "url-credentials",
        AzJson,
        "",
        &t,
        compact(&json!({"properties": {"sourceKind": "GitRepository", "gitRepository": {"url": format!("https://{t}@git.contoso.com/platform/fleet.git"), "repositoryRef": {"tag": "v1.4.0"}}}})),
    );
    let pw = g.alnum(18);
    c.add(
        "https-proxy-env",
        "url-credentials",
        PodEnv,
        "HTTPS_PROXY",
        &pw,
        format!("http://proxyuser:{pw}@proxy.contoso.com:3128"),
    );
    let pw = g.alnum(18);
    c.add(
        "https-proxy-arc-configmap",
        "url-credentials",
        CmValue,
        "HTTPS_PROXY",
        &pw,
        format!("http://arcproxy:{pw}@proxy.contoso.com:3128"),
    );
    let pw = format!("{}%40{}%3A{}", g.alnum(6), g.alnum(5), g.alnum(6));
    c.add(
        "url-percent-encoded-password-log",
        "url-credentials",
        LogPlain,
        "",
        &pw,
        format!("2026-11-25T16:59:26Z INFO fetching chart from https://charts-bot:{pw}@charts.contoso.com/stable/index.yaml"),
    );
    let pw = g.alnum(14);
    c.add(
        "ftp-url-plain-log",
        "url-credentials",
        LogPlain,
        "",
        &pw,
        format!("2026-11-25T16:59:27Z INFO export: ftp://exporter:{pw}@ftp.contoso.com/reports/ done"),
    );
    let pw = g.password(16);
    c.add(
        "yaml-password-plain",
        "password",
        CmYaml,
        "values.yaml",
        &pw,
        format!("db:\n  host: contoso-pg.postgres.database.azure.com\n  user: app\n  password: {pw}\n  port: 5432\n"),
    );
    let pw = format!("{} # {}", g.alnum(8), g.alnum(8));
    c.add(
        "yaml-password-quoted-hash",
        "password",
        CmYaml,
        "smtp.yaml",
        &pw,
        format!("smtp:\n  host: smtp.office365.com\n  password: \"{pw}\"\n  from: alerts@contoso.com\n"),
    );
    let pw = g.password(14);
    c.add(
        "yaml-rootpassword-nested",
        "password",
        CmYaml,
        "redis-values.yaml",
        &pw,
        format!("architecture: standalone\nauth:\n  enabled: true\n  rootPassword: {pw}\nmaster:\n  persistence:\n    size: 8Gi\n"),
    );
    let pw = g.password(16);
    c.add(
        "envfile-db-password",
        "password",
        CmEnv,
        "db.env",
        &pw,
        format!("DB_HOST=contoso-sql.database.windows.net\nDB_USER=app\nDB_PASSWORD={pw}\n"),
    );
    let pw = format!("{} {} {}", g.alnum(5), g.alnum(5), g.alnum(6));
    c.add(
        "envfile-export-quoted-spaces",
        "password",
        CmEnv,
        "profile.env",
        &pw,
        format!("export PGUSER=app\nexport PGPASSWORD='{pw}'\n"),
    );
    let pw = g.password(16);
    c.add(
        "env-postgres-password",
        "password",
        PodEnv,
        "POSTGRES_PASSWORD",
        &pw,
        pw.clone(),
    );
    let pw = g.password(16);
    c.add(
        "spring-properties-password",
        "password",
        CmValue,
        "application.properties",
        &pw,
        format!("spring.datasource.url=jdbc:postgresql://contoso-pg:5432/orders\nspring.datasource.username=app\nspring.datasource.password={pw}\nserver.port=8080\n"),
    );
    let pw = g.password(16);
    c.add(
        "grafana-ini-admin-password",
        "password",
        CmValue,
        "grafana.ini",
        &pw,
        format!("[security]\nadmin_user = admin\nadmin_password = {pw}\n\n[server]\nroot_url = https://grafana.contoso.com/\n"),
    );
    let pw = g.password(16);
    c.add(
        "json-log-password-field",
        "password",
        LogJson,
        "",
        &pw,
        compact(&json!({"level": "warn", "msg": "retrying db connect", "config": {"host": "contoso-pg", "user": "app", "password": pw}})),
    );
    let pw = g.password(16);
    c.add(
        "dapr-component-name-value-yaml",
        "password",
        CmYaml,
        "statestore.yaml",
        &pw,
        format!("apiVersion: dapr.io/v1alpha1\nkind: Component\nspec:\n  type: state.redis\n  metadata:\n  - name: redisHost\n    value: contoso-cache:6379\n  - name: redisPassword\n    value: {pw}\n"),
    );
    let pw = g.password(16);
    c.add(
        "az-appsettings-name-value",
        "password",
        AzJson,
        "",
        &pw,
        compact(&json!({"properties": {"appSettings": [{"name": "DB_HOST", "slotSetting": false, "value": "contoso-sql"}, {"name": "DB_PASSWORD", "slotSetting": false, "value": pw}]}})),
    );
    let pw = g.password(16);
    c.add(
        "curl-user-args",
        "password",
        Args,
        "",
        &pw,
        format!("-sf\n-u\nadmin:{pw}\nhttps://grafana.contoso.com/api/health"),
    );
    let pw = g.password(16);
    c.add(
        "kubeconfig-basic-password",
        "password",
        CmKubeconfig,
        "kubeconfig",
        &pw,
        kubeconfig(&format!("    username: admin\n    password: {pw}\n")),
    );
    let at = g.alnum(40);
    let rt = g.alnum(60);
    let kc = kubeconfig(&format!(
        "    auth-provider:\n      name: oidc\n      config:\n        client-id: kubernetes\n        access-token: {at}\n        refresh-token: {rt}\n        idp-issuer-url: https://login.contoso.com/\n"
    ));
    c.add(
        "kubeconfig-auth-provider-access",
        "token",
        CmKubeconfig,
        "kubeconfig",
        &at,
        kc.clone(),
    );
    c.add(
        "kubeconfig-auth-provider-refresh",
        "token",
        CmKubeconfig,
        "kubeconfig-oidc",
        &rt,
        kc,
    );
    let s = aad_secret(g);
    c.add(
        "kubeconfig-exec-env-name-value",
        "aad-client-secret",
        CmKubeconfig,
        "kubeconfig",
        &s,
        kubeconfig(&format!("    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: kubelogin\n      args:\n      - get-token\n      - --login\n      - spn\n      env:\n      - name: AAD_SERVICE_PRINCIPAL_CLIENT_SECRET\n        value: {s}\n")),
    );
    let t = format!(
        "{}.{}",
        g.from("abcdefghijklmnopqrstuvwxyz0123456789", 6),
        g.from("abcdefghijklmnopqrstuvwxyz0123456789", 16)
    );
    c.add(
        "kubeadm-bootstrap-token-log",
        "bootstrap-token",
        LogPlain,
        "",
        &t,
        format!("2026-11-25T16:59:28Z INFO run on the new node: kubeadm join 10.0.0.4:6443 --token {t} --discovery-token-ca-cert-hash sha256:8f9c1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f"),
    );
    let k = g.b64(32);
    c.add(
        "etcd-encryption-config-secret",
        "encryption-key",
        CmYaml,
        "encryption-config.yaml",
        &k,
        format!("apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources:\n  - secrets\n  providers:\n  - aescbc:\n      keys:\n      - name: key1\n        secret: {k}\n  - identity: {{}}\n"),
    );
    let k = g.b64(64);
    c.add(
        "ama-workspace-key-az-protected",
        "workspace-key",
        AzJson,
        "",
        &k,
        compact(&json!({"properties": {"extensionType": "microsoft.azuremonitor.containers", "configurationSettings": {"logAnalyticsWorkspaceResourceID": "/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/contoso-monitor/providers/Microsoft.OperationalInsights/workspaces/contoso-logs"}, "configurationProtectedSettings": {"omsagent.secret.wsid": "6e2f3c4b-8a9d-4e1f-a2b3-c4d5e6f7a8b9", "omsagent.secret.key": k}}})),
    );
    let k = g.b64(64);
    c.add(
        "workspace-shared-keys-az",
        "workspace-key",
        AzJson,
        "",
        &k,
        compact(&json!({"properties": {"sharedKeys": {"primarySharedKey": k}}})),
    );
    let t = g.from(B32, 52);
    c.add(
        "flux-https-key-az-protected",
        "azure-devops-pat",
        AzJson,
        "",
        &t,
        compact(&json!({"properties": {"sourceKind": "GitRepository", "gitRepository": {"url": "https://dev.azure.com/contoso/fleet/_git/gitops", "httpsUser": "git"}, "configurationProtectedSettings": {"httpsKey": t}}})),
    );
    let (k, _) = openssh_key(g);
    let kd = STANDARD.encode(&k);
    c.needles(
        "flux-ssh-private-key-az-protected",
        "private-key",
        AzJson,
        "",
        &kd,
        vec![b64_middle(&kd)],
        compact(&json!({"properties": {"sourceKind": "GitRepository", "gitRepository": {"url": "ssh://git@github.com/contoso/fleet.git"}, "configurationProtectedSettings": {"sshPrivateKey": kd}}})),
    );
    let t = format!(
        "sk-proj-{}T3BlbkFJ{}",
        g.from(&format!("{ALNUM}_-"), 74),
        g.from(&format!("{ALNUM}_-"), 74)
    );
    c.add(
        "openai-key-envfile",
        "api-key",
        CmEnv,
        "llm.env",
        &t,
        format!("OPENAI_BASE=https://api.openai.com/v1\nOPENAI={t}\n"),
    );
    let t = format!("sk_live_{}", g.alnum(99));
    c.add(
        "stripe-live-key-envfile",
        "api-key",
        CmEnv,
        "billing.env",
        &t,
        format!("STRIPE={t}\n"),
    );
    let t = format!(
        "SG.{}.{}",
        g.from(&format!("{ALNUM}_-"), 22),
        g.from(&format!("{ALNUM}_-"), 43)
    );
    c.add("sendgrid-key-env", "api-key", PodEnv, "SENDGRID", &t, t.clone());
    let t = g.alnum(40);
    c.add(
        "generic-webhook-token-query-annotation",
        "token",
        Annotation,
        "notify.contoso.io/url",
        &t,
        format!("https://hooks.contoso.io/deploy?token={t}&env=prod"),
    );
    let t = jwt(g);
    c.add(
        "jwt-last-applied-env",
        "jwt",
        LastApplied,
        "",
        &t,
        compact(&json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "ci-runner", "namespace": "payments"}, "spec": {"containers": [{"name": "runner", "image": "contoso.azurecr.io/runner:2.3", "env": [{"name": "RUNNER_REG", "value": t}]}]}})),
    );
    let pw = g.password(16);
    c.add(
        "last-applied-name-value-password",
        "password",
        LastApplied,
        "",
        &pw,
        compact(&json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "orders", "namespace": "payments"}, "spec": {"template": {"spec": {"containers": [{"name": "orders", "env": [{"name": "SA_PASSWORD", "value": pw}]}]}}}})),
    );

    // --- More shapes a cluster holds ---------------------------------------------------------------
    let t = format!("{}:AA{}", g.from("0123456789", 10), g.from(&format!("{ALNUM}_-"), 33));
    c.add(
        "telegram-bot-token-url-log",
        "chat-token",
        LogPlain,
        "",
        &t,
        format!("2026-11-25T16:59:40Z WARN alert: POST https://api.telegram.org/bot{t}/sendMessage -> 429"),
    );
    let t = g.hex(32);
    c.add(
        "sentry-dsn-user-only-env",
        "url-credentials",
        PodEnv,
        "SENTRY_DSN",
        &t,
        format!("https://{t}@o450123.ingest.sentry.io/5581234"),
    );
    let t = format!("eu01xx{}NRAL", g.hex(30));
    c.add(
        "newrelic-license-key-env",
        "api-key",
        PodEnv,
        "NEW_RELIC_LICENSE_KEY",
        &t,
        t.clone(),
    );
    let pw = g.password(16);
    c.add(
        "go-struct-dump-password",
        "password",
        LogPlain,
        "",
        &pw,
        format!("2026-11-25T16:59:41Z DEBUG loaded config &{{Host:contoso-pg Port:5432 User:app Password:{pw} SSLMode:require}}"),
    );
    let pw = g.password(16);
    c.add(
        "go-map-dump-password",
        "password",
        LogGoMap,
        "",
        &pw,
        format!("2026-11-25T16:59:42Z DEBUG settings map[password:{pw} user:app]"),
    );
    let pw = g.password(16);
    c.add(
        "python-dict-repr-password",
        "password",
        LogPlain,
        "",
        &pw,
        format!("2026-11-25 16:59:43,120 INFO db params {{'host': 'contoso-pg', 'password': '{pw}', 'port': 5432}}"),
    );
    let sig = g.hex(64);
    c.add(
        "s3-presigned-url-log",
        "signature",
        LogPlain,
        "",
        &sig,
        format!("2026-11-25T16:59:44Z INFO GET https://contoso-backups.s3.eu-west-1.amazonaws.com/db.tar?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20261125T165944Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature={sig}"),
    );
    let pw = g.password(16);
    c.add(
        "keyvault-secret-show-az",
        "password",
        AzJson,
        "",
        &pw,
        compact(&json!({"attributes": {"enabled": true, "recoveryLevel": "Recoverable+Purgeable"}, "contentType": null, "id": "https://contoso-kv.vault.azure.net/secrets/orders-db/0123456789abcdef0123456789abcdef", "kid": null, "managed": null, "name": "orders-db", "tags": {}, "value": pw})),
    );
    let pw = g.password(16);
    c.add(
        "cli-password-flag-space-log",
        "password",
        LogPlain,
        "",
        &pw,
        format!("2026-11-25T16:59:45Z INFO running: helm repo add contoso https://charts.contoso.com --username bot --password {pw}"),
    );
    let t = g.alnum(40);
    c.add(
        "command-sh-c-bearer",
        "bearer-token",
        Args,
        "",
        &t,
        format!("sh\n-c\ncurl -fsS -H \"Authorization: Bearer {t}\" https://api.contoso.io/healthz"),
    );
    let pw = g.password(16);
    c.add(
        "logfmt-quoted-password",
        "password",
        LogPlain,
        "",
        &pw,
        format!("ts=2026-11-25T16:59:46Z level=debug msg=\"db connect\" user=app password=\"{pw}\" host=contoso-pg"),
    );
    let (k, lines) = rsa_key(g);
    let crlf = k.replace('\n', "\r\n");
    c.needles(
        "pem-rsa-crlf-value",
        "private-key",
        CmValue,
        "win.key",
        &crlf,
        lines,
        crlf.clone(),
    );
    let (k, lines) = pkcs8_key(g);
    let one_line = k.replace('\n', "\\n");
    c.needles(
        "pem-escaped-newlines-plain-log",
        "private-key",
        LogPlain,
        "",
        &one_line,
        lines,
        format!("2026-11-25T16:59:47Z ERROR env PRIVATE_KEY={one_line} is not a valid key"),
    );

    let pw = g.password(18);
    c.add(
        "arm-parameters-file-value",
        "password",
        CmJson,
        "parameters.json",
        &pw,
        compact(&json!({"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#", "contentVersion": "1.0.0.0", "parameters": {"location": {"value": "westeurope"}, "adminPassword": {"value": pw}}})),
    );
    let k = g.hex(32);
    c.add(
        "json-log-header-array-api-key",
        "api-key",
        LogJson,
        "",
        &k,
        compact(&json!({"level": "debug", "msg": "outgoing request", "url": "https://contoso-openai.openai.azure.com/openai/deployments/gpt/chat/completions", "headers": {"Api-Key": [k], "Content-Type": ["application/json"]}})),
    );
    let pw = g.password(16);
    c.add(
        "args-separate-password-flag",
        "password",
        Args,
        "",
        &pw,
        format!("--db-user\napp\n--db-password\n{pw}"),
    );
    let pw = format!(
        "{},{};{}&{}){}",
        g.alnum(4),
        g.alnum(4),
        g.alnum(4),
        g.alnum(3),
        g.alnum(4)
    );
    c.add(
        "envfile-password-special-chars",
        "password",
        CmEnv,
        "smtp.env",
        &pw,
        format!("SMTP_HOST=smtp.office365.com\nSMTP_PASSWORD={pw}\nSMTP_PORT=587\n"),
    );
    let url = format!(
        "postgresql://app:{}@contoso-pg.postgres.database.azure.com:5432/orders",
        g.alnum(20)
    );
    let b = STANDARD.encode(&url);
    c.add(
        "secret-manifest-data-in-configmap",
        "k8s-secret-data",
        CmYaml,
        "bootstrap.yaml",
        &b,
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: orders-db\ntype: Opaque\ndata:\n  DATABASE_URL: {b}\n"
        ),
    );
    let k = g.hex(64);
    c.add("hmac-key-env", "hmac-key", PodEnv, "WEBHOOK_HMAC_KEY", &k, k.clone());
    let pw = format!("{}@{}", g.alnum(6), g.alnum(10));
    c.add(
        "url-password-unencoded-at",
        "url-credentials",
        LogPlain,
        "",
        &pw,
        format!("2026-11-25T16:59:48Z ERROR mongo: connect mongodb://admin:{pw}@contoso-mongo:27017/admin failed: auth error"),
    );
    let (k, lines) = rsa_key(g);
    let prefixed: String = k
        .lines()
        .map(|l| format!("2026-11-25T16:59:49.123456789Z {l}\n"))
        .collect();
    c.needles(
        "pem-timestamp-prefixed-lines",
        "private-key",
        LogPlain,
        "",
        &k,
        lines,
        format!("2026-11-25T16:59:49.100000000Z loading signing key:\n{prefixed}2026-11-25T16:59:49.200000000Z done"),
    );
    let env = format!("DB_HOST=contoso-sql\nDB_PASSWORD={}\n", g.password(16));
    let b = STANDARD.encode(&env);
    c.add("binarydata-env-file", "password", CmBinary, "app.env", &b, b.clone());
    let (k, _) = ec_key(g);
    let b = STANDARD.encode(&k);
    c.needles(
        "binarydata-pem-key",
        "private-key",
        CmBinary,
        "tls.key",
        &b,
        vec![b64_middle(&b)],
        b.clone(),
    );

    let pw = g.password(18);
    c.add(
        "appconfig-kv-list-key-value",
        "password",
        AzJson,
        "",
        &pw,
        compact(&json!({"properties": {"items": [{"key": "Orders:Db:Host", "label": null, "value": "contoso-sql"}, {"contentType": null, "key": "Orders:Db:Password", "label": "prod", "value": pw}]}})),
    );
    let pw = g.password(18);
    c.add(
        "maven-settings-xml-password",
        "password",
        CmValue,
        "settings.xml",
        &pw,
        format!("<settings>\n  <servers>\n    <server>\n      <id>contoso-feed</id>\n      <username>build</username>\n      <password>{pw}</password>\n    </server>\n  </servers>\n</settings>\n"),
    );
    let pat = g.from(B32, 52);
    c.add(
        "nuget-config-cleartextpassword",
        "azure-devops-pat",
        CmValue,
        "NuGet.Config",
        &pat,
        format!("<configuration>\n  <packageSourceCredentials>\n    <contoso>\n      <add key=\"Username\" value=\"build\" />\n      <add key=\"ClearTextPassword\" value=\"{pat}\" />\n    </contoso>\n  </packageSourceCredentials>\n</configuration>\n"),
    );
    let k = g.b64(32);
    c.add(
        "kafka-jaas-eventhubs",
        "eventhub-key",
        CmValue,
        "client.properties",
        &k,
        format!("bootstrap.servers=contoso-eh.servicebus.windows.net:9093\nsecurity.protocol=SASL_SSL\nsasl.mechanism=PLAIN\nsasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"$ConnectionString\" password=\"Endpoint=sb://contoso-eh.servicebus.windows.net/;SharedAccessKeyName=kafka;SharedAccessKey={k}\";\n"),
    );
    let t = format!("ghp_{}", g.alnum(36));
    let pw = g.password(18);
    let netrc = format!(
        "machine github.com login bot password {t}\nmachine artifacts.contoso.com\n  login build\n  password {pw}\n"
    );
    c.add(
        "netrc-github-token",
        "github-token",
        CmValue,
        ".netrc",
        &t,
        netrc.clone(),
    );
    c.add("netrc-password", "password", CmValue, "netrc", &pw, netrc);
    let d = URL_SAFE_NO_PAD.encode(g.bytes(256));
    c.add(
        "jwk-private-exponent",
        "private-key",
        CmJson,
        "signing-jwk.json",
        &d,
        compact(&json!({"keys": [{"kty": "RSA", "kid": "contoso-2026", "use": "sig", "alg": "RS256", "n": URL_SAFE_NO_PAD.encode(g.bytes(256)), "e": "AQAB", "d": d}]})),
    );

    c.items
}

/// A kubeconfig with `user` lines given (indented 4), its CA bundle and server ordinary.
pub fn kubeconfig(user: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: {CA_DATA}\n    server: {SERVER}\n  name: contoso-arc-01\ncontexts:\n- context:\n    cluster: contoso-arc-01\n    user: clusterUser_contoso\n  name: contoso-arc-01\ncurrent-context: contoso-arc-01\nusers:\n- name: clusterUser_contoso\n  user:\n{user}"
    )
}

/// A base64 PEM certificate (the kubeconfig's CA bundle): public, must survive.
pub const CA_DATA: &str = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUU2RENDQXRDZ0F3SUJBZ0lRT2FWM3d4R2lCVnRqbWZvVkNoRzVRekFOQmdrcWhraUc5dzBCQVFzRkFEQU4KTVFzd0NRWURWUVFERXdKallUQWdGdzB5TmpFeE1qVXhOakF3TURCYUdBOHlNRFUyTVRFeU5URTJNVEF3TUZvdwpEVEVMTUFrR0ExVUVBeE1DWTJFd2dnSWlNQTBHQ1NxR1NJYjNEUUVCQVFVQUE0SUNEd0F3Z2dJS0FvSUNBUUMrCi0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K";
pub const SERVER: &str = "https://contoso-arc-01-dns-1a2b3c4d.hcp.westeurope.azmk8s.io:443";

/// The ordinary values.
pub fn ordinary() -> Vec<Ordinary> {
    use Place::*;
    let mut rng = Rng::new(0x0c0f_fee0);
    let cert = certificate(&mut rng);
    let mut v = Ordinaries::new("");
    let mut add =
        |id: &str, place: Place, key: &str, value: &str, context: String| v.add(id, place, key, value, context);
    let s = |x: &str| x.to_string();
    add("pod-uid", PodSpec, "uid", UID, s(UID));
    add("pod-resource-version", PodSpec, "resourceVersion", RV, s(RV));
    add("image-digest", PodSpec, "image", IMAGE, s(IMAGE));
    add("init-image-digest", PodSpec, "initImage", IMAGE2, s(IMAGE2));
    add(
        "volume-secret-name",
        PodSpec,
        "secretName",
        "payments-tls",
        s("payments-tls"),
    );
    add(
        "envfrom-secret-ref",
        PodSpec,
        "secretRef",
        "payments-db-credentials",
        s("payments-db-credentials"),
    );
    add(
        "secret-key-ref-key",
        PodSpec,
        "secretKeyRef",
        "connection-string",
        s("connection-string"),
    );
    add(
        "image-pull-secret",
        PodSpec,
        "imagePullSecret",
        "acr-pull-secret",
        s("acr-pull-secret"),
    );
    add(
        "sa-token-audience",
        PodSpec,
        "audience",
        "api://AzureADTokenExchange",
        s("api://AzureADTokenExchange"),
    );
    add(
        "workload-identity-token-file",
        PodEnv,
        "AZURE_FEDERATED_TOKEN_FILE",
        "/var/run/secrets/azure/tokens/azure-identity-token",
        s("/var/run/secrets/azure/tokens/azure-identity-token"),
    );
    add(
        "authority-host-env",
        PodEnv,
        "AZURE_AUTHORITY_HOST",
        "https://login.microsoftonline.com/",
        s("https://login.microsoftonline.com/"),
    );
    add(
        "client-id-annotation",
        Annotation,
        "azure.workload.identity/client-id",
        "3f1e2d4c-5b6a-4789-8c0d-1e2f3a4b5c6d",
        s("3f1e2d4c-5b6a-4789-8c0d-1e2f3a4b5c6d"),
    );
    add("ca-bundle-pem", CmValue, "ca.crt", &cert, cert.clone());
    add("public-key-pem", CmValue, "jwt-public.pem", PUBLIC_KEY, s(PUBLIC_KEY));
    add(
        "kubeconfig-ca-data",
        CmKubeconfig,
        "kubeconfig",
        CA_DATA,
        kubeconfig("    tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token\n"),
    );
    add(
        "kubeconfig-server",
        CmKubeconfig,
        "kubeconfig-server",
        SERVER,
        kubeconfig("    tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token\n"),
    );
    add(
        "token-path-yaml",
        CmYaml,
        "agent.yaml",
        "/var/run/secrets/kubernetes.io/serviceaccount/token",
        s("agent:\n  tokenPath: /var/run/secrets/kubernetes.io/serviceaccount/token\n  secretName: agent-credentials\n  passwordFile: /etc/agent/password\n"),
    );
    add(
        "secret-name-yaml",
        CmYaml,
        "agent-refs.yaml",
        "agent-credentials",
        s("auth:\n  secretName: agent-credentials\n  secretRef:\n    name: agent-credentials-v2\n"),
    );
    add(
        "keyvault-secret-uri",
        CmYaml,
        "kv.yaml",
        "https://contoso-kv.vault.azure.net/secrets/db-password/0123456789abcdef0123456789abcdef",
        s("keyvault:\n  secretUri: https://contoso-kv.vault.azure.net/secrets/db-password/0123456789abcdef0123456789abcdef\n  tenantId: 72f988bf-86f1-41af-91ab-2d7cd011db47\n"),
    );
    add(
        "ssh-git-url-az",
        AzJson,
        "",
        "ssh://git@github.com/contoso/fleet.git",
        compact(
            &json!({"properties": {"sourceKind": "GitRepository", "gitRepository": {"url": "ssh://git@github.com/contoso/fleet.git", "sshKnownHosts": KNOWN_HOSTS}, "repositoryPublicKey": REPO_PUBLIC_KEY}}),
        ),
    );
    add(
        "known-hosts-az",
        AzJson,
        "",
        KNOWN_HOSTS,
        compact(
            &json!({"properties": {"sourceKind": "GitRepository", "gitRepository": {"url": "git@github.com:contoso/fleet.git", "sshKnownHosts": KNOWN_HOSTS}}}),
        ),
    );
    add(
        "repository-public-key-az",
        AzJson,
        "",
        REPO_PUBLIC_KEY,
        compact(&json!({"properties": {"repositoryPublicKey": REPO_PUBLIC_KEY, "provisioningState": "Succeeded"}})),
    );
    add(
        "scp-git-url-envfile",
        CmEnv,
        "git.env",
        "git@github.com:contoso/fleet.git",
        s("GIT_REPO=git@github.com:contoso/fleet.git\nGIT_BRANCH=main\n"),
    );
    add(
        "arm-resource-id-az",
        AzJson,
        "",
        ARM_ID,
        compact(&json!({"id": ARM_ID, "properties": {"provisioningState": "Failed"}})),
    );
    add(
        "flux-revision-az",
        AzJson,
        "",
        REVISION,
        compact(
            &json!({"properties": {"statuses": [{"kind": "GitRepository", "name": "cluster-config", "complianceState": "Compliant", "appliedBy": {"name": "cluster-config"}, "statusConditions": [{"message": format!("stored artifact for revision '{REVISION}'"), "reason": "Succeeded"}]}]}}),
        ),
    );
    add(
        "flux-revision-json-log",
        LogJson,
        "",
        REVISION,
        compact(
            &json!({"level": "info", "ts": "2026-11-25T16:59:30Z", "msg": format!("stored artifact for revision '{REVISION}'"), "controller": "gitrepository", "GitRepository": {"name": "cluster-config", "namespace": "cluster-config"}}),
        ),
    );
    add(
        "secret-not-found-prose",
        LogPlain,
        "",
        "failed to get secret: not found",
        s("2026-11-25T16:59:31Z ERROR reconcile: failed to get secret: not found"),
    );
    add(
        "key-vault-token-prose",
        LogPlain,
        "",
        "failed to get key vault token: nmi response failed with status code: 404",
        s("2026-11-25T16:59:32Z E1125 MountVolume.SetUp failed for volume \"secrets-store\": rpc error: code = Unknown desc = failed to get keyvault client: failed to get key vault token: nmi response failed with status code: 404"),
    );
    add(
        "password-policy-prose",
        LogPlain,
        "",
        "password: must be at least 12 characters",
        s("2026-11-25T16:59:33Z WARN validation failed: password: must be at least 12 characters"),
    );
    add(
        "www-authenticate-challenge",
        LogPlain,
        "",
        "Bearer realm=\"https://login.microsoftonline.com/\", error=\"invalid_token\"",
        s("2026-11-25T16:59:34Z WARN 401 from ARM: WWW-Authenticate: Bearer realm=\"https://login.microsoftonline.com/\", error=\"invalid_token\""),
    );
    add(
        "kubeadm-ca-cert-hash",
        LogPlain,
        "",
        "sha256:8f9c1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f",
        s("2026-11-25T16:59:35Z INFO discovery-token-ca-cert-hash sha256:8f9c1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f"),
    );
    add(
        "go-nil-escapes-json-log",
        LogJson,
        "",
        "error=<nil> retries=3 backoff=5s",
        compact(&json!({"level": "info", "msg": "sync done", "detail": "error=<nil> retries=3 backoff=5s"})),
    );
    add(
        "go-header-map-ordinary",
        LogGoMap,
        "",
        "map[Accept:[application/json] Content-Type:[application/json] X-Ms-Correlation-Request-Id:[6f1c2a3b-1d2e-4f50-9a8b-7c6d5e4f3a2b]]",
        s("2026-11-25T16:59:36Z response headers=map[Accept:[application/json] Content-Type:[application/json] X-Ms-Correlation-Request-Id:[6f1c2a3b-1d2e-4f50-9a8b-7c6d5e4f3a2b]]"),
    );
    add(
        "ssh-clone-prose",
        LogPlain,
        "",
        "unable to clone 'ssh://git@ssh.dev.azure.com/v3/contoso/fleet/gitops': ssh: handshake failed: knownhosts: key is unknown",
        s("2026-11-25T16:59:37Z ERROR unable to clone 'ssh://git@ssh.dev.azure.com/v3/contoso/fleet/gitops': ssh: handshake failed: knownhosts: key is unknown"),
    );
    add(
        "blob-endpoint-url",
        CmValue,
        "blob-endpoint",
        "https://contosodiag.blob.core.windows.net/backups",
        s("https://contosodiag.blob.core.windows.net/backups"),
    );
    add(
        "last-applied-ordinary",
        LastApplied,
        "",
        "\"secretName\":\"orders-tls\"",
        compact(
            &json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "orders", "namespace": "payments"}, "spec": {"volumes": [{"name": "tls", "secret": {"secretName": "orders-tls"}}], "containers": [{"name": "orders", "image": IMAGE}]}}),
        ),
    );
    let integrity = format!("sha512-{}", rng.b64(64));
    add(
        "npm-integrity-sha512",
        CmJson,
        "package-lock.json",
        &integrity,
        compact(
            &json!({"name": "orders", "lockfileVersion": 3, "packages": {"node_modules/left-pad": {"version": "1.3.0", "resolved": "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz", "integrity": integrity}}}),
        ),
    );
    add(
        "git-head-log",
        LogPlain,
        "",
        "HEAD is now at 5c2b1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a Merge pull request #42",
        s("2026-11-25T16:59:50Z INFO HEAD is now at 5c2b1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a Merge pull request #42"),
    );
    add(
        "helm-checksum-annotation",
        Annotation,
        "checksum/config",
        "3b4f9e2a1c0d8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a",
        s("3b4f9e2a1c0d8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a"),
    );
    add(
        "x509-prose",
        LogPlain,
        "",
        "x509: certificate signed by unknown authority (possibly because of \"crypto/rsa: verification error\" while trying to verify candidate authority certificate \"ca\")",
        s("2026-11-25T16:59:51Z ERROR Get \"https://10.0.0.1:443/api\": x509: certificate signed by unknown authority (possibly because of \"crypto/rsa: verification error\" while trying to verify candidate authority certificate \"ca\")"),
    );
    add(
        "selector-key-yaml",
        CmYaml,
        "selector.yaml",
        "app.kubernetes.io/name",
        s("selector:\n  matchExpressions:\n  - key: app.kubernetes.io/name\n    operator: In\n    values:\n    - orders\n"),
    );
    add(
        "token-type-json-log",
        LogJson,
        "",
        "\"token_type\":\"Bearer\"",
        compact(&json!({"level": "info", "msg": "token acquired", "token_type": "Bearer", "expires_in": 3599})),
    );
    add(
        "authorized-keys-value",
        CmValue,
        "authorized_keys",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHq3LpP8Cr6h0uJkZyWqH2o1PfsG4xN7Yb0eVdKc9TsA ops@contoso",
        s("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHq3LpP8Cr6h0uJkZyWqH2o1PfsG4xN7Yb0eVdKc9TsA ops@contoso\n"),
    );
    add(
        "arc-agent-public-key-certificate-az",
        AzJson,
        "",
        AGENT_PUBLIC_KEY,
        compact(
            &json!({"name": "contoso-arc-01", "type": "microsoft.kubernetes/connectedclusters", "properties": {"agentPublicKeyCertificate": AGENT_PUBLIC_KEY, "agentVersion": "1.21.6", "connectivityStatus": "Connected"}}),
        ),
    );
    add(
        "legacy-sa-token-secret-name",
        CmYaml,
        "volumes.yaml",
        "default-token-x7k2p",
        s("volumes:\n- name: default-token-x7k2p\n  secret:\n    secretName: default-token-x7k2p\n    defaultMode: 420\n"),
    );
    add(
        "postgres-auth-failed-prose",
        LogPlain,
        "",
        "FATAL:  password authentication failed for user \"app\"",
        s("2026-11-25T16:59:52Z ERROR connection to server at \"contoso-pg\" (10.0.0.5), port 5432 failed: FATAL:  password authentication failed for user \"app\""),
    );
    add(
        "rate-limiter-tokens-prose",
        LogPlain,
        "",
        "bucket tokens=42 refill=10/s",
        s("2026-11-25T16:59:53Z DEBUG rate limiter: bucket tokens=42 refill=10/s"),
    );
    v.items
}

pub const UID: &str = "7d3f9a2e-4b1c-4e8a-9f2d-1a6b5c4d3e2f";
pub const RV: &str = "48213377";
pub const IMAGE: &str =
    "mcr.microsoft.com/azurearck8s/config-agent:1.21.6@sha256:4bd3a2f1e0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3";
pub const IMAGE2: &str =
    "ghcr.io/fluxcd/source-controller@sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";
pub const REVISION: &str = "main@sha1:5c2b1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a";
pub const KNOWN_HOSTS: &str =
    "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
pub const REPO_PUBLIC_KEY: &str =
    "c3NoLXJzYSBBQUFBQjNOemFDMXljMkVBQUFBREFRQUJBQUFCZ1FDN3ZiUGM5SXpMMmJYdDhtUTRhS3BXMGZSM25FeTZoVGo=";
pub const ARM_ID: &str = "/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/contoso-platform-rg/providers/Microsoft.Kubernetes/connectedClusters/contoso-arc-01/providers/Microsoft.KubernetesConfiguration/extensions/flux";
/// An Arc agent's public key (`az connectedk8s show`): public, must survive.
pub const AGENT_PUBLIC_KEY: &str = "MIICCgKCAgEAvbN0nK3y8bU9lQm2XwTq7cRz4fPj1sHd6gVa0eLk5iYo3uMn8tWx2pBr9qCs7vDf4hGj1kLz6xAe0oIu3yTm5nRb8cVw2sPd4fQg7hJk1lZx9vBn3mQa6eRt0yUi5oPs8dFg2hJk4lZx7cVb1nMa3sDf6gHj9kLq2wEr5tYu8iOp0aSd3fGh6jKl9zXc2vBn5mQw8eRt1yUi4oPa7sDf0gHj3kLz6xCv9bNm2qWe5rTy8uIo1pAs4dFg7hJk0lZx3cVb6nMq9wEr2tYu5iOp8aSd1fGh4jKl7zXc0vBn3mQw6eRt9yUi2oPa5sDf8gHj1kLz4xCv7bNm0qWe3rTy6uIo9pAs2dFg5hJk8lZx1cVb4nMq7wEr0tYu3iOp6aSd9fGh2jKl5zXc8vBn1mQw4eRt7yUi0oPa3sDf6gHj9kLz2xCv5bNm8qWe1rTy4uIo7pAs0dFg3hJk6lZx9cVb2nMq5wEr8tYu1iOp4aSd7fGh0jKl3zXc6vBn9mQw2eRt5yUi8oPa1sDf4gHj7kLz0xCv3bNm6qWe9rTy2uIo5pAs8dFg1hJk4lZx7cVb0nMq3wEr6tYu9iOp2aSd5fGh8jKl1zXc4vBn7mQw0eRt3yUi6oPa9sDf2gHj5kLz8xCv1bNm4qWe7rTy0uIo3pAs6dFg9hJk2lZx5cVb8nMq1wEr4tYu7iOp0aSd3fGh6jKl9zXc2vBn5mQw8eRt1yUi4oPa7sDf0gHj3kLz6xCv9bNm2qWe5rTy8uIo1pAs4dFg7hJk0lZx3cVb6nMq9wEr2tYu5iOp8aSd1fGh4jKl7zXc0vBn3mQw6eRt9yUi2oPa5sDf8gHj1kLz4xCv7bNm0qWe3rTy6uIo9pAs2dFg5hJk8lZx1cVb4nMq7wEr0tYu3iOp6aSd9fGh2jKl5zXc8vBn1mQw4eRt7yUi0oPa3sDf6gHj9kLz2xCv5bNm8qWe1rTy4uIo7pAs0dFg3hJk6lZx9cVb2nMq5wEr8tYu1iOp4aSd7fGh0jKl3zXc6vBn9mQw2eRt5yUi8oPa1sDf4gHj7kLz0xCv3bNm6qWe9rTy2uIo5pAs8dFg1hJk4lZx7cVb0nMq3wEr6tYu9iOp2aSd5fGh8jKl1zXc4vBn7mQw0eRt3yUi6oPa9sDf2gHj5kLz8xCv1bNm4qWe7rTy0uIo3pAs6dFg9hJk2lZx5cVb8nMq1wEr4tYu7iOp0aSd3fGh6jKl9zXc2vBn5mQw8eRt1yUi4oPa7sDf0gHj3kLz6xCv9bNm2qWe5rTy8uIo1pAs4dFg7hJk0lZx3cVb6nMq9wEr2tYu5iOp8aSd1fGh4jKl7zXc0vBn3mQw6eRt9yUi2oPa5sDf8gHj1kLz4xCv7bNm0qWe3rTy6uIo9pAs2dFg5hJk8lZx1cVb4nMq7wEr0tYu3iOp6aSd9fGh2jKl5zXc8vBn1mQw4eRt7yUi0oPa3sDf6gHj9kLz2xCv5bNm8qWe1rTy4uIo7pAs0dFg3hJk6lZx9cVb2nMq5wEr8tYu1iOp4aSd7fGh0jKl3zXc6vBn9mQw2eRt5yUi8oPa1sDf4gHj7kLz0xCv3bNm6qWe9rTy2uIo5pAs8dFg1hJk4lZx7cVb0nMq3wEr6tYu9iOp2aSd5fGh8jKl1zXc4vBn7mQw0eRt3yUi6oPa9sDf2gHj5kLz8xCv1bNm4qWe7rTy0uIo3pAs6dFg9hJk2lZx5cVb8nMq1wEr4tYu7iOp0aSd3fGh6jKl9zXc2vBn5mQw8eRt1yUi4oPa7sDf0gHj3kLz6xCv9bNm2qWe5rTy8uIo1pAs4dFg7hJk0lZx3cVb6nMq9wEr2tYu5iOp8aSd1fGh4jKl7zXc0vBn3mQw6eRt9yUi2oPa5sDf8gHj1kLz4xCv7bNm0qWe3rTy6uIo9pAs2dFg5hJk8lZx1cVb4nMq7wEr0tYu3iOp6aSd9fGh2jKl5zXc8vBn1mQw4eRt7yUi0oPa3sDf6gHj9kLz2xCv5bNm8qWe1rTy4uIo7pAs0dFg3hJk6lZx9cVb2nMq5wEr8tYu1iOp4aSd7fGh0jKl3zXc6vBn9mQw2eRt5yUi8oPa1sDf4gHj7kLz0xCv3bNm6qWe9rTy2uIo5pAs8dFg1hJkCAwEAAQ==";
pub const PUBLIC_KEY: &str = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo\n4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u\n+qKhbwKfBstIs+bMY2Zkp18gnTxKLxoS2tFczGkPLPgizskuemMghRniWaoLcyeh\nkd3qqGElvW/VDL5AaWTg0nLVkjRo9z+40RQzuVaE8AkAFmxZzow3x+VJYKdjykkJ\n0iT9wCS0DRTXu269V264Vf/3jvredZiKRkgwlL9xNAwxXFg0x/XFw005UWVRIkdg\ncKWTjpBP2dPwVZ4WWC+9aGVd+Gyn1o0CLelf4rEjGoXbAAEgAqeGUxrcIlbjXfbc\nmwIDAQAB\n-----END PUBLIC KEY-----\n";

/// The pod that holds an item, or the pod-spec ordinaries: a real pod's shape.
pub fn pod(name: &str, env: Vec<Value>, args: Vec<String>, annotations: Map<String, Value>) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": "payments",
            "uid": UID,
            "resourceVersion": RV,
            "creationTimestamp": "2026-11-25T12:00:00Z",
            "labels": {"app": "orders"},
            "annotations": annotations
        },
        "spec": {
            "serviceAccountName": "orders",
            "imagePullSecrets": [{"name": "acr-pull-secret"}],
            "initContainers": [{"name": "init", "image": IMAGE2, "args": ["--wait"]}],
            "containers": [{
                "name": "app",
                "image": IMAGE,
                "args": args,
                "env": env,
                "envFrom": [{"secretRef": {"name": "payments-db-credentials"}}],
                "volumeMounts": [{"name": "tls", "mountPath": "/etc/tls", "readOnly": true}, {"name": "azure-identity-token", "mountPath": "/var/run/secrets/azure/tokens", "readOnly": true}]
            }],
            "volumes": [
                {"name": "tls", "secret": {"secretName": "payments-tls"}},
                {"name": "azure-identity-token", "projected": {"sources": [{"serviceAccountToken": {"audience": "api://AzureADTokenExchange", "expirationSeconds": 3600, "path": "azure-identity-token"}}]}}
            ]
        },
        "status": {
            "phase": "Running",
            "containerStatuses": [{"name": "app", "ready": true, "restartCount": 0, "image": IMAGE, "imageID": IMAGE}],
            "initContainerStatuses": [{"name": "init", "ready": true, "restartCount": 0, "image": IMAGE2, "imageID": IMAGE2}]
        }
    })
}

fn env_ref() -> Value {
    json!({"name": "DB_CONNECTION", "valueFrom": {"secretKeyRef": {"name": "payments-db", "key": "connection-string"}}})
}

/// A pod holding one item at its place.
fn pod_for(name: &str, place: Place, key: &str, context: &str) -> Value {
    let mut env = vec![env_ref()];
    let mut args = vec!["--port=8080".to_string()];
    let mut ann = Map::new();
    match place {
        Place::PodEnv => env.push(json!({"name": key, "value": context})),
        Place::Args => args.extend(context.split('\n').map(str::to_string)),
        Place::Annotation => {
            ann.insert(key.to_string(), Value::String(context.to_string()));
        }
        Place::LastApplied => {
            ann.insert(
                "kubectl.kubernetes.io/last-applied-configuration".to_string(),
                Value::String(format!("{context}\n")),
            );
        }
        _ => {}
    }
    pod(name, env, args, ann)
}

fn configmap(name: &str, place: Place, key: &str, context: &str) -> Value {
    let field = if place == Place::CmBinary { "binaryData" } else { "data" };
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "payments", "uid": UID, "resourceVersion": RV, "creationTimestamp": "2026-11-25T12:00:00Z"},
        field: {key: context}
    })
}

fn list(items: Vec<Value>) -> Value {
    json!({"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}})
}

/// An `az` answer: the item's object with an `id`, `name` and `type` unless it has its own.
fn az_object(n: usize, context: &str) -> Value {
    let mut v: Value = serde_json::from_str(context).expect("az context is JSON");
    let name = format!("planted-{n}");
    if let Some(o) = v.as_object_mut() {
        o.entry("id").or_insert(Value::String(format!(
            "/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/contoso-platform-rg/providers/Microsoft.Kubernetes/connectedClusters/contoso-arc-01/providers/Microsoft.KubernetesConfiguration/extensions/{name}"
        )));
        o.entry("name").or_insert(Value::String(name));
        o.entry("type")
            .or_insert(Value::String("Microsoft.KubernetesConfiguration/extensions".into()));
    }
    v
}

/// One rendering of an item: a member path (its extension says the shape) and its bytes.
#[derive(Debug, Clone)]
pub struct Doc {
    pub path: String,
    pub bytes: Vec<u8>,
}

/// The documents an item alone is rendered as: JSON (as kubectl prints it) and YAML for objects,
/// the log for log lines, the `az` answer for az output.
pub fn docs_for(id: &str, place: Place, key: &str, context: &str) -> Vec<Doc> {
    let name = format!("x-{}", short(id));
    let obj = if place.is_configmap() {
        Some(list(vec![configmap(&name, place, key, context)]))
    } else if place.is_pod() {
        Some(list(vec![pod_for(&name, place, key, context)]))
    } else {
        None
    };
    let obj = if place == Place::Object {
        Some(list(vec![object(&name, context)]))
    } else {
        obj
    };
    if place == Place::Member {
        return vec![Doc {
            path: key.to_string(),
            bytes: context.as_bytes().to_vec(),
        }];
    }
    if let Some(o) = obj {
        let res = if place.is_configmap() {
            "configmaps"
        } else if place == Place::Object {
            key
        } else {
            "pods"
        };
        return vec![
            Doc {
                path: format!("kubectl/namespaces/payments/{res}.json"),
                bytes: go_escape(&serde_json::to_string_pretty(&o).expect("JSON")).into_bytes(),
            },
            Doc {
                path: format!("kubectl/namespaces/payments/{res}.yaml"),
                bytes: to_yaml(&o).into_bytes(),
            },
        ];
    }
    if place.is_log() {
        return vec![Doc {
            path: "logs/payments/planted-logger/app.log".into(),
            bytes: log_line(place, context).into_bytes(),
        }];
    }
    vec![Doc {
        path: "az/k8s-extension-show-planted-0.json".into(),
        bytes: serde_json::to_string_pretty(&az_object(0, context))
            .expect("JSON")
            .into_bytes(),
    }]
}

fn log_line(place: Place, context: &str) -> String {
    if place == Place::LogJson {
        format!("{}\n", go_escape(context))
    } else {
        format!("{context}\n")
    }
}

/// A path segment from an id (a Kubernetes name).
pub fn short(id: &str) -> String {
    id.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(50)
        .collect()
}

/// The pod whose log holds every log item.
pub const LOGGER: &str = "planted-logger-7f9c8d6b5-x2x4z";

/// Every item in one bundle directory's files (relative path → bytes): the layout `serve`
/// reads. ConfigMaps and pods go to namespace `payments`, one object per item; logs to the
/// logger pod's `app` container, one after the other; az answers as extensions (listed and shown).
pub fn bundle_files(planted: &[Planted], ordinary: &[Ordinary]) -> Vec<(String, Vec<u8>)> {
    let mut cms = Vec::new();
    let mut pods = Vec::new();
    let mut log = String::new();
    let mut az = Vec::new();
    let mut logger_ann = Map::new();
    let mut objects: std::collections::BTreeMap<String, Vec<Value>> = std::collections::BTreeMap::new();
    let mut members: Vec<(String, Vec<u8>)> = Vec::new();
    let items = planted
        .iter()
        .map(|p| {
            (
                format!("s-{}", short(&p.id)),
                p.place,
                p.key.as_str(),
                p.context.as_str(),
            )
        })
        .chain(ordinary.iter().map(|o| {
            (
                format!("o-{}", short(&o.id)),
                o.place,
                o.key.as_str(),
                o.context.as_str(),
            )
        }));
    for (name, place, key, context) in items {
        match place {
            Place::PodSpec => {}
            Place::Object => objects.entry(key.to_string()).or_default().push(object(&name, context)),
            Place::Member => {
                assert!(!members.iter().any(|(p, _)| p == key), "member {key} twice");
                members.push((key.to_string(), context.as_bytes().to_vec()));
            }
            p if p.is_configmap() => cms.push(configmap(&name, p, key, context)),
            p if p.is_pod() => pods.push(pod_for(&name, p, key, context)),
            p if p.is_log() => log.push_str(&log_line(p, context)),
            _ => az.push(context.to_string()),
        }
    }
    logger_ann.insert("contoso.io/owner".into(), Value::String("platform".into()));
    pods.push(pod(LOGGER, vec![env_ref()], vec!["--port=8080".into()], logger_ann));
    let mut files = vec![
        (
            "kubectl/namespaces/payments/configmaps.json".to_string(),
            go_escape(&serde_json::to_string_pretty(&list(cms)).expect("JSON")).into_bytes(),
        ),
        (
            "kubectl/namespaces/payments/pods.json".to_string(),
            go_escape(&serde_json::to_string_pretty(&list(pods)).expect("JSON")).into_bytes(),
        ),
        (format!("logs/payments/{LOGGER}/app.log"), log.into_bytes()),
    ];
    for (res, items) in objects {
        files.push((
            format!("kubectl/namespaces/payments/{res}.json"),
            go_escape(&serde_json::to_string_pretty(&list(items)).expect("JSON")).into_bytes(),
        ));
    }
    files.extend(members);
    let objs: Vec<Value> = az.iter().enumerate().map(|(i, c)| az_object(i, c)).collect();
    files.push((
        "az/k8s-extension-list.json".into(),
        serde_json::to_string_pretty(&Value::Array(objs.clone()))
            .expect("JSON")
            .into_bytes(),
    ));
    for o in &objs {
        files.push((
            format!("az/k8s-extension-show-{}.json", o["name"].as_str().unwrap_or("planted")),
            serde_json::to_string_pretty(o).expect("JSON").into_bytes(),
        ));
    }
    files
}

/// YAML as `kubectl get -o yaml` prints it: block scalars for multi-line strings, plain
/// scalars where safe, double-quoted (JSON) strings otherwise.
pub fn to_yaml(v: &Value) -> String {
    let mut out = String::new();
    yaml_node(v, 0, &mut out);
    out
}

fn yaml_scalar(s: &str, indent: usize) -> String {
    if s.contains('\n') {
        let chomp = if s.ends_with("\n\n") {
            "+"
        } else if s.ends_with('\n') {
            ""
        } else {
            "-"
        };
        let ind_ind = if s.starts_with(' ') { "2" } else { "" };
        let pad = " ".repeat(indent + 2);
        let mut o = format!("|{ind_ind}{chomp}\n");
        let body = s.strip_suffix('\n').unwrap_or(s);
        for l in body.split('\n') {
            if l.is_empty() {
                o.push('\n');
            } else {
                let _ = writeln!(o, "{pad}{l}");
            }
        }
        // `|-`: the last line's newline is chomped; written anyway to end the node.
        return o.trim_end_matches('\n').to_string() + "\n";
    }
    let plain = !s.is_empty()
        && s.bytes().next().is_some_and(|c| c.is_ascii_alphanumeric() || c == b'/')
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"_./@+=~-".contains(&c) || c == b':')
        && !s.contains(": ")
        && !s.ends_with(':')
        && s.parse::<f64>().is_err()
        && !matches!(s, "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n");
    if plain {
        format!("{s}\n")
    } else {
        format!("{}\n", serde_json::to_string(s).expect("JSON"))
    }
}

fn yaml_node(v: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(m) => {
            for (k, val) in m {
                let key = yaml_scalar(k, indent);
                let key = key.trim_end();
                match val {
                    Value::Object(o) if !o.is_empty() => {
                        let _ = writeln!(out, "{pad}{key}:");
                        yaml_node(val, indent + 2, out);
                    }
                    Value::Array(a) if !a.is_empty() => {
                        let _ = writeln!(out, "{pad}{key}:");
                        yaml_node(val, indent, out);
                    }
                    _ => {
                        let _ = write!(out, "{pad}{key}: ");
                        yaml_leaf(val, indent, out);
                    }
                }
            }
        }
        Value::Array(a) => {
            for item in a {
                match item {
                    Value::Object(o) if !o.is_empty() => {
                        let mut sub = String::new();
                        yaml_node(item, indent + 2, &mut sub);
                        // The first key goes on the dash's line.
                        let sub = sub.replacen(&" ".repeat(indent + 2), "", 1);
                        let _ = write!(out, "{pad}- {sub}");
                    }
                    Value::Array(x) if !x.is_empty() => {
                        let _ = writeln!(out, "{pad}-");
                        yaml_node(item, indent + 2, out);
                    }
                    _ => {
                        let _ = write!(out, "{pad}- ");
                        yaml_leaf(item, indent + 2, out);
                    }
                }
            }
        }
        _ => yaml_leaf(v, indent, out),
    }
}

fn yaml_leaf(v: &Value, indent: usize, out: &mut String) {
    match v {
        Value::String(s) => out.push_str(&yaml_scalar(s, indent)),
        Value::Object(_) => out.push_str("{}\n"),
        Value::Array(_) => out.push_str("[]\n"),
        other => {
            let _ = writeln!(out, "{other}");
        }
    }
}

/// What a check looks in: the member's text, and every string of it decoded when it is JSON
/// (a JSON log line too), again inside strings that are themselves JSON (bounded).
pub fn texts_of(path: &str, bytes: &[u8]) -> Vec<String> {
    let raw = String::from_utf8_lossy(bytes).into_owned();
    let mut out = Vec::new();
    if let Ok(v) = serde_json::from_slice::<Value>(bytes) {
        strings(&v, 0, &mut out);
    } else if path.ends_with(".yaml") {
        if let Ok(v) = serde_yaml::from_slice::<Value>(bytes) {
            strings(&v, 0, &mut out);
        }
    } else {
        for l in raw.lines() {
            let t = l.trim();
            if t.starts_with('{') {
                if let Ok(v) = serde_json::from_str::<Value>(t) {
                    strings(&v, 0, &mut out);
                }
            }
        }
    }
    out.insert(0, raw);
    out
}

fn strings(v: &Value, depth: usize, out: &mut Vec<String>) {
    match v {
        Value::String(s) => {
            out.push(s.clone());
            let t = s.trim();
            if depth < 5 && (t.starts_with('{') || t.starts_with('[')) {
                if let Ok(inner) = serde_json::from_str::<Value>(t) {
                    strings(&inner, depth + 1, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| strings(x, depth, out)),
        Value::Object(m) => m.iter().for_each(|(k, x)| {
            out.push(k.clone());
            strings(x, depth, out);
        }),
        _ => {}
    }
}

/// The last `n` characters of a needle (all of it when shorter).
pub fn tail(s: &str, n: usize) -> &str {
    let len = s.chars().count();
    if len <= n {
        return s;
    }
    let skip = s.char_indices().nth(len - n).map_or(0, |(i, _)| i);
    &s[skip..]
}

/// Where a planted needle still is in `texts`, whole, by its last 16 characters, or by its
/// last 8 (what is left when a redaction stopped early, at a `}` or an `@` inside the value):
/// an excerpt of what came out around it.
pub fn find_needle(texts: &[String], needle: &str) -> Option<String> {
    for (probe, what) in [
        (needle, ""),
        (tail(needle, 16), "(last 16) "),
        (tail(needle, 8), "(last 8) "),
    ] {
        for t in texts {
            if let Some(i) = t.find(probe) {
                return Some(format!("{what}{}", excerpt(t, i, probe.len())));
            }
        }
    }
    None
}

/// Up to 60 bytes either side of `t[i..i+n]`, on char boundaries, newlines shown as `⏎`.
pub fn excerpt(t: &str, i: usize, n: usize) -> String {
    let mut a = i.saturating_sub(60);
    while !t.is_char_boundary(a) {
        a -= 1;
    }
    let mut b = (i + n + 60).min(t.len());
    while !t.is_char_boundary(b) {
        b += 1;
    }
    format!("…{}…", t[a..b].replace('\n', "⏎"))
}
