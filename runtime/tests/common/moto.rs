//! A real S3 API for tests: moto's server on 127.0.0.1 (installed by `tests/s3/install.sh`;
//! `AIRLOCK_TEST_MOTO` names another binary), and an SDK client for it.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Moto {
    child: Child,
    pub endpoint: String,
}

fn binary() -> PathBuf {
    let path = std::env::var_os("AIRLOCK_TEST_MOTO").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.tools/moto/bin/moto_server"),
        PathBuf::from,
    );
    assert!(
        path.exists(),
        "{} is missing: run tests/s3/install.sh (tests/run.sh does)",
        path.display()
    );
    path
}

/// Whether an HTTP server answers on the port. A bare TCP connect is not enough: polling a
/// free port in the ephemeral range can connect the socket to itself (TCP simultaneous open),
/// which then "answers" with the bytes it was sent, and the test went on to a refused
/// connection.
fn answers_http(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    if stream
        .write_all(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 5];
    stream.read_exact(&mut head).is_ok() && &head == b"HTTP/"
}

impl Moto {
    pub fn start() -> Moto {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(binary())
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let deadline = Instant::now() + Duration::from_secs(30);
        while !answers_http(port) {
            assert!(Instant::now() < deadline, "moto_server never answered");
            std::thread::sleep(Duration::from_millis(50));
        }
        Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Credentials files for `secretRef`-style roots and exports (moto accepts any).
    pub fn credentials(dir: &std::path::Path) -> airlock_schema::runtime::S3Credentials {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("access-key-id"), "testing\n").unwrap();
        std::fs::write(dir.join("secret-access-key"), "testing\n").unwrap();
        airlock_schema::runtime::S3Credentials {
            access_key_id_file: dir.join("access-key-id").display().to_string(),
            secret_access_key_file: dir.join("secret-access-key").display().to_string(),
        }
    }

    pub async fn client(&self) -> aws_sdk_s3::Client {
        let dir =
            std::env::temp_dir().join(format!("airlock-moto-{}", uuid::Uuid::new_v4().simple()));
        airlock::s3::client(&airlock::s3::Location {
            region: Some("us-east-1".into()),
            endpoint: Some(self.endpoint.clone()),
            credentials: Some(Self::credentials(&dir)),
        })
        .await
    }

    pub async fn bucket(&self, name: &str) -> aws_sdk_s3::Client {
        let client = self.client().await;
        client.create_bucket().bucket(name).send().await.unwrap();
        client
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn put(client: &aws_sdk_s3::Client, bucket: &str, key: &str, body: impl Into<Vec<u8>>) {
    client
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(aws_sdk_s3::primitives::ByteStream::from(body.into()))
        .send()
        .await
        .unwrap();
}

pub async fn get(client: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Option<Vec<u8>> {
    let object = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .ok()?;
    Some(object.body.collect().await.unwrap().into_bytes().to_vec())
}

pub async fn keys(client: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Vec<String> {
    let page = client
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await
        .unwrap();
    page.contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .collect()
}
