//! S3 clients for roots and the audit export: the SDK's own credential chain (environment,
//! IRSA web identity, container and instance metadata) unless the config names a Secret, whose
//! mounted files are re-read as they rotate; path-style addressing for S3-compatible
//! endpoints; bounded connect and operation times so a dead store fails instead of hanging.

use airlock_schema::runtime::S3Credentials;
use aws_credential_types::provider::{
    ProvideCredentials, error::CredentialsError, future::ProvideCredentials as CredentialsFuture,
};
use aws_sdk_s3::config::{Credentials, Region, timeout::TimeoutConfig};
use std::time::{Duration, SystemTime};

/// Where a bucket is and how to reach it.
#[derive(Clone, Debug)]
pub struct Location {
    pub region: Option<String>,
    pub endpoint: Option<String>,
    pub credentials: Option<S3Credentials>,
}

/// How long credentials read from files are trusted before they are read again.
const CREDENTIAL_REFRESH: Duration = Duration::from_secs(300);

/// Credentials from the files a Secret is mounted as.
#[derive(Debug)]
struct FileCredentials(S3Credentials);

impl FileCredentials {
    fn load(&self) -> Result<Credentials, CredentialsError> {
        let read = |path: &str| {
            crate::config::read_secret(path)
                .map_err(|e| CredentialsError::provider_error(e.to_string()))
        };
        Ok(Credentials::new(
            read(&self.0.access_key_id_file)?,
            read(&self.0.secret_access_key_file)?,
            None,
            Some(SystemTime::now() + CREDENTIAL_REFRESH),
            "airlock-secret-files",
        ))
    }
}

impl ProvideCredentials for FileCredentials {
    fn provide_credentials<'a>(&'a self) -> CredentialsFuture<'a>
    where
        Self: 'a,
    {
        CredentialsFuture::ready(self.load())
    }
}

/// A client for `location`. Loading the SDK's configuration may consult the environment and
/// metadata services, so it happens on first use, not at startup.
pub async fn client(location: &Location) -> aws_sdk_s3::Client {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest()).timeout_config(
        TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(5))
            .operation_attempt_timeout(Duration::from_secs(30))
            .operation_timeout(Duration::from_secs(120))
            .build(),
    );
    match (&location.region, &location.endpoint) {
        (Some(region), _) => loader = loader.region(Region::new(region.clone())),
        // S3-compatible stores ignore the region, but the SDK signs with one: do not wait for
        // a metadata service to name it.
        (None, Some(_)) if std::env::var_os("AWS_REGION").is_none() => {
            loader = loader.region(Region::from_static("us-east-1"));
        }
        _ => {}
    }
    if let Some(files) = &location.credentials {
        loader = loader.credentials_provider(FileCredentials(files.clone()));
    }
    let shared = loader.load().await;
    // Only the data plane: the SDK's credential chain keeps its own client, which must reach
    // the instance and container metadata endpoints the guard refuses.
    let mut builder = aws_sdk_s3::config::Builder::from(&shared).http_client(guarded_http_client());
    if let Some(endpoint) = &location.endpoint {
        builder = builder.endpoint_url(endpoint).force_path_style(true);
    }
    aws_sdk_s3::Client::from_conf(builder.build())
}

/// The SDK's own HTTPS client (rustls on aws-lc), resolving through the outbound guard.
fn guarded_http_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::AwsLc,
        ))
        .build_with_resolver(crate::outbound::GuardedResolver)
}

/// A failed S3 request: [`describe`]'s line, and the SDK's error behind it.
#[derive(Debug, thiserror::Error)]
#[error("{description}")]
pub struct S3Error {
    description: String,
    #[source]
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl<E, R> From<aws_sdk_s3::error::SdkError<E, R>> for S3Error
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    fn from(error: aws_sdk_s3::error::SdkError<E, R>) -> Self {
        Self {
            description: describe(&error),
            source: Box::new(error),
        }
    }
}

/// An SDK error as one line for logs: the service's code and message when there is one.
pub fn describe<E, R>(error: &aws_sdk_s3::error::SdkError<E, R>) -> String
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_s3::error::SdkError;
    match error {
        SdkError::ServiceError(service) => {
            let inner = service.err();
            format!(
                "{}: {}",
                inner.code().unwrap_or("S3 error"),
                inner.message().unwrap_or("no message")
            )
        }
        SdkError::TimeoutError(_) => "the S3 request timed out".into(),
        SdkError::DispatchFailure(failure) => format!("cannot reach S3: {failure:?}"),
        other => format!("{other}"),
    }
}
